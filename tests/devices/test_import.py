"""CSV bulk import: encodings, headers, every bad row reported, all or nothing."""

import io

import pytest

from api.extensions import db
from tests import factories as f


@pytest.fixture
def world(app):
    with app.app_context():
        t = f.city_tree("I")
        other = f.city_tree("J")
        operator = f.user("operator", place=t["city"])
        db.session.commit()
        return {"household": t["household"].code, "site": t["site"].code, "grid": t["grid"].code,
                "other": other["household"].code, "h": f.bearer(operator)}


def send(client, world, data, query=""):
    return client.post(f"/api/v1/devices/import{query}", data=data, content_type="text/csv", headers=world["h"])


def count_devices(app):
    with app.app_context():
        from api.devices.models import Device

        return Device.query.count()


def test_english_utf8_file_imports(client, app, world):
    csv = (f"serial,imei,type,place,location,lat,lng,installed_at\n"
           f"A-001,869000000000001,smoke_detector,{world['household']},厨房,27.11,114.99,2026-05-01\n"
           f"A-002,,electrical_monitor,{world['site']},B1 配电房,,,2026-05-01 09:30\n")
    before = count_devices(app)
    resp = send(client, world, csv.encode("utf-8"))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"encoding": "utf-8", "rows": 2, "imported": 2, "rejected": [], "dry_run": False}
    assert count_devices(app) == before + 2
    with app.app_context():
        from api.devices.models import Device

        d = Device.query.filter_by(serial="A-002").one()
        assert d.installed_at.isoformat() == "2026-05-01T01:30:00+00:00"  # 09:30 Beijing time
        assert d.location_text == "B1 配电房"


def test_chinese_headers_in_gb18030_as_excel_saves_them(client, app, world):
    csv = ("序列号,设备类型,场所编码,安装位置,状态\n"
           f"G-001,智能独立感烟火灾探测报警器,{world['household']},客厅,在用\n"
           f"G-002,gas_detector,{world['household']},厨房,停用\n")
    resp = send(client, world, csv.encode("gb18030"))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["encoding"] == "gb18030"
    with app.app_context():
        from api.devices.models import Device

        assert Device.query.filter_by(serial="G-002").one().status == "inactive"
        assert Device.query.filter_by(serial="G-001").one().type_code == "smoke_detector"


def test_utf8_with_bom(client, world):
    csv = f"序列号,设备类型,场所编码\nB-001,smoke_detector,{world['household']}\n"
    resp = send(client, world, b"\xef\xbb\xbf" + csv.encode("utf-8"))
    assert resp.status_code == 200 and resp.get_json()["imported"] == 1


BAD = (
    "serial,imei,type,place,lat,lng,installed_at\n"
    "OK-001,,smoke_detector,{household},,,\n"            # line 2: good
    "OK-001,,smoke_detector,{household},,,\n"            # line 3: repeats line 2
    "X-003,,toaster,{household},,,\n"                    # line 4: unknown type
    "X-004,,smoke_detector,nowhere,,,\n"                 # line 5: unknown place
    "X-005,12345,smoke_detector,{household},,,\n"        # line 6: bad IMEI
    "X-006,,smoke_detector,{household},127.1,114.9,\n"   # line 7: latitude out of range
    "X-007,,smoke_detector,{household},,,yesterday\n"    # line 8: not a date
    "X-008,,smoke_detector,{grid},,,\n"                  # line 9: a grid holds no devices
    "X-009,,smoke_detector,{other},,,\n"                 # line 10: another city, out of scope
    "OK-010,,gas_detector,{household},,,\n"              # line 11: good
)


def test_every_bad_row_is_reported_and_nothing_imported(client, app, world):
    before = count_devices(app)
    resp = send(client, world, BAD.format(**world).encode())
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["code"] == "import_rejected"
    rows = {r["line"]: set(r["errors"]) for r in body["errors"]["rows"]}
    assert rows == {3: {"serial"}, 4: {"type"}, 5: {"place"}, 6: {"imei"}, 7: {"lat"},
                    8: {"installed_at"}, 9: {"place"}, 10: {"place"}}
    assert count_devices(app) == before


def test_good_rows_go_in_when_asked(client, app, world):
    before = count_devices(app)
    resp = send(client, world, BAD.format(**world).encode(), "?accept_partial=true")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["imported"] == 2 and len(body["rejected"]) == 8
    assert count_devices(app) == before + 2


def test_dry_run_checks_without_writing(client, app, world):
    before = count_devices(app)
    resp = send(client, world, BAD.format(**world).encode(), "?accept_partial=true&dry_run=true")
    assert resp.status_code == 200 and resp.get_json()["imported"] == 0
    assert count_devices(app) == before


def test_already_registered_serials_are_rejected(client, world):
    csv = f"serial,type,place\nR-1,smoke_detector,{world['household']}\n".encode()
    assert send(client, world, csv).status_code == 200
    again = send(client, world, csv)
    assert again.status_code == 422
    assert again.get_json()["errors"]["rows"] == [{"line": 2, "errors": {"serial": ["已登记"]}}]


def test_multipart_upload(client, world):
    csv = f"serial,type,place\nM-1,smoke_detector,{world['household']}\n".encode()
    resp = client.post("/api/v1/devices/import", headers=world["h"],
                       data={"file": (io.BytesIO(csv), "devices.csv")}, content_type="multipart/form-data")
    assert resp.status_code == 200 and resp.get_json()["imported"] == 1


@pytest.mark.parametrize(
    "data,field",
    [(b"", "file"), (b"name,colour\nx,red\n", "header"), (b"\xff\xfe\x00\x81\x30", "file")],
)
def test_unusable_files_are_clear_errors(client, world, data, field):
    resp = send(client, world, data)
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["errors"]


def test_oversized_upload_is_a_json_413(client, app, world):
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        resp = send(client, world, b"serial,type,place\n" + b"x" * 4096)
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert resp.status_code == 413
    assert resp.get_json()["code"] == "payload_too_large"
