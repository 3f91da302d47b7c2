import os
import tempfile
import uuid

import pytest

from tests import backends


def pytest_report_header(config):
    return f"database backend: {backends.backend_name()}; redis: {backends.REDIS_URL}"


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(f"database backend used: {backends.backend_name()}")


@pytest.fixture(scope="session")
def _environment(worker_id):
    """Throwaway database and Redis namespace for this test process."""
    cleanups = []
    if backends.postgres_reachable():
        name = backends.unique_name(worker_id)
        os.environ["TEST_DATABASE_URL"] = backends.create_pg_database(name)
        cleanups.append(lambda: backends.drop_pg_database(name))
        backend = "postgresql"
    else:
        tmp = tempfile.mkdtemp(prefix="fa-sqlite-")
        os.environ["TEST_DATABASE_URL"] = f"sqlite:///{tmp}/test.db"
        backend = "sqlite"
    redis_url = backends.REDIS_URL
    if not backends.redis_reachable(redis_url):
        redis_url, stop = backends.start_private_redis()
        cleanups.append(stop)
    os.environ["TEST_REDIS_URL"] = redis_url
    tag = uuid.uuid4().hex[:8]
    os.environ["TEST_REDIS_KEY_PREFIX"] = f"fa-test-{tag}:"
    os.environ["TEST_RQ_QUEUE_PREFIX"] = f"fa-test-{tag}-"
    yield backend
    for cleanup in reversed(cleanups):
        cleanup()


@pytest.fixture(scope="session")
def app(_environment):
    from flask_migrate import upgrade

    from api import create_app
    from api.extensions import db, redis_client

    app = create_app("testing")
    # No app context stays pushed: each test request gets its own, as in production.
    with app.app_context():
        upgrade()
        _snapshot_reference_rows(db)
        db.session.remove()
    yield app
    with app.app_context():
        r = redis_client()
        prefix = app.config["REDIS_KEY_PREFIX"]
        for pattern in (prefix + "*", "rq:*" + app.config["RQ_QUEUE_PREFIX"] + "*"):
            keys = list(r.scan_iter(pattern, count=1000))
            if keys:
                r.delete(*keys)
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def backend(_environment):
    return _environment


# Rows the first migration loads; kept between tests.
REFERENCE_TABLES = {"device_types", "installation_requirements", "alembic_version"}


@pytest.fixture(autouse=True)
def _clean(request):
    """Empty the tables and this run's Redis keys after each test that used the app."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    from api.common.clock import set_clock
    from api.extensions import db, redis_client

    set_clock(app, None)
    with app.app_context():
        _empty_tables(db, redis_client, app)
    from workers.channels.sms import LogSms

    LogSms.outbox.clear()


# Rows migrations load into tables that tests also write (the default rules):
# emptied with the rest, then put back as the migration left them.
RESTORED_TABLES = ("rules", "escalation_policies", "checklist_templates")
_restored_rows = {}


def _snapshot_reference_rows(db):
    for name in RESTORED_TABLES:
        table = db.metadata.tables[name]
        _restored_rows[name] = [dict(r._mapping) for r in db.session.execute(table.select())]


def _empty_tables(db, redis_client, app):
    from sqlalchemy import text

    tables = [t.name for t in db.metadata.sorted_tables if t.name not in REFERENCE_TABLES]
    # DELETE, not TRUNCATE: on a few rows per table it is many times faster.
    with db.engine.begin() as conn:
        for t in reversed(tables):
            conn.execute(text(f'DELETE FROM "{t}"'))
        for name in RESTORED_TABLES:
            rows = _restored_rows.get(name)
            if rows:
                conn.execute(db.metadata.tables[name].insert(), rows)
    r = redis_client()
    keys = list(r.scan_iter(app.config["REDIS_KEY_PREFIX"] + "*", count=1000))
    keys += list(r.scan_iter("rq:queue:" + app.config["RQ_QUEUE_PREFIX"] + "*", count=1000))
    if keys:
        r.delete(*keys)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    """An app context for test code that reads or writes the database directly."""
    from api.extensions import db

    with app.app_context():
        yield
        db.session.remove()


# Shared by every domain's tests (notices, hazards, patrols… push and move time too).
@pytest.fixture
def push(app):
    saved = {k: app.config.get(k) for k in ("VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY")}
    from tests.notify import helpers as h

    service = h.push_service(app)
    yield service
    service.stop()
    app.config.update(saved)


@pytest.fixture
def clock(app):
    """A controlled clock: clock.at(seconds) moves it to t0 + seconds."""
    from datetime import datetime, timezone

    from api.common.clock import set_clock

    class Clock:
        t0 = datetime(2026, 11, 30, 19, 0, 0, tzinfo=timezone.utc)  # 03:00 in Shanghai
        now = t0

        def at(self, seconds):
            from datetime import timedelta

            self.now = self.t0 + timedelta(seconds=seconds)
            return self.now

    c = Clock()
    set_clock(app, lambda: c.now)
    return c
