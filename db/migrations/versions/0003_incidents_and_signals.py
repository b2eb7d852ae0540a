"""incidents and signals

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 11:55:38.893887
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('incidentchange',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('severity', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name='fk_change_incident'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('incidentchange', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incidentchange_incident_id'), ['incident_id'], unique=False)

    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('title', sqlmodel.sql.sqltypes.AutoString(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('category', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('category_confidence', sa.Float(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('thread_keys', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('fingerprints', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('term_counts', sa.JSON(), server_default='{}', nullable=False))
        batch_op.add_column(sa.Column('signals', sa.JSON(), server_default='{}', nullable=False))
        batch_op.add_column(sa.Column('assessed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('acknowledged_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('reminded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))

    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fingerprint', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('terms', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('grouped_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.drop_column('grouped_by')
        batch_op.drop_column('terms')
        batch_op.drop_column('fingerprint')

    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('reminded_at')
        batch_op.drop_column('acknowledged_at')
        batch_op.drop_column('assessed_at')
        batch_op.drop_column('signals')
        batch_op.drop_column('term_counts')
        batch_op.drop_column('fingerprints')
        batch_op.drop_column('thread_keys')
        batch_op.drop_column('category_confidence')
        batch_op.drop_column('category')
        batch_op.drop_column('title')

    with op.batch_alter_table('incidentchange', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incidentchange_incident_id'))

    op.drop_table('incidentchange')
