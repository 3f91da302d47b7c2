"""Vendor mappings are data: an admin edits them and the next message obeys."""

import json

from api.ingest.models import DeviceEvent, Integration
from tests.ingest.conftest import ctwing_url, event, now_ms, post_events, rows


def patch_mapping(client, world, integration, mapping, headers=None):
    return client.patch(f"/api/v1/integrations/{integration.id}", json={"mapping": mapping},
                        headers=headers or world.admin)


def test_vendor_event_type_mapped_by_an_admin_is_used_by_the_next_message(app, client, world):
    serial = world.detector.serial
    before = post_events(client, world.generic, [event(serial, "v-1", "ALM")])
    assert before.get_json()["results"][0]["status"] == "rejected"  # not a kind we know yet

    resp = patch_mapping(client, world, world.generic,
                         {"kinds": {"ALM": "smoke_alarm", "BAT": "telemetry"}, "values": {"bat": "battery_pct"}})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["mapping"]["kinds"]["ALM"] == "smoke_alarm"

    after = post_events(client, world.generic, [event(serial, "v-2", "ALM"),
                                                event(serial, "v-3", "BAT", values={"bat": 42})])
    assert [r["status"] for r in after.get_json()["results"]] == ["accepted", "accepted"]
    stored = {e.message_id: e for e in rows(app, DeviceEvent)}
    assert stored["v-2"].kind == "smoke_alarm"
    assert (stored["v-3"].kind, stored["v-3"].values) == ("telemetry", {"battery_pct": 42})
    (incident,) = client.get("/api/v1/incidents", headers=world.operator).get_json()["items"]
    assert incident["level"] == 2


def test_ctwing_field_mapped_by_an_admin_is_used_by_the_next_message(app, client, world):
    def report(ts, state):
        return {"timestamp": ts, "messageType": "dataReport", "serviceId": "smoke", "productId": "15045240",
                "deviceId": "a1b2c3", "IMEI": world.detector.imei,
                "payload": {"serviceData": {"smoke_state": state, "smoke_value": 12}}}

    url = ctwing_url(world.ctwing)
    before = client.post(url, json=report(now_ms(-30), 1))
    assert [r["status"] for r in before.get_json()["results"]] == ["accepted"]
    assert [e.kind for e in rows(app, DeviceEvent)] == ["heartbeat"]  # unknown fields: only "it is alive"

    (integration,) = rows(app, Integration, id=world.ctwing.id)
    mapping = json.loads(json.dumps(integration.mapping))
    mapping["fields"]["smoke_state"] = {"kinds": {"0": "alarm_cleared", "1": "smoke_alarm", "2": "fault"}}
    resp = patch_mapping(client, world, world.ctwing, mapping)
    assert resp.status_code == 200, resp.get_json()

    after = client.post(url, json=report(now_ms(-20), 1))
    assert after.get_json()["accepted"] == 1, after.get_json()
    assert [e.kind for e in rows(app, DeviceEvent)] == ["heartbeat", "smoke_alarm"]
    client.post(url, json=report(now_ms(-10), 0))
    assert [e.kind for e in rows(app, DeviceEvent)][-1] == "alarm_cleared"
    alerts = client.get(f"/api/v1/alerts?device_id={world.detector.id}&condition=smoke",
                        headers=world.operator).get_json()["items"]
    assert [a["active"] for a in alerts] == [False]


INVALID_MAPPINGS = {
    "unknown kind": ({"kinds": {"ALM": "explosion"}}, "kinds.ALM"),
    "unknown metric": ({"values": {"bat": "battery_volts"}}, "values.bat"),
    "unknown field kind": ({"fields": {"smoke_state": {"kinds": {"1": "smoke"}}}}, "fields.smoke_state.kinds.1"),
    "unknown field metric": ({"fields": {"smoke_state": {"metric": "smokiness"}}}, "fields.smoke_state"),
    "no metric or kinds": ({"fields": {"smoke_state": {"scale": 2}}}, "fields.smoke_state"),
    "rule not an object": ({"fields": {"smoke_state": "smoke_alarm"}}, "fields.smoke_state"),
}


def test_invalid_mapping_is_refused_and_the_old_one_kept(app, client, world):
    for case, (mapping, where) in INVALID_MAPPINGS.items():
        resp = patch_mapping(client, world, world.ctwing, mapping)
        assert resp.status_code == 422, (case, resp.get_json())
        err = resp.get_json()
        assert err["code"] == "validation_error", case
        assert any(where in message for message in err["errors"]["mapping"]), (case, err)
    (integration,) = rows(app, Integration, id=world.ctwing.id)
    assert "Alarm_Status" in integration.mapping["fields"]
    assert "smoke_state" not in integration.mapping["fields"]


def test_invalid_mapping_is_refused_when_creating_an_integration(client, world):
    resp = client.post("/api/v1/integrations", headers=world.admin,
                       json={"kind": "generic", "name": "vendor X", "mapping": {"kinds": {"ALM": "explosion"}}})
    assert resp.status_code == 422 and "mapping" in resp.get_json()["errors"]


def test_only_admins_change_a_mapping(app, client, world):
    resp = patch_mapping(client, world, world.generic, {"kinds": {"ALM": "smoke_alarm"}}, headers=world.operator)
    assert resp.status_code == 403
    (integration,) = rows(app, Integration, id=world.generic.id)
    assert integration.mapping == {}
