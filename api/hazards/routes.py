from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint

from api.common.idempotency import idempotent
from api.common.openapi import IDEMPOTENCY, SECURED
from api.hazards import inspections, services
from api.hazards.schemas import (
    ChecklistTemplateListSchema,
    ChecklistTemplateQuerySchema,
    ChecklistTemplateSchema,
    HazardCreateSchema,
    HazardDetailSchema,
    HazardPageSchema,
    HazardQuerySchema,
    InspectionCreateSchema,
    InspectionDetailSchema,
    InspectionPageSchema,
    InspectionQuerySchema,
    RectificationSchema,
    ResponsibleCandidateListSchema,
    ResponsibleCandidateQuerySchema,
    ReviewSchema,
)

blp = Blueprint("hazards", __name__, url_prefix="/api/v1", description="Inspections, hazards and rectification")
CREATED_ONCE = ("A replay with the same `id` by the same person answers as the first call and stores "
                "nothing twice; the same `id` with another body, or from another person, is 409 `id_conflict`.")


@blp.route("/checklist-templates")
class ChecklistTemplates(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.arguments(ChecklistTemplateQuerySchema, location="query")
    @blp.response(200, ChecklistTemplateListSchema)
    def get(self, args):
        """Checklist templates (`kind`: inspection | patrol)."""
        return inspections.list_templates(args)

    @idempotent
    @blp.doc(security=SECURED, parameters=[IDEMPOTENCY])
    @blp.arguments(ChecklistTemplateSchema)
    @blp.response(201, ChecklistTemplateSchema)
    def post(self, data):
        """A new checklist template (admins and supervisors)."""
        return inspections.create_template(data)


@blp.route("/checklist-templates/<int:template_id>")
class ChecklistTemplateById(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, ChecklistTemplateSchema)
    def get(self, template_id):
        return inspections.get_template(template_id)


@blp.route("/inspections")
class Inspections(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.arguments(InspectionQuerySchema, location="query")
    @blp.response(200, InspectionPageSchema)
    def get(self, args):
        """Inspections of the sites in scope (and my own), oldest first."""
        return inspections.list_inspections(args)

    @idempotent
    @blp.doc(security=SECURED, parameters=[IDEMPOTENCY], description=(
        "A supervisor's inspection of a site: each failed item becomes a hazard (severity default major, "
        "deadline by severity). " + CREATED_ONCE))
    @blp.arguments(InspectionCreateSchema)
    @blp.response(201, InspectionDetailSchema)
    def post(self, data):
        return inspections.create_inspection(data)


@blp.route("/inspections/<int:inspection_id>")
class InspectionById(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, InspectionDetailSchema)
    def get(self, inspection_id):
        """One inspection with its items and the hazards it found."""
        return inspections.get_inspection(inspection_id)


@blp.route("/hazards")
class Hazards(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.arguments(HazardQuerySchema, location="query")
    @blp.response(200, HazardPageSchema)
    def get(self, args):
        """Hazards of the sites in scope and those I am responsible for (`overdue=true`: the
        supervisor's home screen; `site_id`: a site's whole history, all states)."""
        return services.list_hazards(args)

    @idempotent
    @blp.doc(security=SECURED, parameters=[IDEMPOTENCY], description="A hazard found on site. " + CREATED_ONCE)
    @blp.arguments(HazardCreateSchema)
    @blp.response(201, HazardDetailSchema)
    def post(self, data):
        return services.report_hazard(data)


@blp.route("/hazards/<int:hazard_id>")
class HazardById(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, HazardDetailSchema)
    def get(self, hazard_id):
        """One hazard with its full history (created, submitted, rejected, accepted)."""
        return services.get_hazard(hazard_id)


@blp.route("/hazards/<int:hazard_id>/rectifications")
class HazardRectifications(MethodView):
    decorators = [jwt_required()]

    @idempotent
    @blp.doc(security=SECURED, parameters=[IDEMPOTENCY], description=(
        "The rectification, with photos, by the responsible person or property staff / maintainer of the "
        "site: open → submitted; otherwise 409 `wrong_state`. " + CREATED_ONCE))
    @blp.arguments(RectificationSchema)
    @blp.response(201, HazardDetailSchema)
    def post(self, data, hazard_id):
        return services.submit_rectification(hazard_id, data)


@blp.route("/hazards/<int:hazard_id>/review")
class HazardReview(MethodView):
    decorators = [jwt_required()]

    @idempotent
    @blp.doc(security=SECURED, parameters=[IDEMPOTENCY], description=(
        "A supervisor accepts (→ closed) or rejects (→ open, with a note; `deadline` re-sets it) a submitted "
        "rectification; any other state is 409 `wrong_state`."))
    @blp.arguments(ReviewSchema)
    @blp.response(200, HazardDetailSchema)
    def post(self, data, hazard_id):
        return services.review_hazard(hazard_id, data["decision"], data.get("note"), data.get("deadline"))


@blp.route("/hazards/responsible-candidates")
class ResponsibleCandidates(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.arguments(ResponsibleCandidateQuerySchema, location="query")
    @blp.response(200, ResponsibleCandidateListSchema)
    def get(self, args):
        """Property staff and maintainers of a site, to give a hazard to."""
        return services.responsible_candidates(args["site_id"])
