"""source stream_cursor, stream_state, stream_event_at: a filtered firehose resumes
where it stopped

A ``bluesky`` source reads Jetstream, a stream, not a poll. Its cursor (the
``time_us`` of the last event processed) is written in the same transaction as
the posts it covers, so a restart neither loses nor repeats posts; the state of
the connection and the time of the last event (lag) go on the source's health.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-12 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stream_cursor', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('stream_state', sqlmodel.sql.sqltypes.AutoString(),
                                      nullable=True))
        batch_op.add_column(sa.Column('stream_event_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))


def downgrade() -> None:
    # plain DROP COLUMN: a batch copy would recreate a table other tables' keys point at
    op.drop_column('source', 'stream_event_at')
    op.drop_column('source', 'stream_state')
    op.drop_column('source', 'stream_cursor')
