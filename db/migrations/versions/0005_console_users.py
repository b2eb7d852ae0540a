"""console: users, web sessions, API tokens; indexes for the history pages

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 16:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_TS = sqlmodel.sql.sqltypes.UTCDateTime
_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', _STR(), nullable=False),
    sa.Column('role', _STR(), nullable=False),
    sa.Column('password_hash', _STR(), nullable=False),
    sa.Column('created_at', _TS(), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_name'), ['name'], unique=True)

    op.create_table('websession',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', _STR(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('csrf_token', _STR(), nullable=False),
    sa.Column('created_at', _TS(), nullable=False),
    sa.Column('expires_at', _TS(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name='fk_websession_user'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('websession', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_websession_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_websession_expires_at'), ['expires_at'],
                              unique=False)

    op.create_table('apitoken',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', _STR(), nullable=False),
    sa.Column('token_hash', _STR(), nullable=False),
    sa.Column('created_at', _TS(), nullable=False),
    sa.Column('last_used_at', _TS(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name='fk_apitoken_user'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('apitoken', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apitoken_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.create_index('ix_post_fetched_at', ['fetched_at'], unique=False)
    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.create_index('ix_mention_flagged_risk', ['flagged', 'risk'], unique=False)
        batch_op.create_index('ix_mention_flagged_sentiment', ['flagged', 'sentiment'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.drop_index('ix_mention_flagged_sentiment')
        batch_op.drop_index('ix_mention_flagged_risk')
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.drop_index('ix_post_fetched_at')
    with op.batch_alter_table('apitoken', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apitoken_user_id'))
    op.drop_table('apitoken')
    with op.batch_alter_table('websession', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_websession_expires_at'))
        batch_op.drop_index(batch_op.f('ix_websession_user_id'))
    op.drop_table('websession')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_name'))
    op.drop_table('user')
