from flask import request
from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from api.common.idempotency import idempotent
from api.common.openapi import SECURED
from api.devices import commands, importer, services
from api.devices.schemas import (
    DevicePageSchema,
    DeviceQuerySchema,
    DeviceSchema,
    DeviceTypeSchema,
    DeviceTypeUpdateSchema,
    DeviceUpdateSchema,
    ImportArgsSchema,
    ImportResultSchema,
    InstallationRequirementSchema,
)
from api.errors import AppError

blp = Blueprint("devices", __name__, url_prefix="/api/v1", description="Device registry")


@blp.route("/devices")
class Devices(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.arguments(DeviceQuerySchema, location="query")
    @blp.response(200, DevicePageSchema)
    def get(self, args):
        """Devices in the caller's scope."""
        return services.list_devices(args)

    @blp.doc(security=SECURED)
    @blp.arguments(DeviceSchema)
    @blp.response(201, DeviceSchema)
    def post(self, data):
        """Register a device (admins and operators, within scope)."""
        return services.create_device(data)


@blp.route("/devices/<int:device_id>")
class DeviceById(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, DeviceSchema)
    def get(self, device_id):
        return services.get_device(device_id)

    @blp.doc(security=SECURED)
    @blp.arguments(DeviceUpdateSchema)
    @blp.response(200, DeviceSchema)
    def patch(self, data, device_id):
        return services.update_device(device_id, data)

    @blp.doc(security=SECURED)
    @blp.response(204)
    def delete(self, device_id):
        services.delete_device(device_id)


@blp.route("/devices/import")
class DeviceImport(MethodView):
    decorators = [jwt_required()]

    @blp.doc(
        security=SECURED,
        requestBody={
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
                },
            }
        },
    )
    @blp.arguments(ImportArgsSchema, location="query")
    @blp.response(200, ImportResultSchema)
    def post(self, args):
        """Import devices from CSV (UTF-8 or GB18030; Chinese or English headers).
        Bad rows are listed with their line numbers; nothing is imported while
        any row is bad unless `accept_partial=true`."""
        services.ensure_role(services.WRITE_ROLES)
        upload = request.files.get("file")
        raw = upload.read() if upload is not None else request.get_data(cache=False)
        if not raw:
            raise AppError("validation_error", errors={"file": ["send the CSV as the body or as a 'file' part"]}, status=422)
        return importer.import_devices(raw, accept_partial=args["accept_partial"], dry_run=args["dry_run"])


@blp.route("/device-types")
class DeviceTypes(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, DeviceTypeSchema(many=True))
    def get(self):
        return services.list_device_types()


@blp.route("/device-types/<string:code>")
class DeviceTypeByCode(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.arguments(DeviceTypeUpdateSchema)
    @blp.response(200, DeviceTypeSchema)
    def patch(self, data, code):
        """Change a type's names or heartbeat interval (admins)."""
        return services.update_device_type(code, data)


@blp.route("/installation-standard")
class InstallationStandard(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, InstallationRequirementSchema(many=True))
    def get(self):
        """The installation-standard table: which equipment each site category must (M) or may (O) have."""
        return services.installation_standard()

    @blp.doc(security=SECURED)
    @blp.arguments(InstallationRequirementSchema)
    @blp.response(200, InstallationRequirementSchema)
    def put(self, data):
        """Set one cell of the table (admins)."""
        return services.set_installation_requirement(data)


class PowerOffSchema(Schema):
    confirm = fields.Boolean(required=True)
    incident_id = fields.Integer(allow_none=True)


class DeviceCommandSchema(Schema):
    id = fields.Integer()
    device_id = fields.Integer()
    kind = fields.String()
    state = fields.String()
    requested_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    done_at = fields.DateTime(allow_none=True)
    result = fields.Dict(allow_none=True)
    error = fields.String(allow_none=True)


class DeviceHealthSchema(Schema):
    total = fields.Integer()
    online = fields.Integer()
    offline = fields.Integer()
    never_seen = fields.Integer()
    fault = fields.Integer()
    low_battery = fields.Integer()


@blp.route("/devices/<int:device_id>/power-off")
class DevicePowerOff(MethodView):
    decorators = [jwt_required()]

    @idempotent
    @blp.doc(security=SECURED)
    @blp.arguments(PowerOffSchema)
    @blp.response(202, DeviceCommandSchema)
    def post(self, data, device_id):
        """Cut an electrical monitor's power remotely (operators, property staff; must be confirmed).
        Done when the device reports power_cut_done."""
        return commands.request_power_off(device_id, data["confirm"], data.get("incident_id"))


@blp.route("/devices/<int:device_id>/commands")
class DeviceCommands(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, DeviceCommandSchema(many=True))
    def get(self, device_id):
        device = services.get_device(device_id)
        return (commands.DeviceCommand.query.filter_by(device_id=device.id)
                .order_by(commands.DeviceCommand.id.desc()).limit(50).all())


@blp.route("/device-health")
class DeviceHealth(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, DeviceHealthSchema)
    def get(self):
        """Device counts in the caller's scope: online, offline, never heard from, in fault, low battery."""
        return services.device_health()
