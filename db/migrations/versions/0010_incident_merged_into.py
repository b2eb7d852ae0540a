"""incident merged_into: the incident that absorbed this fragment

When one new mention matches several open incidents of a brand, they are one
matter split by grouping; the oldest absorbs the others (monitor/detection/merging.py)
and each absorbed incident names it here. Existing incidents absorbed nothing.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into', sa.Integer(), nullable=True))


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): a batch copy would drop and
    # recreate the table, which other tables' foreign keys refuse
    op.drop_column('incident', 'merged_into')
