"""`flask demo seed`: a believable Ji'an-like city, loaded once."""

import click
from flask.cli import with_appcontext

demo_cli = click.Group("demo", help="Demo data.")


@demo_cli.command("seed")
@with_appcontext
def seed():
    """Load the demo city (idempotent) and print the demo accounts."""
    from api.demo.seed import ACCOUNTS, seed_demo

    created = seed_demo()
    click.echo("demo data loaded" if created else "demo data already present")
    for role, phone, password in ACCOUNTS:
        click.echo(f"  {role:15s} {phone}  {password}")
