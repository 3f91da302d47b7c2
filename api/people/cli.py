"""`flask users create` for the first admin of a fresh installation."""

import click
from flask.cli import with_appcontext

from api.extensions import db
from api.people.auth import hash_password
from api.people.models import Membership, User
from api.people.phones import InvalidPhone, normalise_phone

users_cli = click.Group("users", help="Accounts.")


@users_cli.command("create-admin")
@click.option("--phone", required=True)
@click.option("--name", required=True)
@click.password_option()
@with_appcontext
def create_admin(phone, name, password):
    """Create an admin account (or make an existing account admin)."""
    try:
        phone = normalise_phone(phone)
    except InvalidPhone:
        raise click.BadParameter("not a mainland China mobile number", param_hint="--phone") from None
    user = User.query.filter_by(phone=phone).one_or_none()
    if user is None:
        user = User(phone=phone, name=name)
        db.session.add(user)
    user.password_hash = hash_password(password)
    if not any(m.role == "admin" for m in user.memberships):
        user.memberships.append(Membership(role="admin"))
    db.session.commit()
    click.echo(f"admin {name} <{phone}> ready")
