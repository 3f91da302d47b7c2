"""What a person may see: the union of the subtrees of their memberships.

A membership in a place covers that place's subtree; a membership in an
organisation covers the subtrees of the places the organisation acts for; an
admin membership covers everything. Filters are prefix matches on the
materialised `path`, so they use an index whatever the table's size.
"""

from dataclasses import dataclass

from flask import g
from sqlalchemy import false, or_, true

from api.errors import AppError, NotFound

# Roles that may hold a membership with no place or organisation.
GLOBAL_ROLES = ("admin", "operator")


@dataclass(frozen=True)
class Scope:
    everything: bool
    prefixes: tuple

    def where(self, path_column):
        if self.everything:
            return true()
        if not self.prefixes:
            return false()
        return or_(*[path_column.startswith(p, autoescape=True) for p in self.prefixes])

    def covers(self, path):
        if self.everything:
            return True
        return bool(path) and any(path.startswith(p) for p in self.prefixes)

    @property
    def empty(self):
        return not self.everything and not self.prefixes


def _minimal(prefixes):
    """Drop prefixes already covered by a shorter one."""
    out = []
    for p in sorted(set(prefixes), key=len):
        if not any(p.startswith(q) for q in out):
            out.append(p)
    return tuple(out)


def scope_of(user, roles=None):
    """The scope `user` holds through memberships whose role is in `roles` (all if None)."""
    prefixes = []
    for m in user.memberships:
        if roles is not None and m.role not in roles:
            continue
        if m.place is not None:
            prefixes.append(m.place.path)
        elif m.organisation is not None:
            prefixes.extend(c.place.path for c in m.organisation.coverage)
        elif m.role in GLOBAL_ROLES:
            return Scope(True, ())
    return Scope(False, _minimal(prefixes))


def current_user():
    user = getattr(g, "current_user", None)
    if user is None:  # routes are all behind jwt_required; this is a programming error
        raise AppError("unauthorized", status=401)
    return user


def roles_of(user):
    return {m.role for m in user.memberships}


def read_scope(user=None):
    return scope_of(user or current_user())


def ensure_visible(path, user=None):
    """404 unless the object at `path` lies in the caller's scope."""
    if not read_scope(user).covers(path):
        raise NotFound()


def ensure_can_write(path, roles, user=None):
    """404 if the object is out of the caller's sight; 403 if seen but not theirs to change."""
    user = user or current_user()
    ensure_visible(path, user)
    if not scope_of(user, roles).covers(path):
        raise AppError("forbidden", status=403)


def ensure_role(roles, user=None):
    """403 unless the caller holds one of `roles` somewhere."""
    user = user or current_user()
    if not roles_of(user) & set(roles):
        raise AppError("forbidden", status=403)
