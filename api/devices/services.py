"""The device registry."""

from api.common.pagination import page
from api.devices.models import Device, DeviceType, InstallationRequirement
from api.errors import AppError, Conflict, NotFound
from api.extensions import db
from api.people.scopes import current_user, ensure_can_write, ensure_role, ensure_visible, read_scope, scope_of
from api.places.models import Place

WRITE_ROLES = ("admin", "operator")
DEVICE_PLACE_KINDS = ("site", "household")


def get_device(device_id):
    device = db.session.get(Device, device_id)
    if device is None:
        raise NotFound()
    ensure_visible(device.place_path)
    return device


def list_devices(args):
    query = Device.query.filter(read_scope().where(Device.place_path))
    if args.get("type_code"):
        query = query.filter(Device.type_code == args["type_code"])
    if args.get("status"):
        query = query.filter(Device.status == args["status"])
    if args.get("serial"):
        query = query.filter(Device.serial == args["serial"])
    if args.get("place_id") is not None:
        place = db.session.get(Place, args["place_id"])
        if place is None or not read_scope().covers(place.path):
            raise NotFound()
        query = query.filter(Device.place_path.startswith(place.path, autoescape=True))
    return page(query, Device.id, args)


def resolve_device_place(place_id, field="place_id"):
    """The site or household a device is put in, which the caller must be able to change."""
    place = db.session.get(Place, place_id) if place_id is not None else None
    if place is None or not read_scope().covers(place.path):
        raise AppError("validation_error", errors={field: ["no such place"]}, status=422)
    if place.kind not in DEVICE_PLACE_KINDS:
        raise AppError("validation_error", errors={field: ["a device is placed in a site or a household"]}, status=422)
    if not scope_of(current_user(), WRITE_ROLES).covers(place.path):
        raise AppError("forbidden", status=403)
    return place


def _check_unique(serial=None, imei=None, except_id=None):
    errors = {}
    for field, column, value in (("serial", Device.serial, serial), ("imei", Device.imei, imei)):
        if value is None:
            continue
        q = Device.query.filter(column == value)
        if except_id:
            q = q.filter(Device.id != except_id)
        if db.session.query(q.exists()).scalar():
            errors[field] = ["already registered"]
    if errors:
        raise Conflict("conflict", errors=errors)


def device_type_or_error(code, field="type_code"):
    dtype = db.session.get(DeviceType, code)
    if dtype is None:
        raise AppError("validation_error", errors={field: [f"unknown device type {code!r}"]}, status=422)
    return dtype


def create_device(data, commit=True):
    ensure_role(WRITE_ROLES)
    place = resolve_device_place(data["place_id"])
    device_type_or_error(data["type_code"])
    _check_unique(data["serial"], data.get("imei"))
    device = Device(place_path=place.path, **data)
    db.session.add(device)
    if commit:
        db.session.commit()
    return device


def update_device(device_id, data):
    device = get_device(device_id)
    ensure_can_write(device.place_path, WRITE_ROLES)
    if "place_id" in data:
        place = resolve_device_place(data["place_id"])
        device.place_path = place.path
    if "imei" in data:
        _check_unique(imei=data["imei"], except_id=device.id)
    for key, value in data.items():
        setattr(device, key, value)
    db.session.commit()
    return device


def delete_device(device_id):
    device = get_device(device_id)
    ensure_can_write(device.place_path, WRITE_ROLES)
    db.session.delete(device)
    db.session.commit()


def list_device_types():
    return DeviceType.query.order_by(DeviceType.code).all()


def update_device_type(code, data):
    ensure_role(("admin",))
    dtype = db.session.get(DeviceType, code)
    if dtype is None:
        raise NotFound()
    for key, value in data.items():
        setattr(dtype, key, value)
    db.session.commit()
    return dtype


def installation_standard():
    return InstallationRequirement.query.order_by(
        InstallationRequirement.category, InstallationRequirement.equipment
    ).all()


def set_installation_requirement(data):
    ensure_role(("admin",))
    row = InstallationRequirement.query.filter_by(
        category=data["category"], equipment=data["equipment"]
    ).one_or_none()
    if row is None:
        row = InstallationRequirement(category=data["category"], equipment=data["equipment"])
        db.session.add(row)
    row.requirement = data["requirement"]
    db.session.commit()
    return row


def device_health():
    """Counts over the caller's devices: SQL aggregates, never a loop over rows."""
    from sqlalchemy import case, func

    from api.alerts.models import Alert

    scope = read_scope()
    row = db.session.query(
        func.count(Device.id),
        func.sum(case((Device.last_seen_at.is_(None), 1), else_=0)),
        func.sum(case((Device.offline_since.isnot(None), 1), else_=0)),
    ).filter(scope.where(Device.place_path), Device.status == "active").one()
    total, never, offline = row[0] or 0, row[1] or 0, row[2] or 0
    open_alerts = dict(db.session.query(Alert.condition, func.count(func.distinct(Alert.device_id))).filter(
        scope.where(Alert.device_path), Alert.closed_at.is_(None), Alert.active.is_(True),
        Alert.condition.in_(("fault", "low_battery", "panel_fault")),
    ).group_by(Alert.condition).all())
    return {"total": total, "online": total - never - offline, "offline": offline, "never_seen": never,
            "fault": open_alerts.get("fault", 0) + open_alerts.get("panel_fault", 0),
            "low_battery": open_alerts.get("low_battery", 0)}
