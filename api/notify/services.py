"""Push subscriptions, receipts, and reading who was told."""

from api.common.clock import utcnow
from api.errors import NotFound
from api.extensions import db
from api.notify.models import Delivery, Notification, PushSubscription


def subscribe(user, data, user_agent=None):
    """Register a browser's subscription; the same endpoint again updates it (and may change hands)."""
    sub = PushSubscription.query.filter_by(endpoint=data["endpoint"]).one_or_none()
    if sub is None:
        sub = PushSubscription(endpoint=data["endpoint"], user_id=user.id)
        db.session.add(sub)
    sub.user_id, sub.p256dh, sub.auth = user.id, data["keys"]["p256dh"], data["keys"]["auth"]
    sub.user_agent = (user_agent or "")[:300]
    db.session.commit()
    return sub


def my_subscriptions(user):
    return PushSubscription.query.filter_by(user_id=user.id).order_by(PushSubscription.id).all()


def unsubscribe(user, endpoint):
    sub = PushSubscription.query.filter_by(endpoint=endpoint, user_id=user.id).one_or_none()
    if sub is None:
        raise NotFound()
    db.session.delete(sub)
    db.session.commit()


def record_receipt(token):
    """The service worker saw the push. Unknown tokens are ignored (answer 200 anyway)."""
    delivery = Delivery.query.filter_by(token=token).one_or_none()
    if delivery is None:
        return False
    now = utcnow()
    if delivery.delivered_at is None:
        delivery.state, delivery.delivered_at = "delivered", now
        PushSubscription.query.filter_by(endpoint=delivery.notification.address).update({"last_receipt_at": now})
        db.session.commit()
    return True


def my_notifications(user, limit=50):
    return (Notification.query.filter_by(user_id=user.id).order_by(Notification.id.desc()).limit(limit).all())


def incident_notifications(incident_id):
    from api.incidents.services import get_incident

    incident = get_incident(incident_id)
    return Notification.query.filter_by(incident_id=incident.id).order_by(Notification.id).all()


def act_from_notification(token, action):
    """A tap on the notification's "I'm checking" button, even with the app closed
    and its login expired: the delivery's unguessable token stands for the person
    it was sent to, for this one incident."""
    from flask import g

    from api.errors import AppError
    from api.incidents import services as incidents
    from api.people.models import User

    delivery = Delivery.query.filter_by(token=token).one_or_none()
    if delivery is None or delivery.notification.user_id is None:
        raise NotFound()
    user = db.session.get(User, delivery.notification.user_id)
    if user is None or not user.is_active:
        raise NotFound()
    if action != "acknowledge":
        raise AppError("validation_error", status=422, errors={"action": ["only acknowledge"]})
    record_receipt(token)
    g.current_user = user
    return incidents.acknowledge_incident(delivery.notification.incident_id)


def send_test_alarm(user):
    """Send the caller a test push on each of their subscriptions, through the real
    delivery path; the phone's receipt shows on GET /push/subscriptions."""
    from api.errors import AppError
    from api.notify import messages
    from api.notify.escalation import enqueue_deliveries
    from api.notify.models import new_token

    subs = my_subscriptions(user)
    if not subs:
        raise AppError("no_subscription", status=409,
                       message=("本机尚未开启通知，请先在设置中开启", "Turn on notifications on this phone first"))
    now = utcnow()
    ids = []
    for sub in subs:
        n = Notification(incident_id=None, user_id=user.id, kind="test", channel="push", address=sub.endpoint,
                         text=messages.test_text(user.locale), created_at=now)
        db.session.add(n)
        db.session.flush()
        d = Delivery(notification_id=n.id, attempt=1, state="pending", token=new_token(), created_at=now)
        db.session.add(d)
        db.session.flush()
        ids.append(d.id)
    db.session.commit()
    enqueue_deliveries(ids, f"test{user.id}-{int(now.timestamp())}")
    return {"queued": len(ids)}
