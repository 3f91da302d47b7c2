from flask_smorest import Blueprint

blp = Blueprint("patrols", __name__, url_prefix="/api/v1", description="Patrol plans, checkpoints and records")
