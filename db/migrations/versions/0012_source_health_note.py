"""source health_note: what was odd about the last fetch even when it worked

Undecodable bytes replaced, entries sharing a GUID, a Retry-After obeyed or
capped: the source still works, but an admin should see it (issue 17).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.add_column(sa.Column('health_note', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('source', 'health_note')
