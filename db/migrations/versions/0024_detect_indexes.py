"""detection indexes: an incident's mentions, a brand's recent incidents

The detect stage's queue (``ix_mention_pending``, 0015) went unused on SQLite: its
planner took ``ix_mention_incident_id`` for "incident_id IS NULL", which walks
every mention never grouped, the whole unflagged history. That index now holds
only grouped mentions (what "incident_id = ?" looks up), so the queue reads the
pending ones alone. Grouping's candidate incidents (a brand's, seen since the
quiet period began) are read through (brand_id, last_seen_at), not all of the
brand's incidents ever.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 19:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

GROUPED = "incident_id IS NOT NULL"


def upgrade() -> None:
    op.drop_index('ix_mention_incident_id', table_name='mention')
    op.create_index('ix_mention_incident_id', 'mention', ['incident_id'], unique=False,
                    postgresql_where=sa.text(GROUPED), sqlite_where=sa.text(GROUPED))
    op.create_index('ix_incident_brand_seen', 'incident', ['brand_id', 'last_seen_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_incident_brand_seen', table_name='incident')
    op.drop_index('ix_mention_incident_id', table_name='mention')
    op.create_index('ix_mention_incident_id', 'mention', ['incident_id'], unique=False)
