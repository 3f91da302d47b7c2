from flask import Response
from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint

from api.common.idempotency import idempotent
from api.common.openapi import IDEMPOTENCY, SECURED
from api.patrols import services
from api.patrols.schemas import (
    PatrolItemHazardOutSchema,
    PatrolItemHazardSchema,
    PatrolPlanCreateSchema,
    PatrolPlanPageSchema,
    PatrolPlanPatchSchema,
    PatrolPlanQuerySchema,
    PatrolPlanSchema,
    PatrolRecordCreateSchema,
    PatrolRecordListSchema,
    PatrolRecordQuerySchema,
    PatrolRecordSchema,
    PatrolScanSchema,
    PatrolStatsQuerySchema,
    PatrolStatsSchema,
)

blp = Blueprint("patrols", __name__, url_prefix="/api/v1", description="Patrol plans, checkpoints and records")


@blp.route("/patrol-plans")
class PatrolPlans(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.arguments(PatrolPlanQuerySchema, location="query")
    @blp.response(200, PatrolPlanPageSchema)
    def get(self, args):
        """Plans in my scope and plans I am assigned to."""
        return services.list_plans(args)

    @idempotent
    @blp.doc(security=SECURED, parameters=[IDEMPOTENCY])
    @blp.arguments(PatrolPlanCreateSchema)
    @blp.response(201, PatrolPlanSchema)
    def post(self, data):
        """A plan for a site or a community (property staff, grid worker, station member, supervisor, admin).
        A replay with the same `id` returns the first answer."""
        return services.plan_view(services.create_plan(data))


@blp.route("/patrol-plans/<int:plan_id>")
class PatrolPlanById(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, PatrolPlanSchema)
    def get(self, plan_id):
        return services.plan_view(services.get_plan(plan_id))

    @idempotent
    @blp.doc(security=SECURED, parameters=[IDEMPOTENCY])
    @blp.arguments(PatrolPlanPatchSchema)
    @blp.response(200, PatrolPlanSchema)
    def patch(self, data, plan_id):
        """Change a plan; `checkpoints` is the whole ordered list (kept ids keep their labels)."""
        return services.plan_view(services.update_plan(plan_id, data))


@blp.route("/patrol-plans/<int:plan_id>/labels.svg")
class PatrolPlanLabelsSvg(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED, responses={200: {"description": "A4 sheet(s), one signed QR per checkpoint",
                                                "content": {"image/svg+xml": {}}}})
    def get(self, plan_id):
        return Response(services.plan_labels(plan_id, "svg"), mimetype="image/svg+xml",
                        headers={"Content-Disposition": f'inline; filename="patrol-{plan_id}-labels.svg"'})


@blp.route("/patrol-plans/<int:plan_id>/labels.pdf")
class PatrolPlanLabelsPdf(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED, responses={200: {"description": "A4 pages, one signed QR per checkpoint",
                                                "content": {"application/pdf": {}}}})
    def get(self, plan_id):
        return Response(services.plan_labels(plan_id, "pdf"), mimetype="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="patrol-{plan_id}-labels.pdf"'})


@blp.route("/checkpoints/scan/<string:code>")
class CheckpointScan(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, PatrolScanSchema)
    def get(self, code):
        """What a label opens: the checkpoint, its plan and checklist. A forged code → 404 unknown_checkpoint."""
        return services.scan(code)


@blp.route("/patrol-records")
class PatrolRecords(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.arguments(PatrolRecordQuerySchema, location="query")
    @blp.response(200, PatrolRecordListSchema)
    def get(self, args):
        """Records in scope, mine, and those of plans I am assigned to; newest first."""
        return services.list_records(args)

    @idempotent
    @blp.doc(security=SECURED, parameters=[IDEMPOTENCY])
    @blp.arguments(PatrolRecordCreateSchema)
    @blp.response(201, PatrolRecordSchema)
    def post(self, data):
        """One checkpoint scanned: stored once per `id`; `distance_m` and `far_from_checkpoint` from the GPS fix."""
        return services.record_view(services.create_record(data))


@blp.route("/patrol-records/<string:record_id>/items/<string:key>/hazard")
class PatrolItemToHazard(MethodView):
    decorators = [jwt_required()]

    @idempotent
    @blp.doc(security=SECURED, parameters=[IDEMPOTENCY])
    @blp.arguments(PatrolItemHazardSchema)
    @blp.response(201, PatrolItemHazardOutSchema)
    @blp.alt_response(200, schema=PatrolItemHazardOutSchema, description="The item's hazard already existed")
    def post(self, data, record_id, key):
        """A failed item becomes a hazard in one tap; a second tap returns the same hazard (200)."""
        answer, created = services.item_hazard(record_id, key, data)
        return answer if created else (answer, 200)


@blp.route("/patrol-stats")
class PatrolStats(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.arguments(PatrolStatsQuerySchema, location="query")
    @blp.response(200, PatrolStatsSchema)
    def get(self, args):
        """Completion per site, plan, person and day: periods due, completed, partial (some checkpoints), missed."""
        return services.patrol_stats(args)
