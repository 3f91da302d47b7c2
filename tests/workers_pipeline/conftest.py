"""Fixtures for the worker pipeline tests: a fixed clock, the real RQ worker,
and a fake 119 command centre that speaks the real signed-webhook protocol."""

import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock(app):
    """The app's clock, frozen at NOW; `clock.move(dt)` sets it."""
    from api.common.clock import set_clock

    class Clock:
        now = NOW

        def move(self, dt):
            self.now = dt

    c = Clock()
    set_clock(app, lambda: c.now)
    yield c
    set_clock(app, None)


@pytest.fixture
def run_worker(app):
    """Run the real RQ worker in burst mode on the given queues (inside an app context)."""
    from rq import SimpleWorker

    from api.extensions import redis_client
    from workers.queues import get_queue

    def run(*purposes):
        queues = [get_queue(p) for p in (purposes or ("alarms",))]
        SimpleWorker(queues, connection=redis_client()).work(burst=True)

    return run


class Fake119:
    """The 119 command centre's webhook: checks X-Timestamp / X-Signature the way the
    real one does (hex HMAC-SHA256(secret, f"{ts}." + body), ±300 s), answers 401 to
    anything unsigned or badly signed, records every attempt, and answers the status
    codes queued in `answers` before going back to 200."""

    TOLERANCE = 300

    def __init__(self, secret):
        self.secret = secret
        self.attempts = []  # every well-signed request: {"headers", "body", "json", "status"}
        self.received = []  # the JSON bodies answered 2xx
        self.rejected = []  # (reason, headers) of requests answered 401
        self.answers = []  # status codes to give before answering 200
        self.delay = 0.0  # seconds to sit on each well-signed request before answering
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, reason = fake.judge(dict(self.headers), body)
                if fake.delay and status != 401:
                    time.sleep(fake.delay)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                out = json.dumps({"ok": 200 <= status < 300, "reason": reason}).encode()
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a client that gave up waiting (a timeout test) is not our failure

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alarm/v1/fire"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def judge(self, headers, body):
        headers = {k.lower(): v for k, v in headers.items()}
        try:
            stamp = int(headers.get("x-timestamp", ""))
        except ValueError:
            return self._reject("X-Timestamp missing or not Unix seconds", headers)
        if abs(time.time() - stamp) > self.TOLERANCE:
            return self._reject("X-Timestamp too far from our clock", headers)
        expected = hmac.new(self.secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers.get("x-signature", "")):
            return self._reject("X-Signature does not match", headers)
        try:
            data = json.loads(body)
        except ValueError:
            return 400, "not JSON"
        with self.lock:
            status = self.answers.pop(0) if self.answers else 200
            self.attempts.append({"headers": headers, "body": body, "json": data, "status": status,
                                  "at": time.monotonic()})
            if 200 <= status < 300:
                self.received.append(data)
        return status, "accepted" if status == 200 else "try later"

    def _reject(self, reason, headers):
        with self.lock:
            self.rejected.append((reason, headers))
        return 401, reason

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fire119(app):
    """A running fake 119 centre, with app.config["FIRE_119_URL"] pointing at it."""
    old = app.config.get("FIRE_119_URL")
    with Fake119(app.config["FIRE_119_SECRET"]) as server:
        app.config["FIRE_119_URL"] = server.url
        try:
            yield server
        finally:
            app.config["FIRE_119_URL"] = old


@pytest.fixture
def incident(app):
    """An open level-2 incident at a site with an address, and an operator who may confirm it."""
    from api.extensions import db
    from tests import factories as f

    with app.app_context():
        tree = f.city_tree("fire")
        operator = f.user("operator", place=tree["city"])
        inc = f.incident(tree["site"], tree["site_device"])
        db.session.commit()
        out = {"id": inc.id, "site_id": tree["site"].id, "address": tree["site"].address,
               "serial": tree["site_device"].serial, "headers": f.bearer(operator)}
        db.session.remove()
        return out
