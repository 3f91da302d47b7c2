"""Liveness and readiness."""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import text

from api.extensions import db, redis_client

blp = Blueprint("health", __name__, url_prefix="/api", description="Health")


class HealthSchema(Schema):
    status = fields.String()
    database = fields.String()
    redis = fields.String()


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    def get(self):
        """Is the service up? Reports the database and Redis."""
        out = {"status": "ok", "database": "ok", "redis": "ok"}
        try:
            db.session.execute(text("SELECT 1"))
        except Exception:  # readiness reports, it does not raise
            out["database"] = "down"
            out["status"] = "degraded"
        try:
            redis_client().ping()
        except Exception:
            out["redis"] = "down"
            out["status"] = "degraded"
        return out
