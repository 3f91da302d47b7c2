"""A savepoint where it is one.

On PostgreSQL `begin_nested()` lets an insert that loses a race fail alone. pysqlite opens
no transaction before a SAVEPOINT, so releasing one opened before any write would commit
the caller's work so far (and a later refusal could not take it back). SQLite serialises
writers anyway, so there the insert simply joins the caller's transaction.
"""

from contextlib import nullcontext

from api.extensions import db


def insert_savepoint():
    if db.session.get_bind().dialect.name == "sqlite":
        return nullcontext()
    return db.session.begin_nested()
