"""alert workflow: routing, digests, dead letters, acknowledgement, escalation, trust

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 15:30:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_TS = sqlmodel.sql.sqltypes.UTCDateTime
_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', _STR(), server_default='open', nullable=False))
        batch_op.add_column(sa.Column('respond_by', _TS(), nullable=True))
        batch_op.add_column(sa.Column('acknowledged_at', _TS(), nullable=True))
        batch_op.add_column(sa.Column('acknowledged_by', _STR(), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', _TS(), nullable=True))
        batch_op.add_column(sa.Column('escalation_tier', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('escalated_at', _TS(), nullable=True))
        batch_op.create_index(batch_op.f('ix_alert_status'), ['status'], unique=False)

    with op.batch_alter_table('channel', schema=None) as batch_op:
        batch_op.add_column(sa.Column('brands', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('tags', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('tier', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('format', _STR(), server_default='plain', nullable=False))
        batch_op.add_column(sa.Column('quiet_hours', _STR(), nullable=True))
        batch_op.add_column(sa.Column('timezone', _STR(), server_default='UTC', nullable=False))
        batch_op.add_column(sa.Column('quiet_override', _STR(), server_default='crisis',
                                      nullable=False))
        batch_op.add_column(sa.Column('rate_limit', _STR(), nullable=True))
        batch_op.add_column(sa.Column('digest', _STR(), nullable=True))
        batch_op.add_column(sa.Column('digest_every_s', sa.Integer(), server_default='3600',
                                      nullable=False))
        batch_op.add_column(sa.Column('last_digest_at', _TS(), nullable=True))

    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', _STR(), server_default='alert', nullable=False))
        batch_op.add_column(sa.Column('members', sa.JSON(), server_default='[]', nullable=False))
        batch_op.drop_constraint('uq_delivery', type_='unique')
        batch_op.create_unique_constraint('uq_delivery', ['alert_id', 'channel_id', 'kind'])

    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_reply_at', _TS(), nullable=True))
        batch_op.add_column(sa.Column('reply_promised_s', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', _TS(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        for name in ('resolved_at', 'reply_promised_s', 'first_reply_at'):
            batch_op.drop_column(name)
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_constraint('uq_delivery', type_='unique')
        batch_op.create_unique_constraint('uq_delivery', ['alert_id', 'channel_id'])
        batch_op.drop_column('members')
        batch_op.drop_column('kind')
    with op.batch_alter_table('channel', schema=None) as batch_op:
        for name in ('last_digest_at', 'digest_every_s', 'digest', 'rate_limit',
                     'quiet_override', 'timezone', 'quiet_hours', 'format', 'tier', 'tags',
                     'brands'):
            batch_op.drop_column(name)
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_status'))
        for name in ('escalated_at', 'escalation_tier', 'resolved_at', 'acknowledged_by',
                     'acknowledged_at', 'respond_by', 'status'):
            batch_op.drop_column(name)
