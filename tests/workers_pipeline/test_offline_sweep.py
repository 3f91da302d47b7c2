"""The offline sweep: a device silent for longer than twice its type's heartbeat
gets one level-4 "offline" alert and offline_since; its next message clears both."""

import json
import time
from datetime import timedelta

import pytest

from api.alerts.models import Alert
from api.devices.models import Device, DeviceType
from api.extensions import db
from api.ingest.adapters import generic_sign
from tests import factories as f
from tests.workers_pipeline.conftest import NOW
from workers import sweeps
from workers.sweeps import sweep_offline


def heartbeats():
    return {code: hb for code, hb in db.session.query(DeviceType.code, DeviceType.heartbeat_seconds)}


def offline_alerts():
    return (Alert.query.filter(Alert.condition == "offline", Alert.closed_at.is_(None))
            .order_by(Alert.device_id).all())


def post_heartbeat(client, integration, serial, at, msg_id):
    body = json.dumps({"device": serial, "id": msg_id, "at": at.isoformat(), "type": "heartbeat",
                       "values": {"battery_pct": 88}}).encode()
    stamp = int(time.time())
    return client.post("/api/v1/ingest/events", data=body, content_type="application/json", headers={
        "X-Integration-Key": integration["key_id"], "X-Timestamp": str(stamp),
        "X-Signature": generic_sign(integration["secret"], stamp, body)})


@pytest.fixture
def world(app, clock):
    """For every device type, three devices — silent just inside, exactly at and just
    outside twice the heartbeat — alternately on the site and in a household."""
    with app.app_context():
        tree = f.city_tree("sweep")
        Device.query.delete()  # city_tree's own devices were never heard from; keep the world exact
        places = (tree["site"], tree["household"])
        devices = {}
        for n, (code, hb) in enumerate(sorted(heartbeats().items())):
            for offset, name in ((-1, "inside"), (0, "exactly"), (1, "outside")):
                d = f.device(places[(n + offset) % 2], code,
                             last_seen_at=NOW - timedelta(seconds=2 * hb + offset))
                devices[(code, name)] = d.id
        integration = f.integration()
        out = {"devices": devices, "site": (tree["site"].id, tree["site"].path),
               "integration": {"key_id": integration.key_id, "secret": integration.secret},
               "serials": {d.id: d.serial for d in Device.query}}
        db.session.commit()
        db.session.remove()
        return out


def outside(world):
    return sorted(i for (code, name), i in world["devices"].items() if name == "outside")


def test_only_devices_silent_longer_than_twice_their_heartbeat_go_offline(app, world, run_worker):
    from workers.sweeps import offline_sweep

    with app.app_context():
        job = offline_sweep.enqueue()
        run_worker("default")
        job.refresh()
        assert job.get_status() == "finished", job.latest_result()
        assert job.return_value() == len(outside(world)) == len(heartbeats())

        marked = sorted(d.id for d in Device.query.filter(Device.offline_since.isnot(None)))
        assert marked == outside(world)
        assert {d.offline_since for d in Device.query.filter(Device.offline_since.isnot(None))} == {NOW}
        alerts = offline_alerts()
        assert [a.device_id for a in alerts] == outside(world)
        site_id, site_path = world["site"]
        for a in alerts:
            assert (a.level, a.active, a.count, a.raised_at, a.first_at) == (4, True, 1, NOW, NOW)
            # household devices are alerted at their site, visible down their own path
            assert (a.site_id, a.site_path) == (site_id, site_path)
            assert a.device_path == db.session.get(Device, a.device_id).place_path


def test_a_second_sweep_creates_nothing_new(app, world, clock):
    with app.app_context():
        assert sweep_offline() == len(outside(world))
        first = [(a.id, a.device_id, a.count, a.raised_at) for a in offline_alerts()]
        assert sweep_offline() == 0
        db.session.expire_all()
        assert [(a.id, a.device_id, a.count, a.raised_at) for a in offline_alerts()] == first
        # an hour on, only the devices that have since gone silent are added
        clock.move(NOW + timedelta(hours=1))
        assert sweep_offline() == len(world["devices"]) - len(first)
        assert sweep_offline() == 0
        db.session.expire_all()
        alerts = offline_alerts()
        assert len(alerts) == Alert.query.count() == len(world["devices"])
        assert [(a.id, a.device_id, a.count, a.raised_at) for a in alerts if a.id in {x[0] for x in first}] == first
        assert {d.offline_since for d in Device.query if d.id in outside(world)} == {NOW}


def test_a_message_from_an_offline_device_clears_its_alert_and_offline_since(app, client, world, clock):
    device_id = world["devices"][("smoke_detector", "outside")]
    with app.app_context():
        sweep_offline()
    clock.move(NOW + timedelta(minutes=5))
    resp = post_heartbeat(client, world["integration"], world["serials"][device_id], NOW + timedelta(minutes=4), "hb-1")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["accepted"] == 1
    with app.app_context():
        device = db.session.get(Device, device_id)
        assert device.offline_since is None
        assert device.last_seen_at == NOW + timedelta(minutes=4)
        alert = Alert.query.filter_by(device_id=device_id, condition="offline").one()
        assert (alert.active, alert.cleared_at) == (False, NOW + timedelta(minutes=4))
        # the others stay offline
        still = sorted(a.device_id for a in offline_alerts() if a.active)
        assert still == [i for i in outside(world) if i != device_id]


def test_a_device_that_goes_silent_again_after_recovering_is_alerted_again(app, client, world, clock):
    device_id = world["devices"][("smoke_detector", "outside")]
    with app.app_context():
        sweep_offline()
    back = NOW + timedelta(minutes=5)
    clock.move(back)
    assert post_heartbeat(client, world["integration"], world["serials"][device_id], back, "hb-1").status_code == 200
    with app.app_context():
        assert db.session.get(Device, device_id).offline_since is None
        hb = heartbeats()["smoke_detector"]
        later = back + timedelta(seconds=2 * hb + 60)
        clock.move(later)
        assert sweep_offline() >= 1
        db.session.expire_all()
        assert db.session.get(Device, device_id).offline_since == later
        alert = Alert.query.filter_by(device_id=device_id, condition="offline").filter(
            Alert.closed_at.is_(None)).one()
        assert alert.active is True, "silent again, but its offline alert stayed cleared"
        assert (alert.raised_at, alert.cleared_at, alert.count) == (later, None, 2)


def test_devices_never_heard_from_are_not_swept(app, clock):
    with app.app_context():
        tree = f.city_tree("never")
        for code in heartbeats():
            f.device(tree["site"], code, last_seen_at=None, created_at=NOW - timedelta(days=365))
        db.session.commit()
        assert sweep_offline() == 0
        assert Device.query.filter(Device.offline_since.isnot(None)).count() == 0
        assert Alert.query.count() == 0


@pytest.mark.parametrize("status", ["inactive", "removed"])
def test_devices_not_in_service_are_not_swept(app, clock, status):
    with app.app_context():
        tree = f.city_tree("inactive")
        resting = [f.device(tree["site"], code, status=status, last_seen_at=NOW - timedelta(days=30)).id
                   for code in heartbeats()]
        working = f.device(tree["site"], "uitd", last_seen_at=NOW - timedelta(days=30)).id
        db.session.commit()
        assert sweep_offline() == 1
        assert [d.id for d in Device.query.filter(Device.offline_since.isnot(None))] == [working]
        assert [a.device_id for a in offline_alerts()] == [working]
        assert all(db.session.get(Device, i).offline_since is None for i in resting)


def test_a_device_that_reports_while_it_is_being_swept_is_not_marked_offline(app, clock, monkeypatch):
    """A message processed between the sweep's read and its write must win: otherwise
    a device that just spoke is shown offline until its next heartbeat (a day)."""
    with app.app_context():
        tree = f.city_tree("race")
        hb = heartbeats()["smoke_detector"]
        talker = f.device(tree["site"], last_seen_at=NOW - timedelta(seconds=2 * hb + 600)).id
        silent = f.device(tree["site"], last_seen_at=NOW - timedelta(seconds=2 * hb + 600)).id
        db.session.commit()
        real = sweeps.find_silent

        def find_then_message_arrives(type_code, cutoff, limit=sweeps.BATCH):
            ids = real(type_code, cutoff, limit)
            if talker in ids:  # the ingest request commits right after our read
                with db.engine.begin() as conn:
                    conn.execute(Device.__table__.update().where(Device.__table__.c.id == talker)
                                 .values(last_seen_at=NOW - timedelta(seconds=1)))
            return ids

        monkeypatch.setattr(sweeps, "find_silent", find_then_message_arrives)
        sweep_offline()
        db.session.expire_all()
        assert db.session.get(Device, talker).offline_since is None
        assert db.session.get(Device, silent).offline_since == NOW
        assert [a.device_id for a in offline_alerts()] == [silent]


def test_the_sweep_works_through_more_silent_devices_than_one_batch(app, clock, monkeypatch):
    real, batches = sweeps.find_silent, []

    def small_batches(type_code, cutoff, limit=None):
        ids = real(type_code, cutoff, limit=3)
        batches.append((type_code, len(ids)))
        return ids

    monkeypatch.setattr(sweeps, "find_silent", small_batches)
    with app.app_context():
        tree = f.city_tree("batches")
        ids = [f.device(tree["household"], "video_camera", last_seen_at=NOW - timedelta(hours=1, minutes=n)).id
               for n in range(8)]
        db.session.commit()
        assert sweep_offline() == 8
        assert [n for code, n in batches if code == "video_camera"] == [3, 3, 2, 0]
        assert sorted(a.device_id for a in offline_alerts()) == sorted(ids)
