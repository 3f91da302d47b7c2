"""Patrol plans and records for tests, written through the models."""

import itertools
import uuid

from api.extensions import db
from api.patrols.models import Checkpoint, PatrolAssignee, PatrolPlan, PatrolRecord
from api.patrols.periods import period_of

_seq = itertools.count(1)
ITEMS = [{"key": "extinguisher", "label": "灭火器压力正常", "label_en": "Extinguisher pressure normal",
          "kind": "pass_fail"},
         {"key": "exit_clear", "label": "疏散通道畅通", "label_en": "Exit route clear", "kind": "pass_fail"},
         {"key": "remark", "label": "备注", "label_en": "Remark", "kind": "note"}]
DAILY = {"kind": "daily", "start": "08:00", "end": "10:00"}


def plan(place, checkpoints=3, frequency=None, created_by=None, roles=(), user_ids=(), created_at=None, **fields):
    n = next(_seq)
    p = PatrolPlan(place_id=place.id, place_path=place.path, name=fields.pop("name", f"巡查计划 {n}"),
                   frequency=frequency or dict(DAILY), assignee_roles=list(roles),
                   created_by=getattr(created_by, "id", created_by), **fields)
    if created_at is not None:
        p.created_at = created_at
    for i in range(checkpoints):
        p.checkpoints.append(Checkpoint(position=i + 1, name=f"巡查点 {i + 1}", lat=27.11 + i * 0.001, lng=114.99,
                                        radius_m=30.0, items=[dict(x) for x in ITEMS]))
    for u in user_ids:
        p.assignees.append(PatrolAssignee(user_id=getattr(u, "id", u)))
    db.session.add(p)
    db.session.flush()
    return p


def record(checkpoint, user, at, items=None, **fields):
    """A scan, as the service would store it (period from `at`)."""
    pl = checkpoint.plan
    period = period_of(pl.frequency, at)
    r = PatrolRecord(id=fields.pop("id", str(uuid.uuid4())), request_hash="test", user_id=getattr(user, "id", user),
                     plan_id=pl.id, checkpoint_id=checkpoint.id, place_path=pl.place_path, at=at,
                     period_start=period.start if period else None, period_label=period.label if period else None,
                     items=items if items is not None else [{"key": "extinguisher", "result": "pass"}],
                     created_at=fields.pop("created_at", at), **fields)
    db.session.add(r)
    db.session.flush()
    return r
