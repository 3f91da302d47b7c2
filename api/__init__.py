"""The application factory."""

import logging

from flask import Flask
from flask.sessions import SessionInterface

from config import load_config


def create_app(config=None):
    """Build the app. `config` is a config name, a config object, or None (APP_ENV)."""
    if config is None or isinstance(config, str):
        config = load_config(config)
    app = Flask(__name__, instance_relative_config=False, static_folder=None)
    app.session_interface = _NoCookieSession()
    if config.TRUSTED_PROXIES:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Behind nginx: the client's address (for per-IP rate limits) and scheme.
        n = config.TRUSTED_PROXIES
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    app.config.update(config.as_dict())
    app.config["ENV_NAME"] = config.ENV_NAME
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    from api.extensions import db, jwt, limiter, migrate, smorest

    app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]
    app.config["RATELIMIT_STORAGE_OPTIONS"] = {
        "key_prefix": app.config["REDIS_KEY_PREFIX"] + "limits",
        "socket_connect_timeout": 3,
        "socket_timeout": 5,
    }
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)

    db.init_app(app)
    _sqlite_settings(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True)
    jwt.init_app(app)
    limiter.init_app(app)
    smorest.init_app(app)

    from api.security import register_security

    register_security(app)  # before the blueprints: it bounds their <int:…> ids

    from api.errors import register_error_handlers
    from api.people.auth import register_jwt_callbacks

    register_jwt_callbacks(jwt)
    _register_blueprints(app, smorest)
    register_error_handlers(app)
    from api.notices.services import register as register_notices

    register_notices(app)
    _register_cli(app)

    from api.web import register_web

    register_web(app)
    return app


class _NoCookieSession(SessionInterface):
    """No cookie session: the API authenticates with bearer tokens (JWT) and keeps
    nothing in a cookie. Flask's default signed-cookie session built its signer on
    every request, device messages included, to find no cookie; this hands Flask
    its read-only null session at once, and writing to it raises."""

    def open_session(self, app, request):
        return None  # Flask then uses make_null_session()

    def save_session(self, app, session, response):
        return None


def _sqlite_settings(app):
    """SQLite (the development default, where web, workers and scheduler share one file):
    write-ahead logging, so readers and the one writer do not block each other, and a
    writer waits up to 30 s for the lock instead of failing with "database is locked"
    after pysqlite's 5 s on a busy machine."""
    from sqlalchemy import event

    from api.extensions import db

    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def _register_blueprints(app, smorest):
    from api.devices.routes import blp as devices_blp
    from api.hazards.routes import blp as hazards_blp
    from api.health import blp as health_blp
    from api.hydrants.routes import blp as hydrants_blp
    from api.incidents.routes import blp as incidents_blp
    from api.ingest.routes import blp as ingest_blp
    from api.notices.routes import blp as notices_blp
    from api.notify.callbacks import blp as notify_callbacks_blp
    from api.notify.routes import blp as notify_blp
    from api.patrols.routes import blp as patrols_blp
    from api.people.routes import auth_blp, people_blp
    from api.photos.routes import blp as photos_blp
    from api.places.routes import blp as places_blp
    from api.rules.routes import blp as rules_blp

    smorest.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    for blp in (health_blp, auth_blp, people_blp, places_blp, devices_blp, ingest_blp, rules_blp, incidents_blp,
                notify_blp, notify_callbacks_blp, notices_blp, photos_blp, hydrants_blp, hazards_blp, patrols_blp):
        smorest.register_blueprint(blp)


def _register_cli(app):
    from api.demo.cli import demo_cli
    from api.ingest.cli import ingest_cli, integration_cli
    from api.notify.cli import push_cli
    from api.people.cli import users_cli
    from workers.cli import rq_cli

    for group in (demo_cli, users_cli, rq_cli, integration_cli, ingest_cli, push_cli):
        app.cli.add_command(group)
