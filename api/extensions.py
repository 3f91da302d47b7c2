"""Extensions are created once here and bound to an app in `create_app`."""

from flask import current_app, request
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

from api.errors import JsonApi

# Stable constraint names so migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()
jwt = JWTManager()
smorest = JsonApi()
# Signed device endpoints: counted per integration key (api/ingest/ratelimit.py), not by
# flask-limiter.
DEVICE_PATHS = ("/api/v1/ingest/events", "/api/v1/ingest/onenet/", "/api/v1/ingest/ctwing/")


class _Limiter(Limiter):
    """flask-limiter, whose before-request check skips the device endpoints outright
    (no limits looked up and filtered for each of a thousand messages a second, no
    X-RateLimit headers). A limit decorated on a view still applies."""

    def _check_request_limit(self, callable_name=None, in_middleware=True):
        if in_middleware and request.path.startswith(DEVICE_PATHS):
            return
        super()._check_request_limit(callable_name=callable_name, in_middleware=in_middleware)


limiter = _Limiter(key_func=get_remote_address)


def redis_client():
    """The app's Redis connection, made on first use (never at import)."""
    import redis

    ext = current_app.extensions
    client = ext.get("fa_redis")
    if client is None:
        client = redis.Redis.from_url(
            current_app.config["REDIS_URL"],
            socket_timeout=5,
            socket_connect_timeout=3,
            health_check_interval=30,
        )
        ext["fa_redis"] = client
    return client


def rkey(*parts):
    """A namespaced Redis key."""
    return current_app.config["REDIS_KEY_PREFIX"] + ":".join(str(p) for p in parts)

