from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint

from api.common.openapi import SECURED
from api.places import services
from api.places.models import SITE_CATEGORIES
from api.places.schemas import (
    OrganisationPageSchema,
    OrganisationQuerySchema,
    OrganisationSchema,
    OrganisationUpdateSchema,
    PlacePageSchema,
    PlaceQuerySchema,
    PlaceSchema,
    PlaceUpdateSchema,
    SiteCategorySchema,
)

blp = Blueprint("places", __name__, url_prefix="/api/v1", description="Place tree and organisations")


@blp.route("/places")
class Places(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.arguments(PlaceQuerySchema, location="query")
    @blp.response(200, PlacePageSchema)
    def get(self, args):
        """Places in the caller's scope."""
        return services.list_places(args)

    @blp.doc(security=SECURED)
    @blp.arguments(PlaceSchema)
    @blp.response(201, PlaceSchema)
    def post(self, data):
        """Add a place under its parent (admins)."""
        return services.create_place(data)


@blp.route("/places/<int:place_id>")
class PlaceById(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, PlaceSchema)
    def get(self, place_id):
        return services.get_place(place_id)

    @blp.doc(security=SECURED)
    @blp.arguments(PlaceUpdateSchema)
    @blp.response(200, PlaceSchema)
    def patch(self, data, place_id):
        return services.update_place(place_id, data)

    @blp.doc(security=SECURED)
    @blp.response(204)
    def delete(self, place_id):
        services.delete_place(place_id)


@blp.route("/site-categories")
class SiteCategories(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, SiteCategorySchema(many=True))
    def get(self):
        """The site categories of the installation standard."""
        return [{"code": k, "name_zh": zh, "name_en": en} for k, (zh, en) in SITE_CATEGORIES.items()]


@blp.route("/organisations")
class Organisations(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.arguments(OrganisationQuerySchema, location="query")
    @blp.response(200, OrganisationPageSchema)
    def get(self, args):
        result = services.list_organisations(args)
        return {"items": [services.org_dump(o) for o in result["items"]], "next_after": result["next_after"]}

    @blp.doc(security=SECURED)
    @blp.arguments(OrganisationSchema)
    @blp.response(201, OrganisationSchema)
    def post(self, data):
        return services.org_dump(services.create_organisation(data))


@blp.route("/organisations/<int:org_id>")
class OrganisationById(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, OrganisationSchema)
    def get(self, org_id):
        return services.org_dump(services.get_organisation(org_id))

    @blp.doc(security=SECURED)
    @blp.arguments(OrganisationUpdateSchema)
    @blp.response(200, OrganisationSchema)
    def patch(self, data, org_id):
        return services.org_dump(services.update_organisation(org_id, data))
