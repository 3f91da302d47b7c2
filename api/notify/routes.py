from flask import current_app, request
from flask.views import MethodView
from flask_jwt_extended import current_user, jwt_required
from flask_smorest import Blueprint

from api.errors import AppError
from api.incidents.schemas import IncidentSchema
from api.notify import policies, services
from api.notify.schemas import (
    NotificationSchema,
    PolicySchema,
    PushActionSchema,
    PushSubscriptionSchema,
    ReceiptSchema,
    TestAlarmSchema,
    UnsubscribeSchema,
    VapidKeySchema,
)

blp = Blueprint("notify", __name__, url_prefix="/api/v1", description="Notifications")
SECURED = [{"bearer": []}]


@blp.route("/push/vapid-public-key")
class VapidKey(MethodView):
    @blp.response(200, VapidKeySchema)
    def get(self):
        """The application server key the browser subscribes with."""
        key = current_app.config.get("VAPID_PUBLIC_KEY")
        if not key:
            raise AppError("unavailable", status=503, message=("推送尚未配置", "Web Push is not configured"))
        return {"public_key": key}


@blp.route("/push/subscriptions")
class PushSubscriptions(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, PushSubscriptionSchema(many=True))
    def get(self):
        """The caller's subscriptions, with when each last confirmed a push."""
        return services.my_subscriptions(current_user)

    @blp.doc(security=SECURED)
    @blp.arguments(PushSubscriptionSchema)
    @blp.response(201, PushSubscriptionSchema)
    def post(self, data):
        """Save this browser's PushSubscription for the caller."""
        return services.subscribe(current_user, data, request.headers.get("User-Agent"))

    @blp.doc(security=SECURED)
    @blp.arguments(UnsubscribeSchema)
    @blp.response(204)
    def delete(self, data):
        services.unsubscribe(current_user, data["endpoint"])


@blp.route("/push/receipts")
class PushReceipts(MethodView):
    @blp.arguments(ReceiptSchema)
    @blp.response(200, VapidKeySchema)
    def post(self, data):
        """Posted by the service worker when a push arrives. Always 200."""
        services.record_receipt(data["token"])
        return {}


@blp.route("/me/notifications")
class MyNotifications(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, NotificationSchema(many=True))
    def get(self):
        """The messages sent to the caller (the development channel's page in the PWA)."""
        return services.my_notifications(current_user)


@blp.route("/incidents/<int:incident_id>/notifications")
class IncidentNotifications(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, NotificationSchema(many=True))
    def get(self, incident_id):
        """Who was told of this incident, how, and what became of it (phones masked)."""
        return services.incident_notifications(incident_id)


@blp.route("/push/actions")
class PushActions(MethodView):
    @blp.arguments(PushActionSchema)
    @blp.response(200, IncidentSchema)
    def post(self, data):
        """The notification's action button (service worker, no login): acknowledge as the person it was sent to."""
        return services.act_from_notification(data["token"], data["action"])


@blp.route("/escalation-policies")
class EscalationPolicies(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, PolicySchema(many=True))
    def get(self):
        """The default policy and the communities' own (admins, operators)."""
        return policies.list_policies()

    @blp.doc(security=SECURED)
    @blp.arguments(PolicySchema)
    @blp.response(200, PolicySchema)
    def put(self, data):
        """Set the default policy (no place_id) or a community's (admins)."""
        return policies.put_policy(data)


@blp.route("/me/test-alarm")
class MyTestAlarm(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(202, TestAlarmSchema)
    def post(self):
        """Send me a test push on every phone I turned notifications on (settings → "send me a test alarm")."""
        return services.send_test_alarm(current_user)
