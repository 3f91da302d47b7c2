"""`flask integration create` prints what to give the vendor."""

import re

import pytest

from api.ingest.adapters import DEFAULT_MAPPINGS
from api.ingest.models import Integration
from tests.ingest.conftest import onenet_signature, rows


def _printed(output):
    fields = dict(re.findall(r"^(key id|secret|url):\s+(\S.*)$", output, re.MULTILINE))
    assert set(fields) == {"key id", "secret", "url"}, output
    return fields


def test_create_onenet_integration_prints_key_secret_and_url(app, client, runner):
    result = runner.invoke(args=["integration", "create", "--kind", "onenet", "--name", "X",
                                 "--base-url", "https://fire.example.cn/"])
    assert result.exit_code == 0, result.output
    printed = _printed(result.output)
    (integration,) = rows(app, Integration)
    assert (integration.kind, integration.name, integration.enabled) == ("onenet", "X", True)
    assert printed["key id"] == integration.key_id and printed["secret"] == integration.secret
    assert len(integration.secret) >= 32
    assert printed["url"] == f"https://fire.example.cn/api/v1/ingest/onenet/{integration.key_id}"
    assert integration.mapping == DEFAULT_MAPPINGS["onenet"]

    # What was printed is enough to pass OneNET's URL check.
    sig = onenet_signature(printed["secret"], "n0nce123", "hello")
    resp = client.get(f"/api/v1/ingest/onenet/{printed['key id']}",
                      query_string={"msg": "hello", "nonce": "n0nce123", "signature": sig})
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "hello"


@pytest.mark.parametrize("kind,url", [
    ("ctwing", "http://127.0.0.1:8000/api/v1/ingest/ctwing/{key}/{secret}"),
    ("generic", "http://127.0.0.1:8000/api/v1/ingest/events"),
    ("mqtt", "mqtt topic fa/{key}/events"),
])
def test_create_prints_the_vendor_address_of_each_kind(app, runner, kind, url):
    result = runner.invoke(args=["integration", "create", "--kind", kind, "--name", f"{kind} vendor"])
    assert result.exit_code == 0, result.output
    printed = _printed(result.output)
    (integration,) = rows(app, Integration)
    assert integration.kind == kind
    expected = url.format(key=integration.key_id, secret=integration.secret)
    if app.config.get("PUBLIC_BASE_URL"):
        expected = expected.replace("http://127.0.0.1:8000", app.config["PUBLIC_BASE_URL"].rstrip("/"))
    assert printed["url"] == expected


def test_create_refuses_an_unknown_kind(app, runner):
    result = runner.invoke(args=["integration", "create", "--kind", "fax", "--name", "X"])
    assert result.exit_code == 2
    assert rows(app, Integration) == []
