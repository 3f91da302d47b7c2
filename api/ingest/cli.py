"""`flask integration create` and `flask ingest mqtt`."""

import click
from flask.cli import with_appcontext

from api.ingest.models import INTEGRATION_KINDS

integration_cli = click.Group("integration", help="Device integrations.")
ingest_cli = click.Group("ingest", help="Device message ingest processes.")


@integration_cli.command("create")
@click.option("--kind", type=click.Choice(INTEGRATION_KINDS), required=True)
@click.option("--name", required=True)
@click.option("--base-url", default=None, help="Public address of this platform, for the vendor URL.")
@with_appcontext
def create(kind, name, base_url):
    """Create an integration and print what to give the vendor."""
    from api.ingest.services import create_integration, vendor_url

    integration = create_integration(kind, name)
    click.echo(f"key id:  {integration.key_id}")
    click.echo(f"secret:  {integration.secret}")
    click.echo(f"url:     {vendor_url(integration, base_url)}")


@ingest_cli.command("mqtt")
@with_appcontext
def mqtt():
    """Subscribe to every MQTT integration's topic and ingest its messages."""
    from api.ingest.mqtt import run_forever

    run_forever()
