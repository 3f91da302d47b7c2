from flask_smorest import Blueprint

blp = Blueprint("hydrants", __name__, url_prefix="/api/v1", description="Hydrants, damage reports and work orders")
