from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint

from api.alerts import services as alerts
from api.common.clock import utcnow
from api.common.idempotency import idempotent
from api.common.openapi import IDEMPOTENCY, SECURED
from api.incidents import services
from api.incidents.schemas import (
    AlertPageSchema,
    AlertQuerySchema,
    AlertSchema,
    CloseSchema,
    IncidentDetailSchema,
    IncidentPageSchema,
    IncidentQuerySchema,
)

blp = Blueprint("incidents", __name__, url_prefix="/api/v1", description="Incidents and alerts")


@blp.route("/incidents")
class Incidents(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.arguments(IncidentQuerySchema, location="query")
    @blp.response(200, IncidentPageSchema)
    def get(self, args):
        """Incidents in scope, filtered by level, state (comma-separated), site and time."""
        return services.list_incidents(args)


@blp.route("/incidents/<int:incident_id>")
class IncidentById(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, IncidentDetailSchema)
    def get(self, incident_id):
        """One incident with its alerts and its timeline."""
        return services.get_incident(incident_id)


def _action(name, doc, func, with_body=False):
    """One POST endpoint per transition; each calls the transition's owner."""

    if with_body:
        class Action(MethodView):
            decorators = [jwt_required()]

            @idempotent
            @blp.doc(security=SECURED, parameters=[IDEMPOTENCY], description=doc)
            @blp.arguments(CloseSchema)
            @blp.response(200, IncidentDetailSchema)
            def post(self, data, incident_id):
                return func(incident_id, data["outcome"], data.get("reason"), data.get("note"))
    else:
        class Action(MethodView):
            decorators = [jwt_required()]

            @idempotent
            @blp.doc(security=SECURED, parameters=[IDEMPOTENCY], description=doc)
            @blp.response(200, IncidentDetailSchema)
            def post(self, incident_id):
                return func(incident_id)

    Action.__name__ = f"Incident{name.title().replace('-', '')}"
    blp.route(f"/incidents/<int:incident_id>/{name}")(Action)


_action("acknowledge", "I'm checking: open → acknowledged.", services.acknowledge_incident)
_action("on-scene", "Arrived: → on_scene.", services.arrive_on_scene)
_action("confirm-fire", "Real fire: level 1, forwarded to 119.", services.confirm_fire)
_action("close", "Close with an outcome (a false alarm needs a reason).", services.close_incident, with_body=True)


@blp.route("/alerts")
class Alerts(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.arguments(AlertQuerySchema, location="query")
    @blp.response(200, AlertPageSchema)
    def get(self, args):
        """Alerts in scope (open ones unless open=false)."""
        return alerts.list_alerts(args)


@blp.route("/alerts/<int:alert_id>")
class AlertById(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, AlertSchema)
    def get(self, alert_id):
        return alerts.get_alert(alert_id)


@blp.route("/alerts/<int:alert_id>/acknowledge")
class AlertAcknowledge(MethodView):
    decorators = [jwt_required()]

    @idempotent
    @blp.doc(security=SECURED, parameters=[IDEMPOTENCY])
    @blp.response(200, AlertSchema)
    def post(self, alert_id):
        return alerts.acknowledge_alert(alert_id, utcnow())
