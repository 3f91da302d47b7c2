"""Browser tests: Debian's chromium (/usr/bin/chromium) driven by the Python
`playwright` package against a real HTTP server that serves create_app("testing")
(the suite's test database) and the built pwa/dist.

One server per test process, one browser per module, one fresh browser context
(profile) per test: tables are emptied after every test (tests/conftest.py), so
each test builds its own world and logs in.

Never `playwright install`: `make chromium` installs Debian's chromium. Without
it (or without the playwright package) these tests skip and say why.
"""

import logging
import os
import threading
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 390, "height": 844}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _why_no_browser():
    if not os.access(CHROMIUM, os.X_OK):
        return f"no chromium at {CHROMIUM}: run `make chromium` (apt-get install chromium) to run the browser tests"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is missing: pip install -r requirements-dev.txt"
    return None


@pytest.fixture(scope="session")
def live_server(app):
    """http://127.0.0.1:<free port> serving the test app and pwa/dist in a thread."""
    reason = _why_no_browser()
    if reason:
        pytest.skip(reason)
    dist = Path(app.config["PWA_DIST"])
    if not (dist / "index.html").is_file() or not (dist / "sw.js").is_file():
        pytest.fail(f"the PWA is not built: {dist} has no index.html/sw.js; run `make pwa`")
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):
            pass

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
    thread = threading.Thread(target=server.serve_forever, name="pwa-live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(live_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def context(browser, live_server):
    """A phone: zh-CN, Asia/Shanghai, 390×844, touch; its own empty profile."""
    ctx = browser.new_context(base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai", viewport=VIEWPORT,
                              device_scale_factor=1, is_mobile=True, has_touch=True, service_workers="allow")
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def push(app):
    """A fake push service (the real protocol, tests/fakes) and VAPID keys for the app."""
    from api.notify.cli import generate_vapid_keys
    from tests.fakes.push_service import FakePushService

    saved = {k: app.config.get(k) for k in ("VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY", "VAPID_SUBJECT")}
    public, private = generate_vapid_keys()
    app.config.update(VAPID_PUBLIC_KEY=public, VAPID_PRIVATE_KEY=private, VAPID_SUBJECT="mailto:ops@example.cn")
    service = FakePushService(public).start()
    yield service
    service.stop()
    app.config.update(saved)
