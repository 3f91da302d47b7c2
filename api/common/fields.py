"""Schema fields shared by the domains."""

from marshmallow import fields, validate

# Ids are PostgreSQL `integer` columns: a larger number can name no row, and the
# database would refuse to compare with it (a 500) instead of finding nothing.
MAX_ID = 2**31 - 1


class Id(fields.Integer):
    """A row id given by the client: a positive 32-bit integer."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", validate.Range(min=1, max=MAX_ID))
        super().__init__(**kwargs)


def storable(text):
    """Whether PostgreSQL can keep this text: no NUL and no unpaired surrogate (JSON's
    \\u0000 and \\ud800 escapes parse into both; the database refuses them with a 500)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
