from flask_smorest import Blueprint

blp = Blueprint("photos", __name__, url_prefix="/api/v1", description="Photos: upload, re-encode, thumbnails")
