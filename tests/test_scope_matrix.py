"""Every endpoint × every role, against an object in the caller's scope and one
outside it. Outside answers exactly as a non-existent id would (404, or the
same field error), and nothing outside is read or changed.

Two cities are built: A, where each role holds its membership, and B, where
nobody but the admin sees anything. `test_matrix_covers_every_endpoint` fails
when an endpoint is added without a row here.
"""

import uuid
from dataclasses import dataclass, field
from typing import Callable, Optional

import pytest

from api.extensions import db
from tests import factories as f

ROLES = list(f.ROLE_SCOPE)
MISSING = 999_999


class World:
    def __init__(self, app):
        with app.app_context():
            a, b = f.city_tree("A"), f.city_tree("B")
            people = f.people_for(a)
            for tree in (a, b):
                tree["incident"] = f.incident(tree["site"], tree["household_device"])
                tree["alert"] = tree["incident"].alerts[0] if tree["incident"].alerts else None
            integration = f.integration()
            db.session.commit()
            self.integration = integration.id
            self.A = {k: v.id for k, v in a.items() if v is not None}
            self.B = {k: v.id for k, v in b.items() if v is not None}
            self.codes = {"A": {k: getattr(v, "code", None) for k, v in a.items()},
                          "B": {k: getattr(v, "code", None) for k, v in b.items()}}
            self.people = {role: u.id for role, u in people.items()}
            other = f.user("resident", place=b["household"])
            db.session.commit()
            self.B_user = other.id
            self.B_membership = other.memberships[0].id
            self.A_user = people["resident"].id
            self.A_membership = people["resident"].memberships[0].id
            self.tokens = {role: f.token_for(u) for role, u in people.items()}
        self.app = app

    def side(self, side):
        return self.A if side == "A" else self.B

    def auth(self, role):
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def fresh(self, side, builder):
        """A new object in city A or B, for calls that consume their target."""
        with self.app.app_context():
            from api.places.models import Place

            site = db.session.get(Place, self.side(side)["site"])
            household = db.session.get(Place, self.side(side)["household"])
            obj = builder(site, household)
            db.session.commit()
            return obj.id


def _household(site, household):
    return f.place("household", site, floor=9)


def _device(site, household):
    return f.device(household, "gas_detector")


@dataclass
class Case:
    method: str
    rule: str
    kind: str  # read | write | list | create | global | public
    url: Callable  # (world, side) -> url
    body: Optional[Callable] = None  # (world, side) -> json
    ok: dict = field(default_factory=dict)  # role -> status for the in-scope object
    listed: Optional[str] = None  # for lists: which key of the tree must (not) appear
    fresh: Optional[Callable] = None  # builder for consumed targets
    table: Optional[str] = None  # table whose row count a create must not change
    raw: Optional[Callable] = None  # (world, side) -> (data, content_type)


def everyone(status):
    return {r: status for r in ROLES}


def only(roles, status, others):
    return {r: (status if r in roles else others) for r in ROLES}


def csv_body(w, side):
    code = w.codes[side]["household"]
    return (f"serial,type,place\nCSV-{side}-{uuid.uuid4().hex[:8]},smoke_detector,{code}\n".encode(), "text/csv")


CASES = [
    Case("post", "/api/v1/auth/login", "public", lambda w, s: "/api/v1/auth/login"),
    Case("post", "/api/v1/auth/otp", "public", lambda w, s: "/api/v1/auth/otp"),
    Case("post", "/api/v1/auth/refresh", "public", lambda w, s: "/api/v1/auth/refresh"),
    Case("post", "/api/v1/auth/logout", "global", lambda w, s: "/api/v1/auth/logout", ok=everyone(204)),
    Case("get", "/api/health", "public", lambda w, s: "/api/health"),
    Case("get", "/api/v1/me", "global", lambda w, s: "/api/v1/me", ok=everyone(200)),
    Case("patch", "/api/v1/me", "global", lambda w, s: "/api/v1/me", body=lambda w, s: {"locale": "en"},
         ok=everyone(200)),
    # places
    Case("get", "/api/v1/places", "list", lambda w, s: "/api/v1/places?limit=500", ok=everyone(200),
         listed="household"),
    Case("post", "/api/v1/places", "create", lambda w, s: "/api/v1/places",
         body=lambda w, s: {"kind": "household", "parent_id": w.side(s)["site"] if s else MISSING,
                            "code": f"new-{s}", "name": "9-901"},
         ok={**only(["admin"], 201, 403), "resident": 404}, table="places"),
    Case("get", "/api/v1/places/<int:place_id>", "read",
         lambda w, s: f"/api/v1/places/{w.side(s)['household']}", ok=everyone(200)),
    Case("patch", "/api/v1/places/<int:place_id>", "write",
         lambda w, s: f"/api/v1/places/{w.side(s)['household']}", body=lambda w, s: {"name": "changed"},
         ok=only(["admin"], 200, 403)),
    Case("delete", "/api/v1/places/<int:place_id>", "write",
         lambda w, s: f"/api/v1/places/{w.fresh(s, _household)}",
         ok={**only(["admin"], 204, 403), "resident": 404},
         fresh=_household),
    Case("get", "/api/v1/site-categories", "global", lambda w, s: "/api/v1/site-categories", ok=everyone(200)),
    # organisations
    Case("get", "/api/v1/organisations", "list", lambda w, s: "/api/v1/organisations?limit=500",
         ok=everyone(200), listed="micro_station"),
    Case("post", "/api/v1/organisations", "create", lambda w, s: "/api/v1/organisations",
         body=lambda w, s: {"kind": "micro_station", "name": "新站",
                            "place_ids": [w.side(s)["community"] if s else MISSING]},
         ok=only(["admin"], 201, 403), table="organisations"),
    Case("get", "/api/v1/organisations/<int:org_id>", "read",
         lambda w, s: f"/api/v1/organisations/{w.side(s)['micro_station']}", ok=everyone(200)),
    Case("patch", "/api/v1/organisations/<int:org_id>", "write",
         lambda w, s: f"/api/v1/organisations/{w.side(s)['micro_station']}", body=lambda w, s: {"name": "改名"},
         ok=only(["admin"], 200, 403)),
    # people (accounts are visible to admins only)
    Case("get", "/api/v1/users", "global", lambda w, s: "/api/v1/users", ok=only(["admin"], 200, 403)),
    Case("post", "/api/v1/users", "create", lambda w, s: "/api/v1/users",
         body=lambda w, s: {"phone": "13700001111", "name": "新人",
                            "memberships": [{"role": "resident",
                                             "place_id": w.side(s)["household"] if s else MISSING}]},
         ok=only(["admin"], 201, 403), table="users"),
    Case("get", "/api/v1/users/<int:user_id>", "read",
         lambda w, s: f"/api/v1/users/{w.A_user if s == 'A' else w.B_user}", ok=only(["admin"], 200, 404)),
    Case("patch", "/api/v1/users/<int:user_id>", "write",
         lambda w, s: f"/api/v1/users/{w.A_user if s == 'A' else w.B_user}", body=lambda w, s: {"name": "x"},
         ok=only(["admin"], 200, 404)),
    Case("post", "/api/v1/users/<int:user_id>/memberships", "write",
         lambda w, s: f"/api/v1/users/{w.A_user if s == 'A' else w.B_user}/memberships",
         body=lambda w, s: {"role": "supervisor", "place_id": w.side(s)["district"]},
         ok=only(["admin"], 201, 404)),
    Case("delete", "/api/v1/users/<int:user_id>/memberships/<int:membership_id>", "write",
         lambda w, s: (f"/api/v1/users/{w.A_user}/memberships/{w.A_membership}" if s == "A"
                       else f"/api/v1/users/{w.B_user}/memberships/{w.B_membership}"),
         ok=only(["admin"], 204, 404)),
    # devices
    Case("get", "/api/v1/devices", "list", lambda w, s: "/api/v1/devices?limit=500", ok=everyone(200),
         listed="household_device"),
    Case("post", "/api/v1/devices", "create", lambda w, s: "/api/v1/devices",
         body=lambda w, s: {"serial": f"NEW-{s}-{uuid.uuid4().hex[:8]}", "type_code": "smoke_detector",
                            "place_id": w.side(s)["household"] if s else MISSING},
         ok=only(["admin", "operator"], 201, 403), table="devices"),
    Case("post", "/api/v1/devices/import", "create", lambda w, s: "/api/v1/devices/import",
         raw=lambda w, s: csv_body(w, s) if s else (b"serial,type,place\nCSV-X-1,smoke_detector,nowhere\n",
                                                     "text/csv"),
         ok=only(["admin", "operator"], 200, 403), table="devices"),
    Case("get", "/api/v1/devices/<int:device_id>", "read",
         lambda w, s: f"/api/v1/devices/{w.side(s)['household_device']}", ok=everyone(200)),
    Case("patch", "/api/v1/devices/<int:device_id>", "write",
         lambda w, s: f"/api/v1/devices/{w.side(s)['household_device']}",
         body=lambda w, s: {"location_text": "卧室"}, ok=only(["admin", "operator"], 200, 403)),
    Case("delete", "/api/v1/devices/<int:device_id>", "write",
         lambda w, s: f"/api/v1/devices/{w.fresh(s, _device)}", ok=only(["admin", "operator"], 204, 403),
         fresh=_device),
    Case("get", "/api/v1/device-types", "global", lambda w, s: "/api/v1/device-types", ok=everyone(200)),
    Case("patch", "/api/v1/device-types/<string:code>", "global",
         lambda w, s: "/api/v1/device-types/smoke_detector", body=lambda w, s: {"heartbeat_seconds": 86400},
         ok=only(["admin"], 200, 403)),
    Case("get", "/api/v1/installation-standard", "global", lambda w, s: "/api/v1/installation-standard",
         ok=everyone(200)),
    Case("put", "/api/v1/installation-standard", "global", lambda w, s: "/api/v1/installation-standard",
         body=lambda w, s: {"category": "dormitory", "equipment": "uitd", "requirement": "O"},
         ok=only(["admin"], 200, 403)),
]

# For each list, the objects of the tree that live in the listed table.
LIST_KEYS = {
    "household": ("city", "district", "street", "community", "grid", "site", "household"),
    "household_device": ("household_device", "site_device"),
    "micro_station": ("property_company", "micro_station", "maintenance_company", "industry_department"),
    "incident": ("incident",),
    "alert": ("alert",),
}

def _alert_id(w, s):
    from api.alerts.models import Alert

    with w.app.app_context():
        return Alert.query.filter_by(incident_id=w.side(s)["incident"]).first().id


def _default_rule_id(w, s):
    from api.rules.models import Rule

    with w.app.app_context():
        return Rule.query.filter_by(rule_key="residual_current", active=True).first().id


ADMIN_ONLY = only(["admin"], 200, 403)
ACTORS = ["resident", "property_staff", "grid_worker", "station_member", "operator", "admin"]
RULE_READERS = ["admin", "operator", "supervisor", "maintainer"]

CASES += [
    # device messages: signed per integration, no user login
    Case("post", "/api/v1/ingest/events", "public", lambda w, s: "/api/v1/ingest/events"),
    Case("get", "/api/v1/ingest/onenet/<string:key_id>", "public", lambda w, s: "/api/v1/ingest/onenet/x"),
    Case("post", "/api/v1/ingest/onenet/<string:key_id>", "public", lambda w, s: "/api/v1/ingest/onenet/x"),
    Case("post", "/api/v1/ingest/ctwing/<string:key_id>/<string:secret>", "public",
         lambda w, s: "/api/v1/ingest/ctwing/x/y"),
    # integrations: admins only
    Case("get", "/api/v1/integrations", "global", lambda w, s: "/api/v1/integrations", ok=ADMIN_ONLY),
    Case("post", "/api/v1/integrations", "global", lambda w, s: "/api/v1/integrations",
         body=lambda w, s: {"kind": "generic", "name": "新厂商"}, ok=only(["admin"], 201, 403)),
    Case("get", "/api/v1/integrations/<int:integration_id>", "global",
         lambda w, s: f"/api/v1/integrations/{w.integration}", ok=ADMIN_ONLY),
    Case("patch", "/api/v1/integrations/<int:integration_id>", "global",
         lambda w, s: f"/api/v1/integrations/{w.integration}", body=lambda w, s: {"name": "改名"}, ok=ADMIN_ONLY),
    Case("get", "/api/v1/integrations/<int:integration_id>/health", "global",
         lambda w, s: f"/api/v1/integrations/{w.integration}/health", ok=ADMIN_ONLY),
    Case("get", "/api/v1/ingest/unregistered", "global", lambda w, s: "/api/v1/ingest/unregistered", ok=ADMIN_ONLY),
    # rules
    Case("get", "/api/v1/rules", "global", lambda w, s: "/api/v1/rules", ok=only(RULE_READERS, 200, 403)),
    Case("post", "/api/v1/rules", "create", lambda w, s: "/api/v1/rules",
         body=lambda w, s: {"base_rule_id": _default_rule_id(w, s),
                            "site_id": w.side(s)["site"] if s else MISSING, "threshold": 200,
                            "clear_threshold": 180},
         ok=only(["admin"], 201, 403), table="rules"),
    Case("get", "/api/v1/rules/<int:rule_id>", "global", lambda w, s: f"/api/v1/rules/{_default_rule_id(w, s)}",
         ok=only(RULE_READERS, 200, 403)),
    Case("patch", "/api/v1/rules/<int:rule_id>", "global", lambda w, s: f"/api/v1/rules/{_default_rule_id(w, s)}",
         body=lambda w, s: {"threshold": 310}, ok=ADMIN_ONLY),
    # incidents and alerts
    Case("get", "/api/v1/incidents", "list", lambda w, s: "/api/v1/incidents?limit=500", ok=everyone(200),
         listed="incident"),
    Case("get", "/api/v1/incidents/<int:incident_id>", "read",
         lambda w, s: f"/api/v1/incidents/{w.side(s)['incident']}", ok=everyone(200)),
    Case("post", "/api/v1/incidents/<int:incident_id>/acknowledge", "write",
         lambda w, s: f"/api/v1/incidents/{w.side(s)['incident']}/acknowledge", ok=only(ACTORS, 200, 403)),
    Case("post", "/api/v1/incidents/<int:incident_id>/on-scene", "write",
         lambda w, s: f"/api/v1/incidents/{w.side(s)['incident']}/on-scene", ok=only(ACTORS, 200, 403)),
    Case("post", "/api/v1/incidents/<int:incident_id>/confirm-fire", "write",
         lambda w, s: f"/api/v1/incidents/{w.side(s)['incident']}/confirm-fire", ok=only(ACTORS, 200, 403)),
    Case("post", "/api/v1/incidents/<int:incident_id>/close", "write",
         lambda w, s: f"/api/v1/incidents/{w.side(s)['incident']}/close",
         body=lambda w, s: {"outcome": "false_alarm", "reason": "cooking"}, ok=only(ACTORS, 200, 403)),
    Case("get", "/api/v1/alerts", "list", lambda w, s: "/api/v1/alerts?limit=500", ok=everyone(200),
         listed="alert"),
    Case("get", "/api/v1/alerts/<int:alert_id>", "read",
         lambda w, s: f"/api/v1/alerts/{_alert_id(w, s)}", ok=everyone(200)),
    Case("post", "/api/v1/devices/<int:device_id>/power-off", "write",
         lambda w, s: f"/api/v1/devices/{w.side(s)['site_device']}/power-off", body=lambda w, s: {"confirm": True},
         ok={**only(["operator", "property_staff", "admin"], 202, 403), "resident": 404}),
    Case("get", "/api/v1/devices/<int:device_id>/commands", "read",
         lambda w, s: f"/api/v1/devices/{w.side(s)['household_device']}/commands", ok=everyone(200)),
    Case("get", "/api/v1/device-health", "global", lambda w, s: "/api/v1/device-health", ok=everyone(200)),
    # notifications
    Case("get", "/api/v1/push/vapid-public-key", "public", lambda w, s: "/api/v1/push/vapid-public-key"),
    Case("post", "/api/v1/push/receipts", "public", lambda w, s: "/api/v1/push/receipts"),
    Case("post", "/api/v1/push/actions", "public", lambda w, s: "/api/v1/push/actions"),
    Case("get", "/api/v1/push/subscriptions", "global", lambda w, s: "/api/v1/push/subscriptions",
         ok=everyone(200)),
    Case("post", "/api/v1/push/subscriptions", "global", lambda w, s: "/api/v1/push/subscriptions",
         body=lambda w, s: {"endpoint": "https://push.example.cn/sub/1",
                            "keys": {"p256dh": "B" + "x" * 86, "auth": "a" * 22}}, ok=everyone(201)),
    Case("delete", "/api/v1/push/subscriptions", "global", lambda w, s: "/api/v1/push/subscriptions",
         body=lambda w, s: {"endpoint": "https://push.example.cn/none"}, ok=everyone(404)),
    Case("get", "/api/v1/escalation-policies", "global", lambda w, s: "/api/v1/escalation-policies",
         ok=only(["admin", "operator"], 200, 403)),
    Case("put", "/api/v1/escalation-policies", "global", lambda w, s: "/api/v1/escalation-policies",
         body=lambda w, s: {"place_id": w.side(s)["community"], "steps": [
             {"delay_s": 0, "notify": [{"tier": "residents", "channels": ["push", "sms"]}]}]},
         ok=ADMIN_ONLY),
    Case("post", "/api/v1/me/test-alarm", "global", lambda w, s: "/api/v1/me/test-alarm", ok=everyone(409)),
    Case("get", "/api/v1/me/notifications", "global", lambda w, s: "/api/v1/me/notifications", ok=everyone(200)),
    Case("get", "/api/v1/incidents/<int:incident_id>/notifications", "read",
         lambda w, s: f"/api/v1/incidents/{w.side(s)['incident']}/notifications", ok=everyone(200)),
    Case("post", "/api/v1/alerts/<int:alert_id>/acknowledge", "write",
         lambda w, s: f"/api/v1/alerts/{_alert_id(w, s)}/acknowledge",
         ok=only(ACTORS + ["maintainer"], 200, 403)),
    # delivery reports from SMS providers: a secret in the path, no user login
    Case("post", "/api/v1/notify/callbacks/aliyun-sms/<string:secret>", "public",
         lambda w, s: "/api/v1/notify/callbacks/aliyun-sms/x"),
    Case("post", "/api/v1/notify/callbacks/tencent-sms/<string:secret>", "public",
         lambda w, s: "/api/v1/notify/callbacks/tencent-sms/x"),
]


def _domain_cases():
    """Later domains keep their rows next to their tests: `tests/<domain>/scope_cases.py`
    defines `cases(m)`, given this module (Case, everyone, only, World.fresh, f…)."""
    import importlib
    import sys

    out = []
    for domain in ("notices", "photos", "hydrants", "hazards", "patrols"):
        try:
            module = importlib.import_module(f"tests.{domain}.scope_cases")
        except ModuleNotFoundError as exc:
            if exc.name not in (f"tests.{domain}", f"tests.{domain}.scope_cases"):
                raise
            continue
        out += module.cases(sys.modules[__name__])
    return out


CASES += _domain_cases()

SKIP_RULES = {"/api/openapi.json", "/api/docs", "/api/docs/assets/<path:filename>", "/api/docs/init.js"}


def test_matrix_covers_every_endpoint(app):
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api") or rule.rule in SKIP_RULES:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method.lower(), rule.rule))
    assert routes == {(c.method, c.rule) for c in CASES}


def _call(client, world, case, role, side, url=None):
    kwargs = {"headers": world.auth(role)}
    if case.raw:
        data, ctype = case.raw(world, side)
        kwargs.update(data=data, content_type=ctype)
    elif case.body:
        kwargs["json"] = case.body(world, side)
    return getattr(client, case.method)(url or case.url(world, side), **kwargs)


def _snapshot(app, case, world, side):
    """What an out-of-scope call must leave untouched."""
    from sqlalchemy import text

    with app.app_context():
        rows = {}
        for table in ("places", "devices", "organisations", "users", "memberships", "org_coverage"):
            rows[table] = db.session.execute(text(f"SELECT * FROM {table} ORDER BY id")).all()
        return rows


SCOPED = [c for c in CASES if c.kind in ("read", "write", "list", "create")]


@pytest.mark.parametrize("case", SCOPED, ids=lambda c: f"{c.method} {c.rule}")
def test_out_of_scope_is_invisible_and_untouched(app, client, case):
    world = World(app)
    for role in ROLES:
        if role == "admin":
            continue
        url = case.url(world, "B")  # may create the target: before the snapshot
        before = _snapshot(app, case, world, "B")
        resp = _call(client, world, case, role, "B", url)
        after = _snapshot(app, case, world, "B")
        assert after == before, f"{role} changed data outside their scope via {case.method} {case.rule}"
        body = resp.get_json()
        if case.kind == "list":
            assert resp.status_code == 200
            ids = {item["id"] for item in body["items"]}
            b_ids = {world.B[k] for k in LIST_KEYS[case.listed]}
            assert not ids & b_ids, f"{role} sees city B's objects in {case.rule}"
        elif case.kind in ("read", "write"):
            assert resp.status_code == 404, f"{role} {case.method} {case.rule}: {resp.status_code} {body}"
            assert body["code"] == "not_found"
        elif case.kind == "create":
            missing = _call(client, world, case, role, None)
            assert resp.status_code in (403, 404, 422), body
            other = missing.get_json()
            assert (resp.status_code, body["code"], _shape(body["errors"])) == (
                missing.status_code, other["code"], _shape(other["errors"])
            ), f"{role}: out-of-scope reference answers differently from a missing one"


def _shape(errors):
    """The fields at fault (and rows, for imports), without the echoed values."""
    if isinstance(errors, dict) and "rows" in errors:
        return [sorted(r["errors"]) for r in errors["rows"]]
    return sorted(errors) if isinstance(errors, dict) else errors


READ_ONLY = ("read", "list")


@pytest.mark.parametrize("case", [c for c in CASES if c.kind != "public"], ids=lambda c: f"{c.method} {c.rule}")
def test_in_scope_answers_per_role(app, client, case):
    """Each role against city A's object. Reads share one world; a call that may
    change its target gets a fresh world per role."""
    shared = World(app) if case.method == "get" else None
    failures = []
    for role in ROLES:
        world = shared or World(app)
        resp = _call(client, world, case, role, "A")
        expected = case.ok[role]
        if resp.status_code != expected:
            failures.append(f"{role}: {resp.status_code} (expected {expected}) {resp.get_json()}")
            continue
        if case.kind == "list":
            ids = {item["id"] for item in resp.get_json()["items"]}
            if world.A[case.listed] not in ids:
                failures.append(f"{role}: city A's {case.listed} missing from the list")
    assert not failures, f"{case.method} {case.rule}:\n" + "\n".join(failures)


def test_admin_sees_both_cities(app, client):
    world = World(app)
    h = world.auth("admin")
    for side in ("A", "B"):
        assert client.get(f"/api/v1/devices/{world.side(side)['household_device']}", headers=h).status_code == 200
        assert client.get(f"/api/v1/places/{world.side(side)['site']}", headers=h).status_code == 200
    ids = {d["id"] for d in client.get("/api/v1/devices?limit=500", headers=h).get_json()["items"]}
    assert {world.A["household_device"], world.B["household_device"]} <= ids


def test_lists_hold_exactly_the_callers_subtree(app, client):
    """The resident sees their household's device only, not the site's corridor devices."""
    world = World(app)
    items = client.get("/api/v1/devices?limit=500", headers=world.auth("resident")).get_json()["items"]
    assert [d["id"] for d in items] == [world.A["household_device"]]
    items = client.get("/api/v1/devices?limit=500", headers=world.auth("grid_worker")).get_json()["items"]
    assert {d["id"] for d in items} == {world.A["household_device"], world.A["site_device"]}
