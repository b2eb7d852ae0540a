"""Storage: SQLModel tables, the engine factory and small query helpers.

This package imports nothing else of ours, so every stage can depend on it
without dragging the others in.
"""
