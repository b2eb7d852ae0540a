"""post/engagementsnapshot shares: boosts of social network sources (issue 19)

Boosts (reposts) of a ``kind: mastodon`` status are counted beside replies and
likes, on the post and in each engagement snapshot. (Its per-stream ``min_id``
cursor lives in ``source.cursor``, added by 0017.)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-12 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shares', sa.Integer(), nullable=True))
    with op.batch_alter_table('engagementsnapshot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shares', sa.Integer(), nullable=True))


def downgrade() -> None:
    # plain DROP COLUMN: a batch copy would recreate tables other tables' keys point at
    op.drop_column('engagementsnapshot', 'shares')
    op.drop_column('post', 'shares')
