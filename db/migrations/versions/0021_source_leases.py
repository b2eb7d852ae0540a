"""source lease_owner / lease_until and an index on next_poll_at: crawl workers
claim due sources with leases

The crawl scheduler loaded every source every half second to find the due ones.
A worker now claims only due rows through an index on ``next_poll_at`` and marks
them with a lease (its id and an expiry on the database clock), so several
crawl workers can share the table and a dead one's sources lapse back (issue 20).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-12 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_owner', sqlmodel.sql.sqltypes.AutoString(),
                                      nullable=True))
        batch_op.add_column(sa.Column('lease_until', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
    op.create_index('ix_source_next_poll_at', 'source', ['next_poll_at'], unique=False)


def downgrade() -> None:
    # plain DROP INDEX / DROP COLUMN: a batch copy would recreate a table others point at
    op.drop_index('ix_source_next_poll_at', table_name='source')
    op.drop_column('source', 'lease_until')
    op.drop_column('source', 'lease_owner')
