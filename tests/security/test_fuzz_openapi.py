"""Schemathesis over every operation of the live OpenAPI document (/api/openapi.json),
on the WSGI app itself, as an administrator and as nobody.

No answer may be a 500, and every 4xx from /api must be the JSON error shape
{code, message, errors}. The operations are read from the app's own document when
the tests are collected, so endpoints added later are fuzzed without editing this
file. Bounded: FUZZ_EXAMPLES cases per operation and caller (FUZZ_EXAMPLES=300 for a
longer hunt by hand), the same cases every run (derandomised), positive and negative.

(schemathesis.pytest.from_fixture cannot run under pytest 9 — it reads a node
attribute pytest removed — so each operation is one parametrised test that runs
its own Hypothesis strategy.)
"""

import functools
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from api.extensions import db
from tests import factories as f

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))

# Request bodies schemathesis cannot build from the document (file parts of an
# upload). Such operations are skipped here — and say so — their own tests cover them.
UNBUILDABLE_MEDIA = ("multipart/form-data",)


@functools.cache
def _document():
    """The document as the app serves it; building the app connects to nothing."""
    from api import create_app

    return create_app("testing").test_client().get("/api/openapi.json").get_json()


# Findings of this test awaiting a fix (none now; hydrants and hazards took Id()): an id past
# PostgreSQL's integer reaches the database, a 500. The fix is api.common.fields.Id for
# the field. Not strict: remove the entry once the owner has fixed it.
KNOWN_FINDINGS = {}  # "METHOD /path": why it is expected to fail, until fixed


def _operations():
    methods = ("get", "put", "post", "patch", "delete")
    labels = [f"{m.upper()} {path}" for path, ops in _document()["paths"].items() for m in ops if m in methods]
    return [pytest.param(label, marks=pytest.mark.xfail(reason=KNOWN_FINDINGS[label], strict=False))
            if label in KNOWN_FINDINGS else label for label in labels]


@pytest.fixture(scope="module")
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


@pytest.fixture
def admin_headers(app):
    """Rows for generated ids to hit now and then, and an administrator."""
    with app.app_context():
        tree = f.city_tree("FUZZ")
        admin = f.user("admin")
        for kind in ("generic", "onenet", "ctwing"):
            f.integration(kind)
        f.incident(tree["site"], tree["site_device"])
        db.session.commit()
        return {"Authorization": f"Bearer {f.token_for(admin)}"}


def _strategy(operation):
    strategies = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        try:
            strategies.append(operation.as_strategy(generation_mode=mode))
        except Exception:  # nothing to make negative (no parameters, no body)
            if mode is GenerationMode.POSITIVE:
                raise
    return st.one_of(strategies)


def assert_no_500_and_json_errors(case, response, who):
    where = f"{who}: {case.method} {case.formatted_path} -> {response.status_code}"
    # 503 is an answer ("Web Push is not configured here"); a 500 is a fault.
    assert response.status_code < 500 or response.status_code == 503, \
        f"{where}\n{case.as_curl_command()}\n{response.text[:800]}"
    if response.status_code >= 400:
        ctype = response.headers.get("content-type") or response.headers.get("Content-Type") or ""
        ctype = ctype[0] if isinstance(ctype, list) and ctype else ctype
        assert str(ctype).startswith("application/json"), f"{where}: not JSON ({ctype})\n{response.text[:300]}"
        body = response.json()
        assert isinstance(body, dict) and set(body) == {"code", "message", "errors"}, f"{where}: {body}"
        assert isinstance(body["code"], str) and body["code"], f"{where}: {body}"
        assert isinstance(body["message"], str) and body["message"], f"{where}: {body}"
        assert isinstance(body["errors"], dict), f"{where}: {body}"


@pytest.mark.parametrize("label", _operations())
def test_fuzzed_operation_never_answers_500_and_errors_are_json(api_schema, admin_headers, label):
    method, path = label.split(" ", 1)
    operation = api_schema[path][method]
    content = (operation.definition.raw.get("requestBody") or {}).get("content") or {}
    if content and all(media in UNBUILDABLE_MEDIA for media in content):
        pytest.skip(f"{label}: a multipart upload, which schemathesis cannot build from the document")

    @given(case=_strategy(operation), anonymous=st.booleans())
    @settings(max_examples=EXAMPLES * 2, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case, anonymous):
        who = "anonymous" if anonymous else "admin"
        if anonymous:
            case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
            response = case.call()
        else:
            response = case.call(headers=admin_headers)
        assert_no_500_and_json_errors(case, response, who)

    run()
