"""brand names per language: how holding statements in that language name the brand

``brands[].names`` in the config ({zh: 艾克美}); a brand without one is named by
``name`` as before.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('brand', schema=None) as batch_op:
        batch_op.add_column(sa.Column('names', sa.JSON(), server_default='{}', nullable=False))


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): a batch copy would drop and
    # recreate the table, which other tables' foreign keys refuse
    op.drop_column('brand', 'names')
