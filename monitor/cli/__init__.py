"""The ``crisiswatch`` command line: main.py (the root) -> one module per command
group -> common.py (shared options, errors, config and database)."""
