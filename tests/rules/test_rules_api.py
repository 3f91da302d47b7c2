"""Rules as data: overrides per site category and per site (most specific
wins), versions on every change, the standards' ranges, and who may edit."""

import pytest


def _rules(client, world, **query):
    resp = client.get("/api/v1/rules", query_string={"limit": 500, **query}, headers=world.auth("admin"))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["items"]


def _override(client, world, **body):
    return client.post("/api/v1/rules", json=body, headers=world.auth("admin"))


def _raised(world, device, value, at):
    world.reading(device, at, residual_current_ma=value)
    world.reading(device, at + 10, residual_current_ma=value)


# --- overrides --------------------------------------------------------------------

def test_a_site_category_override_changes_the_threshold_for_sites_of_that_category_only(world, client):
    base = world.default_rule("residual_current")
    dorm_id, dorm = world.add_site("dormitory", ("electrical_monitor",))
    resp = _override(client, world, base_rule_id=base.id, site_category="dormitory",
                     threshold=100, clear_threshold=90)
    assert resp.status_code == 201, resp.get_json()
    rule = resp.get_json()
    assert (rule["rule_key"], rule["site_category"], rule["site_id"], rule["threshold"], rule["version"]) == \
           ("residual_current", "dormitory", None, 100, 1)
    assert rule["duration_s"] == 10 and rule["level"] == 2  # the rest comes from the default

    _raised(world, dorm["electrical_monitor"][1], 150, 0)
    _raised(world, "electrical", 150, 0)  # the world's site is high-rise residential: default 300 mA
    assert world.active_conditions(dorm["electrical_monitor"][0]) == {"residual_current": 2}
    assert world.active_conditions("electrical") == {}
    [alert] = world.alerts(dorm["electrical_monitor"][0])
    assert alert.rule_id == rule["id"]


def test_a_site_override_beats_the_category_override_and_the_default(world, client):
    base = world.default_rule("residual_current")
    other_id, other = world.add_site("high_rise_residential", ("electrical_monitor",))
    plain_id, plain = world.add_site("low_rise_residential", ("electrical_monitor",))
    assert _override(client, world, base_rule_id=base.id, site_category="high_rise_residential",
                     threshold=200, clear_threshold=180).status_code == 201
    resp = _override(client, world, base_rule_id=base.id, site_id=world.site_id, threshold=100, clear_threshold=90)
    assert resp.status_code == 201, resp.get_json()

    for at, value in ((0, 150), (100, 250)):
        _raised(world, "electrical", value, at)
        _raised(world, other["electrical_monitor"][1], value, at)
        _raised(world, plain["electrical_monitor"][1], value, at)
        world.reading("electrical", at + 50, residual_current_ma=0)
        world.reading(other["electrical_monitor"][1], at + 50, residual_current_ma=0)
        world.reading(plain["electrical_monitor"][1], at + 50, residual_current_ma=0)
    # 150 mA: over the site's 100 only; 250 mA: over the category's 200 too; never over the default 300
    [here] = world.alerts("electrical")
    assert (here.first_at, here.raised_at, here.count) == (world.at(10), world.at(110), 2)
    [same_category] = world.alerts(other["electrical_monitor"][0])
    assert (same_category.first_at, same_category.count) == (world.at(110), 1)
    assert world.alerts(plain["electrical_monitor"][0]) == []


def test_an_override_for_another_site_does_not_change_this_site(world, client):
    base = world.default_rule("smoke")
    other_id, _ = world.add_site()
    resp = _override(client, world, base_rule_id=base.id, site_id=other_id, level=1)
    assert resp.status_code == 201
    world.send("smoke", "smoke_alarm", 0)
    assert world.incident().level == 2
    assert world.alerts("smoke")[0].rule_id == base.id


def test_a_second_override_for_the_same_scope_is_refused(world, client):
    base = world.default_rule("residual_current")
    body = dict(base_rule_id=base.id, site_id=world.site_id, threshold=400)
    assert _override(client, world, **body).status_code == 201
    resp = _override(client, world, **body)
    assert resp.status_code == 409 and "base_rule_id" in resp.get_json()["errors"]


@pytest.mark.parametrize("body,field", [
    ({"site_category": "dormitory", "site_id": "SITE"}, "site_id"),
    ({}, "site_id"),
    ({"site_category": "moon_base"}, "site_category"),
    ({"site_id": "HOUSEHOLD"}, "site_id"),
    ({"site_id": 999999}, "site_id"),
])
def test_an_override_needs_exactly_one_real_site_or_category(world, client, body, field):
    base = world.default_rule("smoke")
    ids = {"SITE": world.site_id, "HOUSEHOLD": world.household_id}
    body = {k: ids.get(v, v) for k, v in body.items()}
    resp = _override(client, world, base_rule_id=base.id, **body)
    assert resp.status_code == 422 and field in resp.get_json()["errors"]


# --- versions -------------------------------------------------------------------------

def test_patch_writes_a_new_version_and_retires_the_old_one(world, client):
    old = world.default_rule("residual_current")
    world.set_now(0)
    resp = client.patch(f"/api/v1/rules/{old.id}", json={"threshold": 500}, headers=world.auth("admin"))
    assert resp.status_code == 200, resp.get_json()
    new = resp.get_json()
    assert new["id"] != old.id and new["version"] == 2 and new["active"] is True
    assert (new["rule_key"], new["threshold"], new["clear_threshold"]) == ("residual_current", 500, 270)

    active = [r for r in _rules(client, world, device_type="electrical_monitor") if r["rule_key"] == "residual_current"]
    assert [r["id"] for r in active] == [new["id"]]
    versions = [r for r in _rules(client, world, device_type="electrical_monitor", include_retired="true")
                if r["rule_key"] == "residual_current"]
    assert [(r["version"], r["active"]) for r in versions] == [(1, False), (2, True)]
    assert versions[0]["retired_at"] is not None

    again = client.patch(f"/api/v1/rules/{old.id}", json={"threshold": 400}, headers=world.auth("admin"))
    assert again.status_code == 409, "a retired version was changed"


def test_the_new_version_is_what_judges_the_next_readings(world, client):
    old = world.default_rule("residual_current")
    assert client.patch(f"/api/v1/rules/{old.id}", json={"threshold": 500},
                        headers=world.auth("admin")).status_code == 200
    _raised(world, "electrical", 400, 0)
    assert world.active_conditions("electrical") == {}
    _raised(world, "electrical", 500, 20)
    assert world.active_conditions("electrical") == {"residual_current": 2}


def test_include_retired_keeps_the_device_type_filter(world, client):
    old = world.default_rule("smoke")
    client.patch(f"/api/v1/rules/{old.id}", json={"level": 1}, headers=world.auth("admin"))
    rows = _rules(client, world, device_type="smoke_detector", include_retired="true")
    assert {r["device_type"] for r in rows} == {"smoke_detector"}
    assert [r["version"] for r in rows if r["rule_key"] == "smoke"] == [1, 2]


def test_disabling_a_rule_stops_it_raising(world, client):
    old = world.default_rule("smoke_low_battery")
    assert client.patch(f"/api/v1/rules/{old.id}", json={"active": False},
                        headers=world.auth("admin")).status_code == 200
    world.send("smoke", "low_battery", 0)
    assert world.alerts("smoke") == []


def test_a_disabled_rule_can_be_enabled_again(world, client):
    old = world.default_rule("smoke_low_battery")
    disabled = client.patch(f"/api/v1/rules/{old.id}", json={"active": False}, headers=world.auth("admin")).get_json()
    still_off = client.patch(f"/api/v1/rules/{disabled['id']}", json={"level": 3}, headers=world.auth("admin"))
    assert still_off.status_code == 200, still_off.get_json()
    assert (still_off.get_json()["version"], still_off.get_json()["active"]) == (3, False)
    resp = client.patch(f"/api/v1/rules/{still_off.get_json()['id']}", json={"active": True},
                        headers=world.auth("admin"))
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["version"], resp.get_json()["active"], resp.get_json()["level"]) == (4, True, 3)
    world.send("smoke", "low_battery", 0)
    assert world.active_conditions("smoke") == {"low_battery": 3}
    versions = [r for r in _rules(client, world, device_type="smoke_detector", include_retired="true")
                if r["rule_key"] == "smoke_low_battery"]
    assert [(r["version"], r["active"], r["retired_at"] is not None) for r in versions] == \
           [(1, False, True), (2, False, True), (3, False, True), (4, True, False)]


# --- validation -------------------------------------------------------------------------

@pytest.mark.parametrize("rule_key,body,field", [
    ("residual_current", {"threshold": 10}, "threshold"),
    ("residual_current", {"threshold": 2000}, "threshold"),
    ("residual_current", {"threshold": 19, "clear_threshold": 10}, "threshold"),
    ("cable_temp", {"threshold": 50}, "threshold"),
    ("cable_temp", {"threshold": 150}, "threshold"),
    ("gas_lel_high", {"threshold": 60}, "threshold"),
    ("residual_current", {"clear_threshold": 310}, "clear_threshold"),          # gte: clears above the alarm
    ("residual_current", {"threshold": 250}, "clear_threshold"),               # kept clear 270 now above it
    ("hydrant_pressure_low", {"clear_threshold": 0.13}, "clear_threshold"),     # lt: clears below the alarm
    ("residual_current", {"threshold": None}, "threshold"),
    ("residual_current", {"duration_s": -1}, "duration_s"),
    ("residual_current", {"duration_s": 7200}, "duration_s"),
    ("smoke", {"level": 5}, "level"),
])
def test_settings_outside_the_standards_ranges_are_refused_with_the_field_named(world, client, rule_key, body, field):
    rule = world.default_rule(rule_key)
    resp = client.patch(f"/api/v1/rules/{rule.id}", json=body, headers=world.auth("admin"))
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["errors"]
    assert world.default_rule(rule_key).id == rule.id, "a refused change still retired the rule"


@pytest.mark.parametrize("rule_key,threshold,clear", [
    ("residual_current", 20, 20), ("residual_current", 1000, 900), ("cable_temp", 55, 50), ("cable_temp", 140, 130),
])
def test_settings_at_the_ends_of_the_standards_ranges_are_accepted(world, client, rule_key, threshold, clear):
    rule = world.default_rule(rule_key)
    resp = client.patch(f"/api/v1/rules/{rule.id}", json={"threshold": threshold, "clear_threshold": clear},
                        headers=world.auth("admin"))
    assert resp.status_code == 200, resp.get_json()


def test_an_override_outside_the_range_is_refused(world, client):
    base = world.default_rule("cable_temp")
    resp = _override(client, world, base_rule_id=base.id, site_id=world.site_id, threshold=150)
    assert resp.status_code == 422 and "threshold" in resp.get_json()["errors"]


# --- who may ---------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["operator", "supervisor", "maintainer", "property_staff", "resident"])
def test_only_admins_change_rules(world, client, role):
    rule = world.default_rule("residual_current")
    patch = client.patch(f"/api/v1/rules/{rule.id}", json={"threshold": 400}, headers=world.auth(role))
    post = client.post("/api/v1/rules", json={"base_rule_id": rule.id, "site_id": world.site_id, "threshold": 400},
                       headers=world.auth(role))
    assert (patch.status_code, post.status_code) == (403, 403)
    assert world.default_rule("residual_current").id == rule.id


def test_operators_may_read_rules_and_residents_may_not(world, client):
    assert client.get("/api/v1/rules", headers=world.auth("operator")).status_code == 200
    assert client.get("/api/v1/rules", headers=world.auth("resident")).status_code == 403
