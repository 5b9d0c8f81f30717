"""before the inspectors arrive: case files opened, Appendix E in full, checklist notes

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 10:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

import send_inspection.db.models

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_file_views',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('inspection_id', sa.String(length=80), nullable=False),
    sa.Column('case_id', sa.String(length=40), nullable=False),
    sa.Column('system', sa.String(length=120), nullable=False),
    sa.Column('inspector', sa.String(length=200), nullable=False),
    sa.Column('opened_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=80), nullable=False),
    sa.Column('recorded_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'],
                            name=op.f('fk_case_file_views_inspection_id_inspections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_file_views'))
    )
    with op.batch_alter_table('debriefs') as batch:
        for name in ('job_title', 'contact', 'service_area', 'how_answered', 'overall_summary'):
            batch.add_column(sa.Column(name, sa.Text(), nullable=False, server_default=''))
        batch.add_column(sa.Column('documents_provided', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('submissions') as batch:
        batch.add_column(sa.Column('checklist_notes', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('submissions') as batch:
        batch.drop_column('checklist_notes')
    with op.batch_alter_table('debriefs') as batch:
        for name in ('documents_provided', 'overall_summary', 'how_answered', 'service_area', 'contact', 'job_title'):
            batch.drop_column(name)
    op.drop_table('case_file_views')
