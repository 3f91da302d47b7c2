from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint

from api.common.idempotency import idempotent
from api.common.openapi import IDEMPOTENCY, SECURED
from api.hydrants import services, work_orders
from api.hydrants.schemas import (
    HydrantCreateSchema,
    HydrantNearestQuerySchema,
    HydrantNearestSchema,
    HydrantPageSchema,
    HydrantPressureQuerySchema,
    HydrantPressureSchema,
    HydrantQuerySchema,
    HydrantReportCreateSchema,
    HydrantReportQuerySchema,
    HydrantReportSchema,
    HydrantSchema,
    HydrantUpdateSchema,
    ReportPageSchema,
    WorkOrderPageSchema,
    WorkOrderQuerySchema,
    WorkOrderSchema,
    WorkOrderUpdateCreateSchema,
)
from api.people.scopes import current_user

blp = Blueprint("hydrants", __name__, url_prefix="/api/v1", description="Hydrants, damage reports and work orders")


@blp.route("/hydrants")
class Hydrants(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.arguments(HydrantQuerySchema, location="query")
    @blp.response(200, HydrantPageSchema)
    def get(self, args):
        """Hydrants in scope (and those my maintenance company keeps); `near=lat,lng` sorts by distance."""
        return services.list_hydrants(current_user(), args)

    @idempotent
    @blp.doc(security=SECURED, parameters=[IDEMPOTENCY])
    @blp.arguments(HydrantCreateSchema)
    @blp.response(201, HydrantSchema)
    def post(self, data):
        """Register a hydrant (admin, supervisor in scope, maintainer for their company)."""
        return services.hydrant_view(services.create_hydrant(current_user(), data))


@blp.route("/hydrants/nearest")
class HydrantsNearest(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.arguments(HydrantNearestQuerySchema, location="query")
    @blp.response(200, HydrantNearestSchema)
    def get(self, args):
        """The nearest hydrants to a WGS-84 point, with distance and latest pressure."""
        return services.nearest_hydrants(current_user(), args)


@blp.route("/hydrants/<int:hydrant_id>")
class HydrantById(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, HydrantSchema)
    def get(self, hydrant_id):
        return services.hydrant_view(services.get_hydrant(current_user(), hydrant_id))

    @idempotent
    @blp.doc(security=SECURED, parameters=[IDEMPOTENCY])
    @blp.arguments(HydrantUpdateSchema)
    @blp.response(200, HydrantSchema)
    def patch(self, data, hydrant_id):
        return services.hydrant_view(services.update_hydrant(current_user(), hydrant_id, data))


@blp.route("/hydrants/<int:hydrant_id>/pressure")
class HydrantPressure(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.arguments(HydrantPressureQuerySchema, location="query")
    @blp.response(200, HydrantPressureSchema)
    def get(self, args, hydrant_id):
        """Pressure history from the linked device's telemetry (`pressure_mpa`), newest first."""
        return services.pressure_history(current_user(), hydrant_id, args)


@blp.route("/hydrant-reports")
class HydrantReports(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.arguments(HydrantReportQuerySchema, location="query")
    @blp.response(200, ReportPageSchema)
    def get(self, args):
        """My reports, and those in scope or for my maintenance company."""
        return work_orders.list_reports(current_user(), args)

    @idempotent
    @blp.doc(security=SECURED, parameters=[IDEMPOTENCY])
    @blp.arguments(HydrantReportCreateSchema)
    @blp.response(201, HydrantReportSchema)
    def post(self, data):
        """Report a damaged hydrant (anyone signed in): opens a work order for its maintainer."""
        return work_orders.report_view(work_orders.create_report(current_user(), data))


@blp.route("/hydrant-reports/<int:report_id>")
class HydrantReportById(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, HydrantReportSchema)
    def get(self, report_id):
        return work_orders.report_view(work_orders.get_report(current_user(), report_id))


@blp.route("/work-orders")
class WorkOrders(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.arguments(WorkOrderQuerySchema, location="query")
    @blp.response(200, WorkOrderPageSchema)
    def get(self, args):
        """Hydrant work orders in scope or of my maintenance company."""
        return work_orders.list_work_orders(current_user(), args)


@blp.route("/work-orders/<int:work_order_id>")
class WorkOrderById(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, WorkOrderSchema)
    def get(self, work_order_id):
        return work_orders.work_order_view(work_orders.get_work_order(current_user(), work_order_id))


@blp.route("/work-orders/<int:work_order_id>/updates")
class WorkOrderUpdates(MethodView):
    decorators = [jwt_required()]

    @idempotent
    @blp.doc(security=SECURED, parameters=[IDEMPOTENCY])
    @blp.arguments(WorkOrderUpdateCreateSchema)
    @blp.response(201, WorkOrderSchema)
    def post(self, data, work_order_id):
        """Move the work order on (its maintenance company): accepted, in_progress, fixed (with a
        closing photo; the reporter is told) or rejected. 409 wrong_state from a closed one."""
        return work_orders.work_order_view(work_orders.add_update(current_user(), work_order_id, data))
