"""inspection weeks: who put a slot on the timetable, people named during the inspection, gated items, answers' data

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 14:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

import send_inspection.db.models

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('fieldwork_slots') as batch:
        batch.add_column(sa.Column('origin', sa.String(length=40), nullable=False, server_default='timetable'))
    with op.batch_alter_table('people') as batch:
        batch.add_column(sa.Column('origin', sa.String(length=20), nullable=False, server_default='partnership'))
    with op.batch_alter_table('register_items') as batch:
        batch.add_column(sa.Column('waits_for', sa.String(length=40), nullable=True))
        batch.add_column(sa.Column('step_owners', sa.JSON(), nullable=False, server_default='{}'))
    with op.batch_alter_table('decisions') as batch:
        batch.add_column(sa.Column('details', sa.JSON(), nullable=True))
    with op.batch_alter_table('tracked_cases') as batch:
        batch.add_column(sa.Column('documents_reviewed_at', send_inspection.db.models.UtcDateTime(timezone=True),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tracked_cases') as batch:
        batch.drop_column('documents_reviewed_at')
    with op.batch_alter_table('decisions') as batch:
        batch.drop_column('details')
    with op.batch_alter_table('register_items') as batch:
        batch.drop_column('step_owners')
        batch.drop_column('waits_for')
    with op.batch_alter_table('people') as batch:
        batch.drop_column('origin')
    with op.batch_alter_table('fieldwork_slots') as batch:
        batch.drop_column('origin')
