"""phase run lease: heartbeat_at and recoveries on phase_runs

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 17:30:00.000000
"""
import sqlalchemy as sa
from alembic import op

import send_inspection.db.models

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('phase_runs') as batch:
        batch.add_column(sa.Column('heartbeat_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('recoveries', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('phase_runs') as batch:
        batch.drop_column('recoveries')
        batch.drop_column('heartbeat_at')
