"""request forwarded by: who forwarded an emailed request and whether the LANO stands in as its head of service

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 10:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('evidence_requests') as batch:
        batch.add_column(sa.Column('forwarded_by', sa.String(length=80), nullable=True))
        batch.add_column(sa.Column('head_of_service_line', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('lano_stands_in', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('evidence_requests') as batch:
        batch.drop_column('lano_stands_in')
        batch.drop_column('head_of_service_line')
        batch.drop_column('forwarded_by')
