from flask_smorest import Blueprint

blp = Blueprint("hazards", __name__, url_prefix="/api/v1", description="Inspections, hazards and rectification")
