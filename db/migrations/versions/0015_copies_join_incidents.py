"""mention pending index: unflagged mentions are checked once for being a copy

Detection now also reads unflagged mentions not yet checked (``grouped_by`` NULL),
to put reposts of an incident's posts in it. Mentions stored before this revision
count as checked (``grouped_by`` ''), so an upgrade does not re-read history; a
partial index over the mentions still to group keeps the detect stage's queue fast.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 14:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

PENDING = "incident_id IS NULL AND grouped_by IS NULL"


def upgrade() -> None:
    op.execute("UPDATE mention SET grouped_by = '' "
               "WHERE incident_id IS NULL AND grouped_by IS NULL AND NOT flagged")
    op.create_index('ix_mention_pending', 'mention', ['id'], unique=False,
                    postgresql_where=sa.text(PENDING), sqlite_where=sa.text(PENDING))


def downgrade() -> None:
    op.drop_index('ix_mention_pending', table_name='mention')
