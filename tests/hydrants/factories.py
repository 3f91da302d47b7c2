"""Hydrants, reports and work orders for tests, written through the models."""

import itertools
import uuid
from datetime import timedelta

from api.common.clock import utcnow
from api.extensions import db
from api.hydrants.models import Hydrant, HydrantReport, WorkOrder
from api.places.models import Organisation, OrgCoverage

_seq = itertools.count(1)


def maintenance_company_of(place):
    """The maintenance company covering `place` (city_tree gives its site one)."""
    return (Organisation.query.join(OrgCoverage, OrgCoverage.org_id == Organisation.id)
            .filter(OrgCoverage.place_id == place.id, Organisation.kind == "maintenance_company").first())


def hydrant(place, org=None, lat=27.1136, lng=114.9795, **fields):
    n = next(_seq)
    h = Hydrant(code=fields.pop("code", f"XHS-T{n:05d}"), kind=fields.pop("kind", "above_ground"),
                ownership=fields.pop("ownership", "municipal"), lat=lat, lng=lng, place_id=place.id,
                place_path=place.path, maintainer_org_id=org.id if org else None,
                status=fields.pop("status", "normal"), **fields)
    db.session.add(h)
    db.session.flush()
    return h


def report(h, reporter, category="leaking", deadline_days=2):
    now = utcnow()
    r = HydrantReport(client_id=str(uuid.uuid4()), fingerprint="x" * 64, hydrant_id=h.id if h else None,
                      reporter_id=reporter.id if reporter else None, category=category, photo_ids=[],
                      place_path=h.place_path if h else None, at=now, created_at=now)
    db.session.add(r)
    db.session.flush()
    wo = WorkOrder(report_id=r.id, hydrant_id=r.hydrant_id, maintainer_org_id=h.maintainer_org_id if h else None,
                   place_path=r.place_path, status="open", deadline=now + timedelta(days=deadline_days),
                   created_at=now, updated_at=now)
    db.session.add(wo)
    db.session.flush()
    return r, wo


def site_hydrant(site, household=None):
    """A hydrant at a city_tree site, kept by the site's maintenance company (for the scope matrix)."""
    return hydrant(site, maintenance_company_of(site))


def site_report(site, household=None):
    from tests import factories as f

    h = site_hydrant(site)
    return report(h, f.user("grid_worker", place=site))[0]


def site_work_order(site, household=None):
    from tests import factories as f

    h = site_hydrant(site)
    return report(h, f.user("grid_worker", place=site))[1]
