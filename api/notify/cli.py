"""`flask push keys`: VAPID keys for Web Push."""

import click

push_cli = click.Group("push", help="Web Push.")


def generate_vapid_keys():
    """(public key as the browser wants it, private key as pywebpush takes it), both base64url."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from py_vapid import Vapid

    vapid = Vapid()
    vapid.generate_keys()
    raw_public = vapid.public_key.public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.UncompressedPoint)
    raw_private = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    return b64(raw_public), b64(raw_private)


@push_cli.command("keys")
@click.option("--write", "path", type=click.Path(dir_okay=False), default=None,
              help="Also write them as KEY=value lines to this file (kept if it exists).")
def keys(path):
    """Generate a VAPID key pair and print it as environment variables."""
    import os

    if path and os.path.exists(path):
        click.echo(f"{path} exists; keeping its keys")
        return
    public, private = generate_vapid_keys()
    lines = f"VAPID_PUBLIC_KEY={public}\nVAPID_PRIVATE_KEY={private}\n"
    click.echo(lines, nl=False)
    if path:
        with open(path, "w") as fh:
            fh.write(lines)
        os.chmod(path, 0o600)
