"""source cursor, thread likes: Hacker News search and story points (issue 19)

Search and stream sources read only what is newer than what they stored:
``source.cursor`` (JSON: hackernews ``{"search": "time:id"}``, mastodon the newest
status id per stream) keeps that place in the same transaction as the posts, so a
restart neither loses nor repeats. ``thread.likes`` keeps a story's
points beside its comment count, as its engagement snapshots do.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-12 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cursor', sa.JSON(), nullable=True))
    with op.batch_alter_table('thread', schema=None) as batch_op:
        batch_op.add_column(sa.Column('likes', sa.Integer(), nullable=True))


def downgrade() -> None:
    # plain DROP COLUMN: a batch copy would recreate tables other tables' keys point at
    op.drop_column('thread', 'likes')
    op.drop_column('source', 'cursor')
