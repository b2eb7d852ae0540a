"""Small query functions shared by the stage runners."""

from __future__ import annotations

from sqlmodel import Session

from db.models import StageCursor, utcnow


def get_cursor(s: Session, name: str) -> int:
    """Highest input id stage ``name`` has finished (0 before its first run)."""
    row = s.get(StageCursor, name)
    return row.position if row else 0


def set_cursor(s: Session, name: str, position: int) -> None:
    """Advance stage ``name``; call inside the transaction that wrote its output."""
    row = s.get(StageCursor, name) or StageCursor(name=name)
    row.position = max(row.position, position)
    row.updated_at = utcnow()
    s.add(row)
