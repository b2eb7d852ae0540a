"""Small query functions shared by the stage runners."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, SQLModel, select


def lock_stage(s: Session, name: str) -> None:
    """Make the rest of this transaction the only run of stage ``name`` at a time.

    On PostgreSQL a second runner waits here (a transaction-level advisory lock,
    released at commit or rollback) and then reads what the first one committed, so
    two runners never plan the same rows and hit a unique key. SQLite needs nothing:
    its write transactions (``BEGIN IMMEDIATE``) already run one at a time. Call it
    first in the transaction, before reading the stage's input."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"crisiswatch:{name}"))))


def try_lock_key(s: Session, name: str, key: int) -> bool:
    """Take, without waiting, the lock on ``key`` (a brand's id, say) among stage
    ``name``'s for the rest of this transaction; False when another transaction
    holds it. On PostgreSQL a two-part advisory lock (the stage's hash, the key),
    so two keys never share a lock; SQLite needs none (one writer at a time)."""
    if s.get_bind().dialect.name != "postgresql":
        return True
    return bool(s.execute(select(func.pg_try_advisory_xact_lock(
        func.hashtext(f"crisiswatch:{name}"), key))).scalar_one())


def lock_key(s: Session, name: str, key: int) -> None:
    """``try_lock_key``, waiting for the holder to commit instead of giving up.
    Take several in ascending ``key`` order, so two takers cannot deadlock."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"crisiswatch:{name}"), key)))


def notify(s: Session, channel: str) -> None:
    """Wake whoever LISTENs on ``channel`` (db/wakeup.py) when this transaction
    commits (nothing if it rolls back; several in one transaction arrive as one).
    PostgreSQL only: on SQLite the one daemon wakes its stages in-process. Sent
    once a transaction: the store writer commits many fetches in one, and a round
    trip each was a few percent of its time (issue 20)."""
    if s.get_bind().dialect.name != "postgresql":
        return
    sent, transaction = s.info.setdefault("cw_notified", {}), s.get_transaction()
    if transaction is not None and sent.get(channel) is transaction:
        return
    s.execute(select(func.pg_notify(channel, "")))
    sent[channel] = s.get_transaction()


def insert_new(s: Session, model: type[SQLModel], rows: Sequence[SQLModel | dict],
               keys: Sequence[str]) -> list[Any]:
    """Insert ``rows``, skipping any whose ``keys`` another writer already stored
    (``ON CONFLICT DO NOTHING``): a duplicate costs that row, never the transaction.
    ``rows`` are models, or dicts of every column but the id (cheaper to build).
    Returns the ``keys`` of the rows inserted."""
    if not rows:
        return []
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = model.__table__
    values = [r if isinstance(r, dict) else
              {c.name: getattr(r, c.name) for c in table.columns if c.name != "id"}
              for r in rows]
    # executemany ("insertmanyvalues"): one compiled statement whatever the row count,
    # where a VALUES list built per batch was compiled anew each time
    statement = (insert(table).on_conflict_do_nothing(index_elements=keys)
                 .returning(*(table.c[k] for k in keys)))
    return [tuple(row) for row in s.execute(statement, values)]
