"""Checklist templates and supervisors' inspections (监督检查). An inspection records
one result per checklist item; each failed item becomes a hazard (services.create_hazard)
in the same transaction, so a replayed inspection never makes its hazards twice."""

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError

from api.common.clock import utcnow
from api.common.pagination import page
from api.common.savepoint import insert_savepoint
from api.errors import NotFound
from api.extensions import db
from api.hazards import services
from api.hazards.models import ChecklistTemplate, Inspection
from api.people.scopes import current_user, ensure_role, read_scope

TEMPLATE_WRITE_ROLES = ("admin", "supervisor")
INSPECT_ROLES = ("supervisor", "admin")
DEFAULT_TEMPLATE = "default_inspection"  # seeded by migration 0005
DEFAULT_SEVERITY = "major"  # a failed item whose severity the phone left out


# --- templates ---------------------------------------------------------------------

def list_templates(args):
    q = ChecklistTemplate.query
    if args.get("kind"):
        q = q.filter(ChecklistTemplate.kind == args["kind"])
    return {"items": q.order_by(ChecklistTemplate.id).all()}


def get_template(template_id):
    template = db.session.get(ChecklistTemplate, template_id)
    if template is None:
        raise NotFound()
    return template


def create_template(data):
    user = current_user()
    ensure_role(TEMPLATE_WRITE_ROLES, user)
    items = [{"key": i["key"], "label": i["label"], "label_en": i.get("label_en"), "kind": i.get("kind", "pass_fail")}
             for i in data["items"]]
    template = ChecklistTemplate(kind=data["kind"], name=data["name"], name_en=data.get("name_en"), items=items,
                                 created_by=user.id, created_at=utcnow())
    db.session.add(template)
    db.session.commit()
    return template


def _template_for(template_id):
    if template_id is None:
        template = ChecklistTemplate.query.filter_by(code=DEFAULT_TEMPLATE).one_or_none()
    else:
        template = db.session.get(ChecklistTemplate, template_id)
    if template is None or template.kind != "inspection":
        raise services.field_error("template_id", "no such inspection checklist")
    return template


# --- inspections ---------------------------------------------------------------------

def create_inspection(data):
    """A supervisor's inspection of a site; failed items become hazards. A replay of the
    same body returns the first inspection; the same id with another body → 409."""
    user = current_user()
    fp = services.fingerprint({k: v for k, v in data.items()})
    seen = services._replay(Inspection, data["id"], fp, user, "inspector_id")
    if seen is not None:
        return seen
    ensure_role(INSPECT_ROLES, user)
    site = services.resolve_site(data["site_id"], INSPECT_ROLES, user)
    template = _template_for(data.get("template_id"))
    labels = {i["key"]: i for i in template.items}
    unknown = [i["key"] for i in data["items"] if i["key"] not in labels]
    if unknown:
        raise services.field_error("items", f"not in the checklist: {', '.join(unknown)}")
    now = utcnow()
    at = data.get("at") or now
    default_responsible = data.get("responsible_user_id")
    services.resolve_responsible(default_responsible)
    loc = data.get("location") or {}
    inspection = Inspection(client_id=data["id"], fingerprint=fp, site_id=site.id, site_path=site.path,
                            template_id=template.id, inspector_id=user.id, at=at, created_at=now,
                            lat=loc.get("lat"), lng=loc.get("lng"), accuracy_m=loc.get("accuracy_m"),
                            note=data.get("note"), items=[])
    try:
        with insert_savepoint():  # added inside: a failed insert leaves nothing pending
            db.session.add(inspection)
            db.session.flush()
    except IntegrityError:  # the same inspection sent twice at once
        seen = services._replay(Inspection, data["id"], fp, user, "inspector_id")
        if seen is None:
            raise
        return seen
    by_key = {i["key"]: i for i in data["items"]}
    results = []
    for entry in template.items:  # in the checklist's order
        item = by_key.get(entry["key"])
        if item is None:
            continue
        photos = services.claim(item.get("photo_ids"), user)
        row = {"key": entry["key"], "label": entry["label"], "label_en": entry.get("label_en"),
               "kind": entry.get("kind", "pass_fail"), "result": item["result"], "note": item.get("note"),
               "photo_ids": photos, "hazard_id": None}
        if item["result"] == "fail":
            responsible = item.get("responsible_user_id") or default_responsible
            hazard = services.create_hazard(
                user, site, entry["label"][:200], item.get("severity") or DEFAULT_SEVERITY, photo_ids=photos,
                source=("inspection", inspection.id), deadline=item.get("deadline"),
                responsible_user_id=responsible, description=item.get("note"), item_key=entry["key"], at=at,
                inspection=inspection, commit=False)
            row["hazard_id"] = hazard.id
        results.append(row)
    inspection.items = results
    db.session.commit()
    return inspection


def visible_filter(user):
    return or_(read_scope(user).where(Inspection.site_path), Inspection.inspector_id == user.id)


def get_inspection(inspection_id):
    user = current_user()
    inspection = db.session.get(Inspection, inspection_id)
    if inspection is None or not (inspection.inspector_id == user.id or read_scope(user).covers(inspection.site_path)):
        raise NotFound()
    return inspection


def list_inspections(args):
    user = current_user()
    q = Inspection.query.filter(visible_filter(user))
    if args.get("site_id") is not None:
        q = q.filter(Inspection.site_id == args["site_id"])
    if args.get("mine"):
        q = q.filter(Inspection.inspector_id == user.id)
    return page(q, Inspection.id, args)
