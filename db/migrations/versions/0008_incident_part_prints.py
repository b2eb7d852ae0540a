"""incident part prints: fingerprints of the copied parts of its posts

A repost that copies a post under words of its own (a news site's headline, a
comment before "//@user:") is matched on the copied part, more strictly than a
whole post (monitor/detection/grouping.py), so the incident keeps those prints
apart from its whole posts' fingerprints. Open incidents start with none: their
next reposts add them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 11:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('part_prints', sa.JSON(), server_default='[]',
                                      nullable=False))


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): a batch copy would drop and
    # recreate the table, which other tables' foreign keys refuse
    op.drop_column('incident', 'part_prints')
