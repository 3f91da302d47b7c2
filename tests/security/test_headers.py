"""Security headers on every kind of response: API answers and errors, the PWA, the
docs page; HSTS only in production; no version banner from the server."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from api import create_app

ROOT = Path(__file__).resolve().parents[2]
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def csp_directives(response):
    policy = response.headers["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}


def assert_protected(response, where):
    for name, value in ALWAYS.items():
        assert response.headers.get(name) == value, (where, name, response.headers.get(name))
    csp = csp_directives(response)
    assert csp["script-src"] == ["'self'"], (where, csp["script-src"])  # no inline or eval'd script
    assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"], where
    assert csp["frame-ancestors"] == ["'none'"] and csp["base-uri"] == ["'self'"], where
    server = response.headers.get("Server")
    assert server is None or not any(ch.isdigit() for ch in server), (where, server)


@pytest.mark.parametrize("path", ["/api/health", "/api/v1/me", "/api/v1/nothing-here", "/api/openapi.json", "/",
                                  "/no/such/screen", "/api/docs", "/api/docs/init.js", "/i/12"])
def test_every_kind_of_response_carries_the_security_headers(client, path):
    assert_protected(client.get(path), path)


def test_an_error_answer_and_a_refused_method_carry_them_too(client):
    assert_protected(client.delete("/api/v1/me"), "405")
    assert_protected(client.post("/api/v1/auth/login", data="{", content_type="application/json"), "400")


def test_the_pwa_gets_no_inline_styles_or_scripts_and_the_docs_page_inline_styles_only(client):
    pwa = csp_directives(client.get("/"))
    docs = csp_directives(client.get("/api/docs"))
    assert pwa["style-src"] == ["'self'"]
    assert docs["style-src"] == ["'self'", "'unsafe-inline'"]  # Swagger UI's style attributes
    assert "'unsafe-inline'" not in docs["script-src"] and "'unsafe-eval'" not in docs["script-src"]


def test_the_docs_page_has_no_inline_script_and_loads_its_start_up_from_a_file(client):
    page = client.get("/api/docs").get_data(as_text=True)
    assert '<script src="/api/docs/init.js"></script>' in page
    assert 'data-spec-url="/api/openapi.json"' in page
    import re

    assert all(re.search(r"\bsrc=", tag) for tag in re.findall(r"<script[^>]*>", page)), page
    init = client.get("/api/docs/init.js")
    assert init.status_code == 200 and init.mimetype == "text/javascript"
    assert "SwaggerUIBundle" in init.get_data(as_text=True)


def test_token_answers_are_not_cached(client):
    resp = client.post("/api/v1/auth/login", json={"phone": "13800000000", "password": "whatever-1"})
    assert resp.headers["Cache-Control"] == "no-store"


def test_no_hsts_outside_production(client):
    assert "Strict-Transport-Security" not in client.get("/api/health").headers


@pytest.fixture
def production_app(app, monkeypatch):
    """The production configuration over the test database (it refuses to start without its secrets)."""
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", os.environ["TEST_DATABASE_URL"])
    monkeypatch.setenv("REDIS_URL", app.config["REDIS_URL"])
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("JWT_SECRET_KEY", "j" * 40)
    monkeypatch.setenv("VAPID_PUBLIC_KEY", "public-key-for-the-header-test")
    monkeypatch.setenv("VAPID_PRIVATE_KEY", "private-key-for-the-header-test")
    if os.environ["TEST_DATABASE_URL"].startswith("sqlite"):
        pytest.skip("production refuses SQLite; the PostgreSQL run checks HSTS")
    return create_app("production")


def test_production_sends_hsts_on_every_response(production_app):
    client = production_app.test_client()
    for path in ("/api/v1/nothing-here", "/", "/api/docs"):
        resp = client.get(path)
        assert resp.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains", path
        assert_protected(resp, path)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_names_no_version_and_passes_the_headers_on(app):
    """The real server in front of the app: its Server header carries no version."""
    port = _free_port()
    env = {**os.environ, "APP_ENV": "testing"}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "wsgi:app"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/me", timeout=5)
            except urllib.error.HTTPError as err:
                resp = err  # 401: what we want to look at
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.2)
        assert resp.code == 401
        server = resp.headers.get("Server", "")
        assert server in ("", "gunicorn"), server  # the name at most, never its version
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert "script-src 'self';" in resp.headers["Content-Security-Policy"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
