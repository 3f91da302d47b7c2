from flask_smorest import Blueprint

from api.hazards import models  # noqa: F401  (registers the tables)

blp = Blueprint("hazards", __name__, url_prefix="/api/v1", description="Inspections, hazards and rectification")
