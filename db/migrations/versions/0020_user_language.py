"""user.language: the console's interface language a user chose

NULL (every existing user) means "follow the browser's Accept-Language"; "zh" or
"en" once the user picks one from the console's header (issue 18).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-12 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sqlmodel.sql.sqltypes.AutoString(),
                                      nullable=True))


def downgrade() -> None:
    # plain DROP COLUMN: a batch copy would recreate a table other tables' keys point at
    op.drop_column('user', 'language')
