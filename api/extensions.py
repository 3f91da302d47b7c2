"""Extensions are created once here and bound to an app in `create_app`."""

from flask import current_app
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
limiter = Limiter(key_func=get_remote_address)


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

