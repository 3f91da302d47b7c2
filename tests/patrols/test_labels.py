"""Signed checkpoint codes and the printed label sheets: the QR on each label is read
back (the sheet's own drawing rasterised and decoded by zxing-cpp) and opens its checkpoint."""

import re
import xml.etree.ElementTree as ET

import pytest

from api.patrols import codes
from tests.patrols.conftest import plan_body

zxingcpp = pytest.importorskip("zxingcpp")
SVG = "{http://www.w3.org/2000/svg}"


def _decode(cells, size):
    """Rasterise dark module cells {(x, y)} of a size×size symbol (quiet zone included)."""
    scale = 4
    width = size * scale
    buf = bytearray(b"\xff") * (width * width)
    for x, y in cells:
        for dy in range(scale):
            row = (y * scale + dy) * width
            buf[row + x * scale: row + x * scale + scale] = b"\x00" * scale
    found = zxingcpp.read_barcodes(memoryview(bytes(buf)).cast("B", (width, width)))
    return [r.text for r in found if r.format == zxingcpp.BarcodeFormat.QRCode]


def _plan(client, town, **fields):
    resp = client.post("/api/v1/patrol-plans", json=plan_body(town.A["site"], **fields), headers=town.h["admin"])
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_codes_verify_and_refuse_tampering(app):
    with app.app_context():
        code = codes.sign(42)
        assert codes.verify(code) == 42
        checkpoint, sig = code.split(".")
        assert len(sig) == codes.SIG_CHARS
        assert codes.verify(f"43.{sig}") is None
        assert codes.verify(f"42.{sig[:-1]}{'A' if sig[-1] != 'A' else 'B'}") is None
        assert codes.verify("42") is None and codes.verify("") is None and codes.verify("x.y") is None
        app.config["SECRET_KEY"], saved = "another-secret-key-for-this-test-only", app.config["SECRET_KEY"]
        try:
            assert codes.verify(code) is None  # the key is derived from SECRET_KEY
        finally:
            app.config["SECRET_KEY"] = saved


def test_scan_opens_the_checkpoint_and_a_tampered_code_is_unknown(client, town):
    plan = _plan(client, town)
    cp = plan["checkpoints"][1]
    resp = client.get(f"/api/v1/checkpoints/scan/{cp['code']}", headers=town.h["property_staff"])
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["checkpoint"]["id"] == cp["id"] and body["checkpoint"]["items"] == cp["items"]
    assert body["plan"]["id"] == plan["id"] and body["plan"]["current_period"]["label"]
    cid, sig = cp["code"].split(".")
    for forged in (f"{int(cid) + 1}.{sig}", f"{cid}.{sig[::-1]}", cid, "garbage"):
        bad = client.get(f"/api/v1/checkpoints/scan/{forged}", headers=town.h["property_staff"])
        assert bad.status_code == 404 and bad.get_json()["code"] == "unknown_checkpoint", forged


def test_svg_sheet_labels_decode_to_their_scan_urls(app, client, town):
    plan = _plan(client, town)
    resp = client.get(f"/api/v1/patrol-plans/{plan['id']}/labels.svg", headers=town.h["grid_worker"])
    assert resp.status_code == 200 and resp.mimetype == "image/svg+xml"
    root = ET.fromstring(resp.data)
    labels = [g for g in root.iter(f"{SVG}g") if g.get("class") == "label"]
    assert [int(g.get("data-checkpoint")) for g in labels] == [c["id"] for c in plan["checkpoints"]]
    for g, cp in zip(labels, plan["checkpoints"]):
        texts = [t.text for t in g.iter(f"{SVG}text")]
        assert texts[0] == cp["name"] and texts[2] == cp["code"]
        assert texts[1].startswith("site ")  # the site's name
        qr = next(x for x in g.iter(f"{SVG}g") if x.get("class") == "qr")
        size = int(qr.find(f"{SVG}rect").get("width"))
        d = qr.find(f"{SVG}path").get("d")
        cells = set()
        for x, y, run in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", d):
            cells.update((int(x) + i, int(y)) for i in range(int(run)))
        assert _decode(cells, size) == [cp["scan_url"]]
        assert cp["scan_url"].endswith("/#/scan/" + cp["code"])
        assert client.get("/api/v1/checkpoints/scan/" + cp["scan_url"].rsplit("/", 1)[1],
                          headers=town.h["grid_worker"]).status_code == 200


def test_pdf_sheet_labels_decode_and_pages_hold_twelve(client, town):
    body = plan_body(town.A["site"])
    body["checkpoints"] = [{"name": f"点位{i}", "location": {"lat": 27.11, "lng": 114.99}} for i in range(14)]
    plan = client.post("/api/v1/patrol-plans", json=body, headers=town.h["admin"]).get_json()
    resp = client.get(f"/api/v1/patrol-plans/{plan['id']}/labels.pdf", headers=town.h["supervisor"])
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    pdf = resp.data
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    assert b"/Count 2" in pdf  # 14 labels: two A4 pages
    assert b"/STSong-Light" in pdf
    blocks = re.findall(rb"% qr (\d+) (\S+)\n(.*?)% end qr", pdf, re.S)
    assert [int(b[0]) for b in blocks] == [c["id"] for c in plan["checkpoints"]]
    # the names are drawn, UTF-16 in the CJK font
    assert ("<" + "点位13".encode("utf-16-be").hex().upper() + ">").encode() in pdf
    for (_cid, code, ops), cp in zip(blocks, plan["checkpoints"]):
        assert code.decode() == cp["code"]
        cells = set()
        for x, y, run in re.findall(rb"(\d+) (\d+) (\d+) 1 re", ops):
            cells.update((int(x) + i, int(y)) for i in range(int(run)))
        size = max(x for x, _ in cells) + 1 + 4
        assert _decode(cells, size) == [cp["scan_url"]]
    # the xref table points at each object
    xref = int(re.search(rb"startxref\n(\d+)", pdf).group(1))
    assert pdf[xref:xref + 4] == b"xref"
    for n, offset in enumerate(re.findall(rb"(\d{10}) 00000 n", pdf), start=1):
        assert pdf[int(offset):].startswith(b"%d 0 obj" % n)


def test_the_qr_stays_small(app):
    """Version 4 or less (33×33 modules): it scans from an arm's length off a 4 cm label."""
    from api.patrols.labels import qr_for

    with app.app_context():
        app.config["PUBLIC_BASE_URL"], saved = "https://xf119.jian.gov.cn", app.config.get("PUBLIC_BASE_URL")
        try:
            qr = qr_for(codes.scan_url(123456))
        finally:
            app.config["PUBLIC_BASE_URL"] = saved
        assert qr.version <= 4, qr.version


def test_labels_out_of_scope_are_not_found(client, town):
    plan = _plan(client, town)
    assert client.get(f"/api/v1/patrol-plans/{plan['id']}/labels.svg",
                      headers=town.h["resident"]).status_code == 404
    assert client.get("/api/v1/patrol-plans/999999/labels.pdf", headers=town.h["admin"]).status_code == 404


@pytest.mark.parametrize("fmt, tool", [("pdf", "pdftoppm"), ("svg", "rsvg-convert")])
def test_a_real_renderer_prints_labels_that_scan(client, town, tmp_path, fmt, tool):
    """Where poppler or librsvg is installed: the sheet as a reader prints it, decoded."""
    import shutil
    import subprocess

    if not shutil.which(tool):
        pytest.skip(f"{tool} is not installed")
    image = pytest.importorskip("PIL.Image")
    plan = _plan(client, town)
    sheet = tmp_path / f"labels.{fmt}"
    sheet.write_bytes(client.get(f"/api/v1/patrol-plans/{plan['id']}/labels.{fmt}", headers=town.h["admin"]).data)
    png = tmp_path / "labels.png"
    if fmt == "pdf":
        subprocess.run([tool, "-r", "120", "-png", "-singlefile", str(sheet), str(tmp_path / "labels")], check=True,
                       timeout=60)
    else:
        subprocess.run([tool, "-w", "1000", str(sheet), "-o", str(png)], check=True, timeout=60)
    found = zxingcpp.read_barcodes(image.open(png).convert("L"))
    assert sorted(r.text for r in found) == sorted(c["scan_url"] for c in plan["checkpoints"])
