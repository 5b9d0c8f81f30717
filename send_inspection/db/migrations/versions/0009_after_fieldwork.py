"""after fieldwork: feedback, restricted documents, access, comments

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 15:44:36.454349
"""
import sqlalchemy as sa
from alembic import op

import send_inspection.db.models

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('document_access',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('inspection_id', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('person_key', sa.String(length=80), nullable=True),
    sa.Column('token_id', sa.Integer(), nullable=True),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=True),
    sa.Column('at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_access'))
    )
    op.create_table('feedback_records',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('inspection_id', sa.String(length=80), nullable=False),
    sa.Column('outcome', sa.Integer(), nullable=False),
    sa.Column('effective', sa.Text(), nullable=False),
    sa.Column('improve', sa.Text(), nullable=False),
    sa.Column('priority_actions', sa.JSON(), nullable=False),
    sa.Column('recorded_by', sa.String(length=80), nullable=False),
    sa.Column('recorded_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_feedback_records_inspection_id_inspections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_records')),
    sa.UniqueConstraint('inspection_id', name=op.f('uq_feedback_records_inspection_id'))
    )
    op.create_table('restricted_documents',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('inspection_id', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=300), nullable=False),
    sa.Column('stored_path', sa.String(length=1000), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('recorded_by', sa.String(length=80), nullable=False),
    sa.Column('recorded_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_restricted_documents_inspection_id_inspections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_restricted_documents')),
    sa.UniqueConstraint('inspection_id', 'kind', 'version', name=op.f('uq_restricted_documents_inspection_id'))
    )
    op.create_table('accuracy_comments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('inspection_id', sa.String(length=80), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('partner', sa.String(length=200), nullable=False),
    sa.Column('reviewer', sa.String(length=80), nullable=False),
    sa.Column('paragraph', sa.String(length=40), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('submitted_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_accuracy_comments_inspection_id_inspections')),
    sa.ForeignKeyConstraint(['item_id'], ['register_items.id'], name=op.f('fk_accuracy_comments_item_id_register_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accuracy_comments'))
    )


def downgrade() -> None:
    op.drop_table('accuracy_comments')
    op.drop_table('restricted_documents')
    op.drop_table('feedback_records')
    op.drop_table('document_access')
