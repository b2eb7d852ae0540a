"""source cursor, post/engagementsnapshot shares: social network sources (issue 19)

A ``kind: mastodon`` source polls its streams (hashtags, a timeline, searches) with
``min_id``: the newest status id read per stream is kept in ``source.cursor`` (JSON),
written in the same transaction as the posts it covers, so a restart neither skips
nor repeats. Boosts (reposts) are counted beside replies and likes, on the post and
in each engagement snapshot.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-12 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cursor', sa.JSON(), nullable=True))
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shares', sa.Integer(), nullable=True))
    with op.batch_alter_table('engagementsnapshot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shares', sa.Integer(), nullable=True))


def downgrade() -> None:
    # plain DROP COLUMN: a batch copy would recreate tables other tables' keys point at
    op.drop_column('engagementsnapshot', 'shares')
    op.drop_column('post', 'shares')
    op.drop_column('source', 'cursor')
