from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint

from api.common.openapi import SECURED
from api.notices import services
from api.notices.schemas import NoticePageSchema, NoticeQuerySchema, NoticeSchema
from api.people.scopes import current_user

blp = Blueprint("notices", __name__, url_prefix="/api/v1", description="My notices: overdue patrols, hazards, work orders")


@blp.route("/me/notices")
class MyNotices(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.arguments(NoticeQuerySchema, location="query")
    @blp.response(200, NoticePageSchema)
    def get(self, args):
        """My notices, newest first (`before` pages back)."""
        return services.my_notices(current_user(), args)


@blp.route("/me/notices/<int:notice_id>/read")
class NoticeRead(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, NoticeSchema)
    def post(self, notice_id):
        """Mark one of my notices read."""
        return services.mark_read(current_user(), notice_id)
