"""A savepoint where it is one.

On PostgreSQL `begin_nested()` lets an insert that loses a race fail alone. pysqlite opens
no transaction before a SAVEPOINT, so releasing one opened before any write would commit
the caller's work so far (and a later refusal could not take it back). SQLite serialises
writers anyway, so there the insert joins the caller's transaction; when it loses a race
(the same phone's request twice at once: the loser's insert fails once the winner has
committed) the whole transaction is rolled back before the error goes on, so the caller
can look up the winner's row and answer with it instead of failing on a dead session.
"""

from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError

from api.extensions import db


@contextmanager
def _joined():
    try:
        yield
    except IntegrityError:
        db.session.rollback()
        raise


def insert_savepoint():
    if db.session.get_bind().dialect.name == "sqlite":
        return _joined()
    return db.session.begin_nested()
