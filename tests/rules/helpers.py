"""Feeding device messages through the real pipeline (store → process_events,
or the signed webhook) and reading back what the rules, alerts and incidents
made of them. Shared by tests/rules and tests/incidents.

Times are seconds after the world's t0. Sending a message moves the app's
clock forward to the message's time (a message is received when it occurs),
never back, so opened_at and response times are exact; `world.advance(s)`
moves the clock for human actions.
"""

import hashlib
import hmac
import itertools
import json
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from api.common.clock import set_clock
from api.extensions import db
from tests import factories as f

SHANGHAI = timezone(timedelta(hours=8))
_msg_seq = itertools.count(1)

# Device keys of a World and their types.
DEVICES = {
    "smoke": "smoke_detector",           # in the household (the tree's own detector)
    "corridor_smoke": "smoke_detector",  # in the building's corridor (site level)
    "electrical": "electrical_monitor",  # B1 distribution room (site level)
    "gas": "gas_detector",               # in the household
    "hydrant": "hydrant_monitor",
    "water": "water_monitor",
    "uitd": "uitd",
    "camera": "video_camera",
}


def _plain(obj):
    """A detached copy of a model row's columns (safe outside the app context)."""
    return SimpleNamespace(**{c.name: getattr(obj, c.name) for c in obj.__table__.columns})


class World:
    """One city tree (site with a household), one device of each kind, one
    person per role, one generic integration, and a movable clock."""

    def __init__(self, app, tag="R"):
        self.app = app
        self.t0 = datetime.now(timezone.utc).replace(microsecond=0)
        self.now = self.t0
        set_clock(app, lambda: self.now)
        with app.app_context():
            t = f.city_tree(tag)
            devices = {"smoke": t["household_device"], "electrical": t["site_device"]}
            devices["corridor_smoke"] = f.device(t["site"], "smoke_detector", location_text="3F 走廊")
            devices["gas"] = f.device(t["household"], "gas_detector", location_text="厨房")
            for key in ("hydrant", "water", "uitd", "camera"):
                devices[key] = f.device(t["site"], DEVICES[key])
            people = f.people_for(t)
            integration = f.integration()
            db.session.commit()
            self.tree = {k: v.id for k, v in t.items()}
            self.site_id, self.household_id = t["site"].id, t["household"].id
            self.grid_id = t["grid"].id
            self.device_id = {k: d.id for k, d in devices.items()}
            self.serial = {k: d.serial for k, d in devices.items()}
            self.people = {role: u.id for role, u in people.items()}
            self.integration = SimpleNamespace(id=integration.id, key_id=integration.key_id,
                                               secret=integration.secret)
            db.session.remove()
        self._tokens = {}

    # --- time -------------------------------------------------------------------

    def at(self, seconds):
        return self.t0 + timedelta(seconds=seconds)

    def advance(self, seconds):
        self.now = self.now + timedelta(seconds=seconds)
        return self.now

    def set_now(self, seconds):
        self.now = self.at(seconds)
        return self.now

    # --- people -----------------------------------------------------------------

    def auth(self, role_or_user_id):
        """Bearer headers for a role of the world (or a user id)."""
        uid = self.people.get(role_or_user_id, role_or_user_id)
        if uid not in self._tokens:
            with self.app.app_context():
                from api.people.models import User

                self._tokens[uid] = f.bearer(db.session.get(User, uid))
                db.session.remove()
        return self._tokens[uid]

    def add_user(self, role, place_key=None):
        with self.app.app_context():
            from api.places.models import Place

            place = db.session.get(Place, self.tree[place_key]) if place_key else None
            u = f.user(role, place=place)
            db.session.commit()
            uid = u.id
            db.session.remove()
        return uid

    def add_site(self, category="high_rise_residential", devices=("smoke_detector",)):
        """Another site under the same grid. Returns (site_id, {type: (device_id, serial)})."""
        with self.app.app_context():
            from api.places.models import Place

            grid = db.session.get(Place, self.grid_id)
            site = f.place("site", grid, category=category)
            out = {}
            for type_code in devices:
                d = f.device(site, type_code)
                out[type_code] = (d.id, d.serial)
            db.session.commit()
            site_id = site.id
            db.session.remove()
        return site_id, out

    # --- messages -----------------------------------------------------------------

    def event(self, device, kind, at=0, values=None, msg_id=None):
        """One message in the generic webhook's shape; `device` is a World key or a serial."""
        serial = self.serial.get(device, device)
        out = {"device": serial, "id": msg_id or f"m{next(_msg_seq)}", "type": kind,
               "at": self.at(at).astimezone(SHANGHAI).isoformat()}
        if values is not None:
            out["values"] = values
        return out

    def send(self, device, kind, at=0, values=None, msg_id=None):
        """Store and process one message. Returns its store result."""
        return self.send_many([self.event(device, kind, at, values, msg_id)])[0]

    def reading(self, device, at=0, **values):
        """A telemetry message, e.g. world.reading("electrical", 10, residual_current_ma=301)."""
        return self.send(device, "telemetry", at, values)

    def send_many(self, events):
        """Store and process a batch through api.ingest.store / processing, as the webhook does."""
        from api.ingest.models import Integration
        from api.ingest.processing import process_events
        from api.ingest.store import parse_time, store

        latest = max(parse_time(e["at"]) for e in events)
        if latest > self.now:
            self.now = latest
        with self.app.app_context():
            integration = db.session.get(Integration, self.integration.id)
            results = store(integration, events)
            process_events([r["event_id"] for r in results if r["status"] == "accepted"])
            db.session.remove()
        return results

    def post_signed(self, client, events, timestamp=None):
        """The same through POST /api/v1/ingest/events with an HMAC signature."""
        body = json.dumps({"events": events}).encode()
        stamp = int(time.time()) if timestamp is None else timestamp
        mac = hmac.new(self.integration.secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        headers = {"X-Integration-Key": self.integration.key_id, "X-Timestamp": str(stamp),
                   "X-Signature": mac, "Content-Type": "application/json"}
        return client.post("/api/v1/ingest/events", data=body, headers=headers)

    # --- reading back -----------------------------------------------------------------

    def _rows(self, model, order, **filters):
        with self.app.app_context():
            out = [_plain(r) for r in model.query.filter_by(**filters).order_by(order).all()]
            db.session.remove()
        return out

    def alerts(self, device=None, **filters):
        from api.alerts.models import Alert

        if device is not None:
            filters["device_id"] = self.device_id.get(device, device)
        return self._rows(Alert, Alert.id, **filters)

    def open_alerts(self, device=None):
        return [a for a in self.alerts(device) if a.closed_at is None]

    def active_conditions(self, device):
        """{condition: level} of the device's active open alerts."""
        return {a.condition: a.level for a in self.open_alerts(device) if a.active}

    def incidents(self, site_id=None):
        from api.incidents.models import Incident

        return self._rows(Incident, Incident.id, site_id=site_id or self.site_id)

    def incident(self, site_id=None):
        """The only incident of the site (fails if there is not exactly one)."""
        rows = self.incidents(site_id)
        assert len(rows) == 1, f"expected one incident, found {len(rows)}"
        return rows[0]

    def timeline(self, incident_id):
        from api.incidents.models import TimelineEntry

        return self._rows(TimelineEntry, TimelineEntry.id, incident_id=incident_id)

    def state(self, device, condition):
        from api.rules.models import ConditionState

        rows = self._rows(ConditionState, ConditionState.id, device_id=self.device_id[device], condition=condition)
        return rows[0] if rows else None

    def device_event(self, event_id):
        from api.ingest.models import DeviceEvent

        return self._rows(DeviceEvent, DeviceEvent.id, id=event_id)[0]

    def default_rule(self, rule_key):
        from api.rules.models import Rule

        rows = self._rows(Rule, Rule.id, rule_key=rule_key, active=True, site_id=None, site_category=None)
        assert len(rows) == 1
        return rows[0]
