"""The house: config, errors, OpenAPI, docs without a CDN."""

import pytest

from config import ConfigError, load_config


def test_openapi_document_lists_the_api(client):
    resp = client.get("/api/openapi.json")
    assert resp.status_code == 200
    spec = resp.get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/auth/login" in spec["paths"]
    assert "/api/v1/devices/{device_id}" in spec["paths"]


def test_docs_page_loads_its_assets_locally(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/docs/assets/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    asset = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000


@pytest.mark.parametrize(
    "method,path,status,code",
    [
        ("get", "/api/v1/nothing-here", 404, "not_found"),
        ("delete", "/api/v1/auth/login", 405, "method_not_allowed"),
        ("get", "/api/v1/me", 401, "unauthorized"),
    ],
)
def test_every_api_error_is_json(client, method, path, status, code):
    resp = getattr(client, method)(path)
    assert resp.status_code == status
    body = resp.get_json()
    assert body["code"] == code
    assert body["message"]
    assert isinstance(body["errors"], dict)


def test_validation_errors_name_the_fields(client):
    resp = client.post("/api/v1/auth/login", json={"phone": "12345", "password": "x"})
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["code"] == "validation_error"
    assert "phone" in body["errors"]


def test_non_json_body_is_a_clear_error(client):
    resp = client.post("/api/v1/auth/login", data="not json", content_type="application/json")
    assert resp.status_code in (400, 422)
    assert resp.get_json()["code"] in ("bad_request", "validation_error")


def test_english_messages_on_request(client):
    resp = client.get("/api/v1/nothing", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert resp.get_json()["message"] == "Not found"
    resp = client.get("/api/v1/nothing")
    assert resp.get_json()["message"] == "找不到该资源"


def test_health_reports_database_and_redis(client):
    body = client.get("/api/health").get_json()
    assert body == {"status": "ok", "database": "ok", "redis": "ok"}


def test_production_refuses_default_secrets(monkeypatch):
    for name in ("DATABASE_URL", "SECRET_KEY", "JWT_SECRET_KEY", "VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError) as err:
        load_config("production")
    for name in ("DATABASE_URL", "SECRET_KEY", "JWT_SECRET_KEY", "VAPID_PUBLIC_KEY"):
        assert name in str(err.value)


def test_production_starts_with_real_secrets(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.internal/fire")
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("JWT_SECRET_KEY", "j" * 40)
    monkeypatch.setenv("VAPID_PUBLIC_KEY", "BPub")
    monkeypatch.setenv("VAPID_PRIVATE_KEY", "priv")
    cfg = load_config("production")
    assert cfg.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://db.internal/fire"


@pytest.mark.parametrize("name,value", [("JWT_ACCESS_SECONDS", "soon"), ("RATELIMIT_ENABLED", "maybe")])
def test_config_is_parsed_strictly(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError):
        load_config("development")


def test_unknown_environment_is_refused():
    with pytest.raises(ConfigError):
        load_config("staging")


def test_field_errors_speak_chinese_by_default_and_english_on_request(client):
    zh = client.post("/api/v1/auth/login", json={"password": "x"}).get_json()
    assert zh["errors"]["phone"] == ["必填项"]
    en = client.post("/api/v1/auth/login", json={"password": "x"}, headers={"Accept-Language": "en"}).get_json()
    assert en["errors"]["phone"] == ["Missing data for required field."]
    bad = client.post("/api/v1/auth/login", json={"phone": "12345", "password": "x"}).get_json()
    assert bad["errors"]["phone"] == ["不是有效的中国大陆手机号"]


def test_sqlite_writes_ahead_and_waits_for_the_lock(monkeypatch, tmp_path):
    """The development default: web, workers and scheduler share one SQLite file."""
    from sqlalchemy import text

    from api import create_app
    from api.extensions import db

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'dev.db'}")
    app = create_app("development")
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 30000
        db.session.remove()
        db.engine.dispose()
