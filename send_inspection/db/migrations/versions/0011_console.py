"""console: sign-in links and attempts, sessions, the audit log, dated absences, fresh links and handovers

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 10:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

import send_inspection.db.models

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

UTC = send_inspection.db.models.UtcDateTime


def upgrade() -> None:
    op.create_table(
        'absences',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('inspection_id', sa.String(length=80), nullable=False),
        sa.Column('person_key', sa.String(length=80), nullable=False),
        sa.Column('from_at', UTC(timezone=True), nullable=False),
        sa.Column('until_at', UTC(timezone=True), nullable=False),
        sa.Column('recorded_by', sa.String(length=80), nullable=False),
        sa.Column('recorded_at', UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_absences_inspection_id_inspections')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_absences')),
    )
    op.create_table(
        'sign_in_links',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('person_key', sa.String(length=80), nullable=False),
        sa.Column('created_at', UTC(timezone=True), nullable=False),
        sa.Column('expires_at', UTC(timezone=True), nullable=False),
        sa.Column('used_at', UTC(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_links')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_sign_in_links_token_hash')),
    )
    op.create_table(
        'sign_in_attempts',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('attempt_hash', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=200), nullable=False),
        sa.Column('nonce', sa.String(length=200), nullable=False),
        sa.Column('code_verifier', sa.String(length=200), nullable=False),
        sa.Column('redirect_uri', sa.String(length=500), nullable=False),
        sa.Column('created_at', UTC(timezone=True), nullable=False),
        sa.Column('used_at', UTC(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_attempts')),
        sa.UniqueConstraint('attempt_hash', name=op.f('uq_sign_in_attempts_attempt_hash')),
    )
    op.create_table(
        'console_sessions',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('session_hash', sa.String(length=64), nullable=False),
        sa.Column('person_key', sa.String(length=80), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('via', sa.String(length=30), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('created_at', UTC(timezone=True), nullable=False),
        sa.Column('last_seen_at', UTC(timezone=True), nullable=False),
        sa.Column('ended_at', UTC(timezone=True), nullable=True),
        sa.Column('ended_why', sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_sessions')),
        sa.UniqueConstraint('session_hash', name=op.f('uq_console_sessions_session_hash')),
    )
    op.create_table(
        'audit_log',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('at', UTC(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=80), nullable=False),
        sa.Column('actor_name', sa.String(length=200), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('action', sa.String(length=60), nullable=False),
        sa.Column('inspection_id', sa.String(length=80), nullable=True),
        sa.Column('what', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    )
    with op.batch_alter_table('action_tokens') as batch:
        batch.add_column(sa.Column('revoked_at', UTC(timezone=True), nullable=True))
    with op.batch_alter_table('register_items') as batch:
        batch.add_column(sa.Column('handovers', sa.Integer(), nullable=False, server_default='0'))
    # An undated "absent" flag that nothing set gives way to the dated absences of each inspection.
    with op.batch_alter_table('people') as batch:
        batch.drop_column('absent')


def downgrade() -> None:
    with op.batch_alter_table('people') as batch:
        batch.add_column(sa.Column('absent', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('register_items') as batch:
        batch.drop_column('handovers')
    with op.batch_alter_table('action_tokens') as batch:
        batch.drop_column('revoked_at')
    for table in ('audit_log', 'console_sessions', 'sign_in_attempts', 'sign_in_links', 'absences'):
        op.drop_table(table)
