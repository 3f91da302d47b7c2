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
    op.create_table('photos',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('upload_sha256', sa.String(length=64), nullable=False),
    sa.Column('source_format', sa.String(length=10), nullable=False),
    sa.Column('source_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('thumb_sha256', sa.String(length=64), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('bytes', sa.Integer(), nullable=False),
    sa.Column('thumb_width', sa.Integer(), nullable=False),
    sa.Column('thumb_height', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_photos_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_photos'))
    )
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_photos_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_photos_user_id'), ['user_id'], unique=False)


def _photos_down():
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_photos_user_id'))
        batch_op.drop_index(batch_op.f('ix_photos_sha256'))

    op.drop_table('photos')


# --- hydrants and work orders (api/hydrants) ---------------------------------------

def _hydrants_up():
    op.create_table('hydrants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ownership', sa.String(length=16), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lng', sa.Float(), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('place_id', sa.Integer(), nullable=False),
    sa.Column('place_path', sa.String(length=255), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=True),
    sa.Column('maintainer_org_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('underground','above_ground')", name=op.f('ck_hydrants_kind')),
    sa.CheckConstraint("ownership IN ('municipal','on_site')", name=op.f('ck_hydrants_ownership')),
    sa.CheckConstraint("status IN ('normal','damaged','out_of_service')", name=op.f('ck_hydrants_status')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_hydrants_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_hydrants_device_id_devices'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['maintainer_org_id'], ['organisations.id'], name=op.f('fk_hydrants_maintainer_org_id_organisations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['place_id'], ['places.id'], name=op.f('fk_hydrants_place_id_places'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hydrants')),
    sa.UniqueConstraint('client_id', name=op.f('uq_hydrants_client_id')),
    sa.UniqueConstraint('code', name=op.f('uq_hydrants_code')),
    sa.UniqueConstraint('device_id', name=op.f('uq_hydrants_device_id'))
    )
    with op.batch_alter_table('hydrants', schema=None) as batch_op:
        batch_op.create_index('ix_hydrants_lat_lng', ['lat', 'lng'], unique=False)
        batch_op.create_index(batch_op.f('ix_hydrants_maintainer_org_id'), ['maintainer_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hydrants_place_id'), ['place_id'], unique=False)
        batch_op.create_index('ix_hydrants_place_path', ['place_path'], unique=False, postgresql_ops={'place_path': 'text_pattern_ops'})

    op.create_table('hydrant_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('hydrant_id', sa.Integer(), nullable=True),
    sa.Column('reporter_id', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=1000), nullable=True),
    sa.Column('photo_ids', sa.JSON(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lng', sa.Float(), nullable=True),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('place_path', sa.String(length=255), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("category IN ('leaking','broken','blocked','cap_missing','no_water','illegal_use','other')", name=op.f('ck_hydrant_reports_category')),
    sa.ForeignKeyConstraint(['hydrant_id'], ['hydrants.id'], name=op.f('fk_hydrant_reports_hydrant_id_hydrants'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_hydrant_reports_reporter_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hydrant_reports')),
    sa.UniqueConstraint('client_id', name=op.f('uq_hydrant_reports_client_id'))
    )
    with op.batch_alter_table('hydrant_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hydrant_reports_hydrant_id'), ['hydrant_id'], unique=False)
        batch_op.create_index('ix_hydrant_reports_place_path', ['place_path'], unique=False, postgresql_ops={'place_path': 'text_pattern_ops'})
        batch_op.create_index(batch_op.f('ix_hydrant_reports_reporter_id'), ['reporter_id'], unique=False)

    op.create_table('work_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('hydrant_id', sa.Integer(), nullable=True),
    sa.Column('maintainer_org_id', sa.Integer(), nullable=True),
    sa.Column('place_path', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('deadline', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('open','accepted','in_progress','fixed','rejected')", name=op.f('ck_work_orders_status')),
    sa.ForeignKeyConstraint(['hydrant_id'], ['hydrants.id'], name=op.f('fk_work_orders_hydrant_id_hydrants'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['maintainer_org_id'], ['organisations.id'], name=op.f('fk_work_orders_maintainer_org_id_organisations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['report_id'], ['hydrant_reports.id'], name=op.f('fk_work_orders_report_id_hydrant_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_orders')),
    sa.UniqueConstraint('report_id', name=op.f('uq_work_orders_report_id'))
    )
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.create_index('ix_work_orders_deadline_unclosed', ['deadline'], unique=False, postgresql_where=sa.text('closed_at IS NULL'), sqlite_where=sa.text('closed_at IS NULL'))
        batch_op.create_index(batch_op.f('ix_work_orders_hydrant_id'), ['hydrant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_orders_maintainer_org_id'), ['maintainer_org_id'], unique=False)
        batch_op.create_index('ix_work_orders_place_path', ['place_path'], unique=False, postgresql_ops={'place_path': 'text_pattern_ops'})

    op.create_table('work_order_updates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('work_order_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=1000), nullable=True),
    sa.Column('photo_ids', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('accepted','in_progress','fixed','rejected')", name=op.f('ck_work_order_updates_status')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_work_order_updates_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], name=op.f('fk_work_order_updates_work_order_id_work_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_order_updates')),
    sa.UniqueConstraint('client_id', name=op.f('uq_work_order_updates_client_id'))
    )
    with op.batch_alter_table('work_order_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_order_updates_work_order_id'), ['work_order_id'], unique=False)


def _hydrants_down():
    with op.batch_alter_table('work_order_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_order_updates_work_order_id'))

    op.drop_table('work_order_updates')
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_work_orders_place_path', postgresql_ops={'place_path': 'text_pattern_ops'})
        batch_op.drop_index(batch_op.f('ix_work_orders_maintainer_org_id'))
        batch_op.drop_index(batch_op.f('ix_work_orders_hydrant_id'))
        batch_op.drop_index('ix_work_orders_deadline_unclosed', postgresql_where=sa.text('closed_at IS NULL'), sqlite_where=sa.text('closed_at IS NULL'))

    op.drop_table('work_orders')
    with op.batch_alter_table('hydrant_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hydrant_reports_reporter_id'))
        batch_op.drop_index('ix_hydrant_reports_place_path', postgresql_ops={'place_path': 'text_pattern_ops'})
        batch_op.drop_index(batch_op.f('ix_hydrant_reports_hydrant_id'))

    op.drop_table('hydrant_reports')
    with op.batch_alter_table('hydrants', schema=None) as batch_op:
        batch_op.drop_index('ix_hydrants_place_path', postgresql_ops={'place_path': 'text_pattern_ops'})
        batch_op.drop_index(batch_op.f('ix_hydrants_place_id'))
        batch_op.drop_index(batch_op.f('ix_hydrants_maintainer_org_id'))
        batch_op.drop_index('ix_hydrants_lat_lng')

    op.drop_table('hydrants')


# --- checklist templates, inspections and hazards (api/hazards) --------------------

# The default inspection checklist (reference data, like 0001's device types): what a
# fire supervisor checks on a visit (消防监督检查), after the usual provincial forms.
DEFAULT_INSPECTION_ITEMS = [
    ("exits_clear", "安全出口、疏散通道畅通，无锁闭、堵塞", "Exits and evacuation routes clear, not locked or blocked", "pass_fail"),
    ("exit_signs_lighting", "疏散指示标志、应急照明完好", "Exit signs and emergency lighting working", "pass_fail"),
    ("extinguishers_valid", "灭火器数量足够、压力正常、在有效期内", "Extinguishers sufficient, pressure normal, within date", "pass_fail"),
    ("hydrants_hoses", "室内消火栓箱内水带、水枪齐全，无遮挡", "Indoor hydrant cabinets complete (hose, nozzle), not obstructed", "pass_fail"),
    ("fire_doors_closed", "常闭式防火门处于关闭状态，闭门器完好", "Self-closing fire doors kept shut, closers working", "pass_fail"),
    ("alarm_panel_normal", "火灾报警控制器运行正常，无故障、无屏蔽", "Fire alarm panel normal: no faults, nothing disabled", "pass_fail"),
    ("control_room_staffed", "消防控制室 24 小时双人持证值班", "Fire control room staffed around the clock by two certified operators", "pass_fail"),
    ("sprinkler_pressure", "自动喷水灭火系统、消防水泵压力正常", "Sprinkler system and fire pumps at normal pressure", "pass_fail"),
    ("electrical_wiring", "电气线路无私拉乱接、无老化破损", "Electrical wiring: no makeshift or worn connections", "pass_fail"),
    ("ebike_charging", "电动自行车未在楼道、门厅、室内停放充电", "No e-bikes parked or charging in corridors, lobbies or indoors", "pass_fail"),
    ("combustibles_storage", "易燃易爆、可燃物品规范存放，远离火源", "Flammable and combustible materials stored properly, away from ignition", "pass_fail"),
    ("fire_lane_clear", "消防车通道、登高操作场地畅通", "Fire engine access and aerial operation area clear", "pass_fail"),
    ("training_records", "消防安全制度、培训演练记录齐全", "Fire safety rules, training and drill records kept", "pass_fail"),
    ("remarks", "其他情况", "Other findings", "note"),
    ("site_photo", "现场照片", "Photo of the site", "photo"),
]


def _hazards_up():
    op.create_table('checklist_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=True),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('inspection','patrol')", name=op.f('ck_checklist_templates_kind')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_checklist_templates_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checklist_templates')),
    sa.UniqueConstraint('code', name=op.f('uq_checklist_templates_code'))
    )
    op.create_table('inspections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('site_path', sa.String(length=255), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('inspector_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lng', sa.Float(), nullable=True),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('note', sa.String(length=1000), nullable=True),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['inspector_id'], ['users.id'], name=op.f('fk_inspections_inspector_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['places.id'], name=op.f('fk_inspections_site_id_places'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['template_id'], ['checklist_templates.id'], name=op.f('fk_inspections_template_id_checklist_templates'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspections')),
    sa.UniqueConstraint('client_id', name=op.f('uq_inspections_client_id'))
    )
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.create_index('ix_inspections_site_id_at', ['site_id', 'at'], unique=False)
        batch_op.create_index('ix_inspections_site_path', ['site_path'], unique=False, postgresql_ops={'site_path': 'text_pattern_ops'})

    op.create_table('hazards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('site_path', sa.String(length=255), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=True),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('photo_ids', sa.JSON(), nullable=False),
    sa.Column('source_type', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.String(length=64), nullable=True),
    sa.Column('item_key', sa.String(length=64), nullable=True),
    sa.Column('inspection_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('responsible_user_id', sa.Integer(), nullable=True),
    sa.Column('deadline', sa.DateTime(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_by', sa.Integer(), nullable=True),
    sa.CheckConstraint("severity IN ('minor','major','critical')", name=op.f('ck_hazards_severity')),
    sa.CheckConstraint("source_type IN ('inspection','patrol','report')", name=op.f('ck_hazards_source_type')),
    sa.CheckConstraint("state IN ('open','submitted','closed')", name=op.f('ck_hazards_state')),
    sa.ForeignKeyConstraint(['closed_by'], ['users.id'], name=op.f('fk_hazards_closed_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_hazards_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_hazards_inspection_id_inspections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['responsible_user_id'], ['users.id'], name=op.f('fk_hazards_responsible_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['places.id'], name=op.f('fk_hazards_site_id_places'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hazards')),
    sa.UniqueConstraint('client_id', name=op.f('uq_hazards_client_id'))
    )
    with op.batch_alter_table('hazards', schema=None) as batch_op:
        batch_op.create_index('ix_hazards_deadline_unclosed', ['deadline'], unique=False, postgresql_where=sa.text("state <> 'closed'"), sqlite_where=sa.text("state <> 'closed'"))
        batch_op.create_index(batch_op.f('ix_hazards_inspection_id'), ['inspection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hazards_responsible_user_id'), ['responsible_user_id'], unique=False)
        batch_op.create_index('ix_hazards_site_id_state', ['site_id', 'state'], unique=False)
        batch_op.create_index('ix_hazards_site_path', ['site_path'], unique=False, postgresql_ops={'site_path': 'text_pattern_ops'})

    op.create_table('hazard_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hazard_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('client_at', sa.DateTime(), nullable=True),
    sa.Column('note', sa.String(length=1000), nullable=True),
    sa.Column('photo_ids', sa.JSON(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.CheckConstraint("kind IN ('created','submitted','rejected','accepted')", name=op.f('ck_hazard_events_kind')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_hazard_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['hazard_id'], ['hazards.id'], name=op.f('fk_hazard_events_hazard_id_hazards'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hazard_events')),
    sa.UniqueConstraint('client_id', name=op.f('uq_hazard_events_client_id'))
    )
    with op.batch_alter_table('hazard_events', schema=None) as batch_op:
        batch_op.create_index('ix_hazard_events_hazard_id_id', ['hazard_id', 'id'], unique=False)

    from datetime import datetime

    templates = sa.table('checklist_templates', sa.column('code', sa.String), sa.column('kind', sa.String),
                         sa.column('name', sa.String), sa.column('name_en', sa.String),
                         sa.column('items', sa.JSON), sa.column('created_at', sa.DateTime))
    op.bulk_insert(templates, [{
        'code': 'default_inspection', 'kind': 'inspection', 'name': '消防安全监督检查（通用）',
        'name_en': 'Fire safety inspection (general)', 'created_at': datetime(2026, 12, 1),
        'items': [{'key': k, 'label': zh, 'label_en': en, 'kind': kind} for k, zh, en, kind in DEFAULT_INSPECTION_ITEMS],
    }])


def _hazards_down():
    with op.batch_alter_table('hazard_events', schema=None) as batch_op:
        batch_op.drop_index('ix_hazard_events_hazard_id_id')

    op.drop_table('hazard_events')
    with op.batch_alter_table('hazards', schema=None) as batch_op:
        batch_op.drop_index('ix_hazards_site_path', postgresql_ops={'site_path': 'text_pattern_ops'})
        batch_op.drop_index('ix_hazards_site_id_state')
        batch_op.drop_index(batch_op.f('ix_hazards_responsible_user_id'))
        batch_op.drop_index(batch_op.f('ix_hazards_inspection_id'))
        batch_op.drop_index('ix_hazards_deadline_unclosed', postgresql_where=sa.text("state <> 'closed'"), sqlite_where=sa.text("state <> 'closed'"))

    op.drop_table('hazards')
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.drop_index('ix_inspections_site_path', postgresql_ops={'site_path': 'text_pattern_ops'})
        batch_op.drop_index('ix_inspections_site_id_at')

    op.drop_table('inspections')
    op.drop_table('checklist_templates')


# --- patrol plans, checkpoints and records (api/patrols) ---------------------------

def _patrols_up():
    op.create_table('patrol_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=True),
    sa.Column('request_hash', sa.String(length=64), nullable=True),
    sa.Column('place_id', sa.Integer(), nullable=False),
    sa.Column('place_path', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('frequency', sa.JSON(), nullable=False),
    sa.Column('assignee_roles', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_patrol_plans_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['place_id'], ['places.id'], name=op.f('fk_patrol_plans_place_id_places'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patrol_plans')),
    sa.UniqueConstraint('client_id', name=op.f('uq_patrol_plans_client_id'))
    )
    with op.batch_alter_table('patrol_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patrol_plans_place_id'), ['place_id'], unique=False)
        batch_op.create_index('ix_patrol_plans_place_path', ['place_path'], unique=False, postgresql_ops={'place_path': 'text_pattern_ops'})

    op.create_table('patrol_assignees',
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['patrol_plans.id'], name=op.f('fk_patrol_assignees_plan_id_patrol_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_patrol_assignees_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('plan_id', 'user_id', name=op.f('pk_patrol_assignees'))
    )
    with op.batch_alter_table('patrol_assignees', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patrol_assignees_user_id'), ['user_id'], unique=False)

    op.create_table('patrol_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lng', sa.Float(), nullable=False),
    sa.Column('radius_m', sa.Float(), nullable=False),
    sa.Column('instructions', sa.Text(), nullable=True),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['patrol_plans.id'], name=op.f('fk_patrol_checkpoints_plan_id_patrol_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['places.id'], name=op.f('fk_patrol_checkpoints_site_id_places'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patrol_checkpoints'))
    )
    with op.batch_alter_table('patrol_checkpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patrol_checkpoints_plan_id'), ['plan_id'], unique=False)

    op.create_table('patrol_records',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('place_path', sa.String(length=255), nullable=False),
    sa.Column('scanned', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('period_start', sa.DateTime(), nullable=True),
    sa.Column('period_label', sa.String(length=20), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lng', sa.Float(), nullable=True),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('distance_m', sa.Float(), nullable=True),
    sa.Column('far_from_checkpoint', sa.Boolean(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['patrol_checkpoints.id'], name=op.f('fk_patrol_records_checkpoint_id_patrol_checkpoints'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['patrol_plans.id'], name=op.f('fk_patrol_records_plan_id_patrol_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_patrol_records_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patrol_records'))
    )
    with op.batch_alter_table('patrol_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patrol_records_checkpoint_id'), ['checkpoint_id'], unique=False)
        batch_op.create_index('ix_patrol_records_place_path', ['place_path'], unique=False, postgresql_ops={'place_path': 'text_pattern_ops'})
        batch_op.create_index('ix_patrol_records_plan_period', ['plan_id', 'period_start'], unique=False)
        batch_op.create_index('ix_patrol_records_user_at', ['user_id', 'at'], unique=False)

    op.create_table('patrol_item_hazards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.String(length=36), nullable=False),
    sa.Column('item_key', sa.String(length=64), nullable=False),
    sa.Column('hazard_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['hazard_id'], ['hazards.id'], name=op.f('fk_patrol_item_hazards_hazard_id_hazards'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['record_id'], ['patrol_records.id'], name=op.f('fk_patrol_item_hazards_record_id_patrol_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patrol_item_hazards')),
    sa.UniqueConstraint('record_id', 'item_key', name=op.f('uq_patrol_item_hazards_record_id_item_key'))
    )
    with op.batch_alter_table('patrol_item_hazards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patrol_item_hazards_hazard_id'), ['hazard_id'], unique=False)


def _patrols_down():
    op.drop_table('patrol_item_hazards')
    with op.batch_alter_table('patrol_records', schema=None) as batch_op:
        batch_op.drop_index('ix_patrol_records_user_at')
        batch_op.drop_index('ix_patrol_records_plan_period')
        batch_op.drop_index('ix_patrol_records_place_path', postgresql_ops={'place_path': 'text_pattern_ops'})
        batch_op.drop_index(batch_op.f('ix_patrol_records_checkpoint_id'))

    op.drop_table('patrol_records')
    with op.batch_alter_table('patrol_checkpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patrol_checkpoints_plan_id'))

    op.drop_table('patrol_checkpoints')
    with op.batch_alter_table('patrol_assignees', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patrol_assignees_user_id'))

    op.drop_table('patrol_assignees')
    with op.batch_alter_table('patrol_plans', schema=None) as batch_op:
        batch_op.drop_index('ix_patrol_plans_place_path', postgresql_ops={'place_path': 'text_pattern_ops'})
        batch_op.drop_index(batch_op.f('ix_patrol_plans_place_id'))

    op.drop_table('patrol_plans')
