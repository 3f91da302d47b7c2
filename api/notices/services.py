"""Raise a notice: the rows (notice, recipients, one push Notification and Delivery
per subscription) join the caller's transaction; the deliveries are queued after
its commit, and the delivery auditor queues any that a lost Redis dropped."""

import logging

from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from api.common.clock import utcnow
from api.errors import AppError
from api.extensions import db
from api.notices.models import Notice, NoticeRecipient

log = logging.getLogger("notices")
_PENDING = "fa_notice_deliveries"
CHUNK = 200


def raise_notice(kind, key, user_ids, text, *, level=None, place=None, link=None, subject=None, now=None):
    """Tell `user_ids` once. `text` is (zh, en); `subject` is (type, id); `key` makes it
    happen once: a second call with the same key returns None and changes nothing."""
    from api.notify.models import Delivery, Notification, PushSubscription, new_token
    from api.people.models import User

    now = now or utcnow()
    if db.session.query(Notice.id).filter_by(key=key).first():
        return None
    zh, en = text
    notice = Notice(kind=kind, key=key[:200], level=level, place_id=getattr(place, "id", None),
                    place_path=getattr(place, "path", None), text=zh[:300], text_en=en[:300], link=link,
                    subject_type=subject[0] if subject else None,
                    subject_id=str(subject[1]) if subject else None, created_at=now)
    # Two sweeps racing: the loser's insert does nothing. (Not a savepoint: on SQLite the
    # release of a savepoint opened before any write commits the caller's work so far.)
    values = {c.key: getattr(notice, c.key) for c in Notice.__table__.columns if c.key != "id"}
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    notice_id = db.session.execute(insert(Notice).values(**values).on_conflict_do_nothing(
        index_elements=["key"]).returning(Notice.id)).scalar()
    if notice_id is None:
        return None
    notice = db.session.get(Notice, notice_id)
    user_ids = sorted({int(u) for u in user_ids if u is not None})
    for user_id in user_ids:
        db.session.add(NoticeRecipient(notice_id=notice.id, user_id=user_id))
    if not user_ids:
        db.session.flush()
        return notice
    locales = dict(db.session.query(User.id, User.locale).filter(User.id.in_(user_ids)))
    delivery_ids = []
    for sub in PushSubscription.query.filter(PushSubscription.user_id.in_(user_ids)).order_by(PushSubscription.id):
        english = (locales.get(sub.user_id) or "").startswith("en")
        n = Notification(notice_id=notice.id, user_id=sub.user_id, kind="notice", channel="push",
                         address=sub.endpoint, text=(en if english else zh)[:500], created_at=now)
        db.session.add(n)
        db.session.flush()
        d = Delivery(notification_id=n.id, attempt=1, state="pending", token=new_token(), created_at=now)
        db.session.add(d)
        db.session.flush()
        delivery_ids.append(d.id)
    db.session.info.setdefault(_PENDING, []).extend(delivery_ids)
    return notice


def close_notices(subject_type, subject_id, kinds=None, now=None):
    """The condition is over: open notices about this subject are closed (not deleted)."""
    q = Notice.query.filter(Notice.subject_type == subject_type, Notice.subject_id == str(subject_id),
                            Notice.closed_at.is_(None))
    if kinds:
        q = q.filter(Notice.kind.in_(kinds))
    return q.update({Notice.closed_at: now or utcnow()}, synchronize_session=False)


def my_notices(user, args):
    q = (db.session.query(Notice, NoticeRecipient.read_at)
         .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
         .filter(NoticeRecipient.user_id == user.id))
    if args.get("unread"):
        q = q.filter(NoticeRecipient.read_at.is_(None))
    if args.get("open"):
        q = q.filter(Notice.closed_at.is_(None))
    if args.get("before"):
        q = q.filter(Notice.id < args["before"])
    rows = q.order_by(Notice.id.desc()).limit(args["limit"] + 1).all()
    more = len(rows) > args["limit"]
    rows = rows[: args["limit"]]
    english = (user.locale or "").startswith("en")
    items = [_view(n, read_at, english) for n, read_at in rows]
    return {"items": items, "next_before": items[-1]["id"] if more and items else None}


def mark_read(user, notice_id):
    row = NoticeRecipient.query.filter_by(notice_id=notice_id, user_id=user.id).first()
    if row is None:  # not one of mine: as if it did not exist
        raise AppError("not_found", status=404, message=("没有这条提醒", "No such notice"))
    if row.read_at is None:
        row.read_at = utcnow()
        db.session.commit()
    notice = db.session.get(Notice, notice_id)
    return _view(notice, row.read_at, (user.locale or "").startswith("en"))


def _view(n, read_at, english):
    return {"id": n.id, "kind": n.kind, "level": n.level, "text": n.text_en if english else n.text,
            "link": n.link, "subject_type": n.subject_type, "subject_id": n.subject_id,
            "created_at": n.created_at, "closed_at": n.closed_at, "read_at": read_at}


def _queue_after_commit(session):
    ids = session.info.pop(_PENDING, None)
    if not ids:
        return
    try:
        from workers.delivery import deliver_batch

        for i in range(0, len(ids), CHUNK):
            chunk = ids[i:i + CHUNK]
            deliver_batch.enqueue(chunk, job_id=f"deliver-notice-push-{chunk[0]}")
    except Exception:  # the rows are pending: the delivery auditor queues them
        log.exception("could not queue %d notice deliveries; the auditor will", len(ids))


def _forget_after_rollback(session):
    session.info.pop(_PENDING, None)


def register(app):
    """Queue notice deliveries after whichever commit made them durable."""
    if not event.contains(Session, "after_commit", _queue_after_commit):
        event.listen(Session, "after_commit", _queue_after_commit)
        event.listen(Session, "after_rollback", _forget_after_rollback)
