"""Remote commands to devices: today the electrical monitor's power-off.

A command is a row before it is a job. It is sent over the channel the device
last spoke through (an MQTT topic, or the integration's signed command URL),
and it is done only when the device reports `power_cut_done`.
"""

from datetime import timedelta

from sqlalchemy import CheckConstraint

from api.common.clock import utcnow
from api.common.types import UTCDateTime
from api.errors import AppError
from api.extensions import db

COMMAND_ROLES = ("operator", "property_staff", "admin")
REPEAT_WINDOW = timedelta(minutes=2)


class DeviceCommand(db.Model):
    __tablename__ = "device_commands"
    __table_args__ = (CheckConstraint("state IN ('pending','sending','sent','done','failed')", name="state"),)

    id = db.Column(db.Integer, primary_key=True)
    device_id = db.Column(db.Integer, db.ForeignKey("devices.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = db.Column(db.String(16), nullable=False)
    state = db.Column(db.String(8), nullable=False, default="pending")
    requested_by = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    requested_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    incident_id = db.Column(db.Integer, db.ForeignKey("incidents.id", ondelete="SET NULL"))
    attempts = db.Column(db.Integer, nullable=False, default=0)
    sent_at = db.Column(UTCDateTime)
    done_at = db.Column(UTCDateTime)
    result = db.Column(db.JSON)
    error = db.Column(db.String(300))


def request_power_off(device_id, confirm, incident_id=None):
    from api.devices.services import get_device
    from api.incidents.models import Incident
    from api.incidents.services import note
    from api.people.scopes import current_user, ensure_can_write

    device = get_device(device_id)
    ensure_can_write(device.place_path, COMMAND_ROLES)
    if device.type_code != "electrical_monitor":
        raise AppError("validation_error", status=422, errors={"device_id": ["only electrical monitors cut power"]})
    if confirm is not True:
        raise AppError("validation_error", status=422,
                       errors={"confirm": ["cutting power must be confirmed (confirm: true)"]})
    now = utcnow()
    recent = (DeviceCommand.query.filter(DeviceCommand.device_id == device.id, DeviceCommand.kind == "power_off",
                                         DeviceCommand.state.in_(("pending", "sending", "sent")),
                                         DeviceCommand.requested_at > now - REPEAT_WINDOW)
              .order_by(DeviceCommand.id.desc()).first())
    if recent is not None:
        return recent  # a second tap (or a retry) does not send a second command
    user = current_user()
    command = DeviceCommand(device_id=device.id, kind="power_off", requested_by=user.id, requested_at=now,
                            incident_id=incident_id)
    db.session.add(command)
    incident = db.session.get(Incident, incident_id) if incident_id else None
    if incident is not None and incident.site_id in (device.place_id, device.place.parent_id):
        note(incident, "action", f"{user.name} 远程断电：{device.location_text or device.serial} · remote power-off",
             actor_id=user.id, at=now)
    db.session.commit()
    from workers.commands import queue_command

    queue_command(command.id)
    return command


def complete_from_device(device, event):
    """`power_cut_done` from the device closes its newest open power-off command."""
    command = (DeviceCommand.query.filter(DeviceCommand.device_id == device.id, DeviceCommand.kind == "power_off",
                                          DeviceCommand.state.in_(("pending", "sending", "sent")))
               .order_by(DeviceCommand.id.desc()).first())
    if command is None:
        return None
    ok = (event.values or {}).get("ok", True) is not False
    command.state = "done" if ok else "failed"
    command.done_at, command.result = event.occurred_at, dict(event.values or {})
    if not ok:
        command.error = str((event.values or {}).get("reason") or "the device reports failure")[:300]
    if command.incident_id:
        from api.incidents.models import Incident
        from api.incidents.services import note

        incident = db.session.get(Incident, command.incident_id)
        note(incident, "device_event", "已断电 · power cut" if ok else f"断电失败 · power-off failed: {command.error}",
             at=event.occurred_at, data={"command_id": command.id})
    return command
