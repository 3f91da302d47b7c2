"""What every response carries for the browser's protection, and the bound on ids in URLs.

`register_security(app)` runs in `create_app` before the blueprints are registered
(the `int` converter must be in place when their rules are compiled).
"""

from flask import current_app, request
from werkzeug.routing import IntegerConverter

from api.common.fields import MAX_ID, storable
from api.errors import AppError

# No inline script anywhere: the PWA is built into files, the API docs page loads
# its start-up script from /api/docs/init.js. Inline *styles* only on the docs page
# (Swagger UI sets style attributes); the PWA needs none.
_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",  # photo previews are blob: URLs
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "media-src": "'self' blob:",
    "worker-src": "'self'",
    "manifest-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
CONTENT_SECURITY_POLICY = "; ".join(f"{k} {v}" for k, v in _CSP.items())
DOCS_CONTENT_SECURITY_POLICY = "; ".join(
    f"{k} {v} 'unsafe-inline'" if k == "style-src" else f"{k} {v}" for k, v in _CSP.items())

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    # Photos and patrols use the camera and the position, from this origin only.
    "Permissions-Policy": "camera=(self), geolocation=(self), microphone=(), payment=(), usb=()",
}

DOCS_PATH = "/api/docs"

# The docs page's start-up, as a file (CSP refuses inline script). The page
# (api/templates/swagger_ui.html) carries the document's address as data-spec-url.
DOCS_INIT_JS = """window.addEventListener('load', function () {
  var el = document.getElementById('swagger-ui-container');
  var config = { url: el.dataset.specUrl, dom_id: '#swagger-ui-container', validatorUrl: null };
  Object.assign(config, JSON.parse(el.dataset.config || '{}'));  // OPENAPI_SWAGGER_UI_CONFIG
  window.ui = SwaggerUIBundle(config);
});
"""


class IdConverter(IntegerConverter):
    """`<int:…>` in every route. An id past the database's integer names no row:
    the URL does not match (404) instead of reaching the database (a 500)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def register_security(app):
    app.url_map.converters["int"] = IdConverter

    @app.get(f"{DOCS_PATH}/init.js")
    def swagger_init():
        return current_app.response_class(DOCS_INIT_JS, mimetype="text/javascript")

    app.before_request(refuse_unstorable_text)
    app.after_request(add_security_headers)


# Device and provider endpoints read their raw bodies themselves, and answer a broken
# message in their vendor's terms (api/ingest/store.py keeps NUL out of the database).
RAW_BODY_PATHS = ("/api/v1/ingest/", "/api/v1/notify/callbacks/")
UNSTORABLE = ["text may not contain NUL characters or unpaired surrogates (\\u0000, \\ud800)"]


def refuse_unstorable_text():
    """NUL (and an unpaired surrogate, which JSON's \\ud800 parses into) cannot be stored
    in PostgreSQL text: refused at the door as a 422 rather than a 500 from the database."""
    if not request.path.startswith("/api/"):
        return
    if any(isinstance(v, str) and not storable(v) for v in (request.view_args or {}).values()):
        raise AppError("not_found", status=404)  # no row has such a name
    if request.path.startswith(RAW_BODY_PATHS):
        return
    if any(not storable(k) or not storable(v) for k, v in request.args.items(multi=True)):
        raise AppError("validation_error", status=422, errors={"query": UNSTORABLE})
    if request.is_json and request.content_length:
        if not _storable_json(request.get_json(silent=True)):
            raise AppError("validation_error", status=422, errors={"body": UNSTORABLE})


def _storable_json(value):
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return all(storable(k) and _storable_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable_json(v) for v in value)
    return True


def add_security_headers(response):
    headers = response.headers
    # What the response has set itself stays. Looked up once: werkzeug's Headers answers
    # each `in` or setdefault() for a missing name by raising and catching a KeyError, and
    # nine of them were 6 % of a device request's CPU.
    present = {name.lower() for name in headers.keys()}
    for name, value in HEADERS.items():
        if name.lower() not in present:
            headers.add(name, value)
    if "content-security-policy" not in present:
        docs = request.path == DOCS_PATH or request.path.startswith(DOCS_PATH + "/")
        headers.add("Content-Security-Policy", DOCS_CONTENT_SECURITY_POLICY if docs else CONTENT_SECURITY_POLICY)
    hsts = current_app.config.get("HSTS_SECONDS") or 0
    if hsts and "strict-transport-security" not in present:
        headers.add("Strict-Transport-Security", f"max-age={hsts}; includeSubDomains")
    if request.path.startswith("/api/v1/auth/"):
        headers["Cache-Control"] = "no-store"  # token pairs stay out of every cache
    return response
