"""Migrations: one head, and upgrading an empty database gives exactly the models."""

import os
import tempfile

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from sqlalchemy import create_engine

from tests import backends


def test_one_head(app):
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, heads


def test_upgrade_from_empty_matches_the_models(app, backend):
    from api import create_app
    from api.extensions import db

    if backend == "postgresql":
        name = backends.unique_name("mig")
        url = backends.create_pg_database(name)
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/mig.db"
    old = os.environ.get("TEST_DATABASE_URL")
    os.environ["TEST_DATABASE_URL"] = url
    try:
        fresh = create_app("testing")
        with fresh.app_context():
            upgrade()
            engine = create_engine(fresh.config["SQLALCHEMY_DATABASE_URI"])
            with engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
            engine.dispose()
            db.session.remove()
            db.engine.dispose()
    finally:
        os.environ["TEST_DATABASE_URL"] = old
        if backend == "postgresql":
            backends.drop_pg_database(name)
    assert diff == []
