"""alert kind and source_id, incident and brand optional: the "source went silent"
system alert

A source that posted nearly every day and then stopped raises an alert through
the same outbox as incidents (issue 20). It concerns a source, not a brand's
incident, so an alert now has a ``kind`` ('incident' for every existing row, or
'source_silent') and, for the latter, a ``source_id`` (no foreign key: deleting a source keeps the record) and no
incident or brand.

On SQLite, making the two columns nullable rebuilds the alert table (a batch copy);
``db.engine.upgrade`` turns foreign keys off for the migration so the deliveries
that reference alerts do not refuse it, and checks them afterwards.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-12 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(),
                                      nullable=False, server_default='incident'))
        batch_op.add_column(sa.Column('source_id', sa.Integer(), nullable=True))
        batch_op.alter_column('incident_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('brand_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # plain DROP INDEX / DROP COLUMN; incident_id and brand_id stay nullable (making
    # them NOT NULL again would need a batch copy of the alert table)
    op.execute("DELETE FROM delivery WHERE alert_id IN "
               "(SELECT id FROM alert WHERE kind != 'incident')")
    op.execute("DELETE FROM alert WHERE kind != 'incident'")
    op.drop_column('alert', 'source_id')
    op.drop_column('alert', 'kind')
