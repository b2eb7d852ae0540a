"""brand, source, channel paused_by / paused_at: a console pause the config sync keeps

A row the YAML file manages was re-enabled by the next ``sync_config`` when an
admin had paused it in the console. The console now records who paused it and
when; the sync leaves such a row disabled until the console resumes it (issue 18).
Rows paused before this migration carry no record and behave as before.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-10 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

TABLES = ('brand', 'source', 'channel')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('paused_by', sqlmodel.sql.sqltypes.AutoString(),
                                          nullable=True))
            batch_op.add_column(sa.Column('paused_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                          nullable=True))


def downgrade() -> None:
    # plain DROP COLUMN: a batch copy would recreate tables other tables' keys point at
    for table in TABLES:
        op.drop_column(table, 'paused_at')
        op.drop_column(table, 'paused_by')
