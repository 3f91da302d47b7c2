"""field work: notices, photos, hydrants and work orders, inspections and hazards, patrols

Revision ID: 0005_field_work
Revises: 0004_notifications
Create Date: 2026-12-01 10:50:00

Written in sections, one per domain, created in dependency order (a later section
may refer to an earlier one's tables, never the reverse).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_field_work'
down_revision = '0004_notifications'
branch_labels = None
depends_on = None


def upgrade():
    _notices_up()
    _photos_up()
    _hydrants_up()
    _hazards_up()
    _patrols_up()


def downgrade():
    _patrols_down()
    _hazards_down()
    _hydrants_down()
    _photos_down()
    _notices_down()


# --- notices (api/notices) -------------------------------------------------------

def _notices_up():
    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('level', sa.Integer(), nullable=True),
    sa.Column('place_id', sa.Integer(), nullable=True),
    sa.Column('place_path', sa.String(length=255), nullable=True),
    sa.Column('subject_type', sa.String(length=32), nullable=True),
    sa.Column('subject_id', sa.String(length=64), nullable=True),
    sa.Column('text', sa.String(length=300), nullable=False),
    sa.Column('text_en', sa.String(length=300), nullable=False),
    sa.Column('link', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['place_id'], ['places.id'], name=op.f('fk_notices_place_id_places'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    sa.UniqueConstraint('key', name=op.f('uq_notices_key'))
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notices_place_path'), ['place_path'], unique=False)
        batch_op.create_index('ix_notices_subject', ['subject_type', 'subject_id'], unique=False)

    op.create_table('notice_recipients',
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_notice_recipients_notice_id_notices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notice_recipients_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('notice_id', 'user_id', name=op.f('pk_notice_recipients'))
    )
    with op.batch_alter_table('notice_recipients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_recipients_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notice_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_notifications_notice_id'), ['notice_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_notifications_notice_id_channel_address'), ['notice_id', 'channel', 'address'])
        batch_op.create_foreign_key(batch_op.f('fk_notifications_notice_id_notices'), 'notices', ['notice_id'], ['id'], ondelete='CASCADE')


def _notices_down():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notifications_notice_id_notices'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_notifications_notice_id_channel_address'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_notifications_notice_id'))
        batch_op.drop_column('notice_id')

    with op.batch_alter_table('notice_recipients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_recipients_user_id'))

    op.drop_table('notice_recipients')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index('ix_notices_subject')
        batch_op.drop_index(batch_op.f('ix_notices_place_path'))

    op.drop_table('notices')


# --- photos (api/photos) -----------------------------------------------------------

def _photos_up():
    pass


def _photos_down():
    pass


# --- hydrants and work orders (api/hydrants) ---------------------------------------

def _hydrants_up():
    pass


def _hydrants_down():
    pass


# --- checklist templates, inspections and hazards (api/hazards) --------------------

def _hazards_up():
    pass


def _hazards_down():
    pass


# --- patrol plans, checkpoints and records (api/patrols) ---------------------------

def _patrols_up():
    pass


def _patrols_down():
    pass
