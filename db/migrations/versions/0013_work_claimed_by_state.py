"""post scored_at, engagementsnapshot detected_at: stages claim work by state,
not by an id cursor

With two writers on PostgreSQL, ids commit out of order: a cursor moved past id
N+1 skips N when N commits later. A post is now scored once when its
``scored_at`` is set, in the same transaction as its mentions, and a reply-count
snapshot is read by detection once when its ``detected_at`` is set; partial
indexes over the rows still to do keep finding them fast. Rows the old cursors
('monitor.posts', 'detect.snapshots') had passed, and posts that already have a
mention, count as done.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 11:30:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scored_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
    op.execute("UPDATE post SET scored_at = fetched_at WHERE id <= COALESCE("
               "(SELECT position FROM stagecursor WHERE name = 'monitor.posts'), 0) "
               "OR id IN (SELECT post_id FROM mention)")
    op.create_index('ix_post_unscored', 'post', ['id'], unique=False,
                    postgresql_where=sa.text('scored_at IS NULL'),
                    sqlite_where=sa.text('scored_at IS NULL'))
    with op.batch_alter_table('engagementsnapshot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('detected_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
    op.execute("UPDATE engagementsnapshot SET detected_at = seen_at WHERE id <= COALESCE("
               "(SELECT position FROM stagecursor WHERE name = 'detect.snapshots'), 0)")
    op.create_index('ix_engagementsnapshot_undetected', 'engagementsnapshot', ['id'],
                    unique=False, postgresql_where=sa.text('detected_at IS NULL'),
                    sqlite_where=sa.text('detected_at IS NULL'))


def downgrade() -> None:
    # plain DROP INDEX / DROP COLUMN: a batch copy would recreate the post table,
    # which other tables' foreign keys refuse
    op.drop_index('ix_engagementsnapshot_undetected', table_name='engagementsnapshot')
    op.drop_column('engagementsnapshot', 'detected_at')
    op.drop_index('ix_post_unscored', table_name='post')
    op.drop_column('post', 'scored_at')
