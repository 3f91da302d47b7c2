"""The place tree (city → … → household) and the organisations that serve it."""

from sqlalchemy import CheckConstraint, Index, UniqueConstraint

from api.common.clock import utcnow
from api.common.types import UTCDateTime
from api.extensions import db

# The tree, top to bottom. A node's parent is always of the previous kind.
PLACE_KINDS = ("city", "district", "street", "community", "grid", "site", "household")
PARENT_KIND = {k: (PLACE_KINDS[i - 1] if i else None) for i, k in enumerate(PLACE_KINDS)}

# Site categories of the installation-standard table (shared/DOMAIN.md).
SITE_CATEGORIES = {
    "automatic_facilities": ("设有自动消防设施的场所", "Premises with automatic fire facilities"),
    "heritage_building": ("文物建筑", "Heritage building"),
    "dormitory": ("集体宿舍", "Dormitory"),
    "group_rental": ("群租房", "Group rental"),
    "hospital_ward": ("医院病房", "Hospital ward"),
    "nine_small_places": ("九小场所", "Nine small places"),
    "other_premises": ("其他未设自动消防设施的场所", "Other premises"),
    "high_rise_residential": ("高层住宅", "High-rise residential"),
    "low_rise_residential": ("单、多层住宅", "Single/multi-storey residential"),
    "shanty_area": ("棚户区", "Shanty area"),
    "city_road": ("城市道路", "City road"),
}
CROWDED_CATEGORIES = ("heritage_building", "dormitory", "group_rental", "hospital_ward", "nine_small_places")

ORG_KINDS = ("property_company", "micro_station", "maintenance_company", "industry_department")
INDUSTRY_SECTORS = ("education", "health", "civil_affairs", "culture_tourism", "commerce", "other")


class Place(db.Model):
    __tablename__ = "places"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('city','district','street','community','grid','site','household')",
            name="kind",
        ),
        Index("ix_places_path_prefix", "path", postgresql_ops={"path": "text_pattern_ops"}),
        Index("ix_places_parent_id_kind", "parent_id", "kind"),
    )

    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(db.String(16), nullable=False)
    parent_id = db.Column(db.Integer, db.ForeignKey("places.id", ondelete="RESTRICT"))
    # Materialised path of ids, "/1/4/9/": a subtree is one indexed prefix match.
    path = db.Column(db.String(255), nullable=False, default="")
    code = db.Column(db.String(64), nullable=False, unique=True)
    name = db.Column(db.String(200), nullable=False)
    category = db.Column(db.String(32))  # sites only
    address = db.Column(db.String(300))
    lat = db.Column(db.Float)  # WGS-84
    lng = db.Column(db.Float)
    floors = db.Column(db.Integer)  # sites: storeys above ground
    floor = db.Column(db.Integer)  # households: the storey they are on
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    parent = db.relationship("Place", remote_side=[id], lazy="joined", innerjoin=False)


class Organisation(db.Model):
    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('property_company','micro_station','maintenance_company','industry_department')",
            name="kind",
        ),
    )

    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(db.String(32), nullable=False)
    name = db.Column(db.String(200), nullable=False)
    sector = db.Column(db.String(32))  # industry departments only
    contact_phone = db.Column(db.String(20))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    coverage = db.relationship(
        "OrgCoverage", cascade="all, delete-orphan", lazy="selectin", back_populates="organisation"
    )


class OrgCoverage(db.Model):
    """The places an organisation acts for: a station covers communities, a
    maintenance company serves sites, a department owns sites, a property
    company manages sites or communities."""

    __tablename__ = "org_coverage"
    __table_args__ = (UniqueConstraint("org_id", "place_id"),)

    id = db.Column(db.Integer, primary_key=True)
    org_id = db.Column(db.Integer, db.ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False)
    place_id = db.Column(db.Integer, db.ForeignKey("places.id", ondelete="CASCADE"), nullable=False, index=True)

    organisation = db.relationship("Organisation", back_populates="coverage")
    place = db.relationship("Place", lazy="joined")
