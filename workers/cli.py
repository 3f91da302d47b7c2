"""`flask rq worker|scheduler`."""

import click
from flask import current_app
from flask.cli import with_appcontext

rq_cli = click.Group("rq", help="Background workers.")


@rq_cli.command("worker")
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--fork/--no-fork", default=True, show_default=True,
              help="A work horse forked per job, or each job in this process (workers/worker.py).")
@with_appcontext
def worker(queues, burst, fork):
    """Run an RQ worker on the given queues (default: all, most urgent first)."""
    from api.extensions import redis_client
    from workers import worker as kinds
    from workers.queues import QUEUES, queue_name

    unknown = sorted(set(queues) - set(QUEUES))
    if unknown:
        raise click.BadParameter(f"unknown queue(s) {', '.join(unknown)}; known: {', '.join(QUEUES)}")
    names = [queue_name(q) for q in (queues or QUEUES)]
    kinds.SERVING = tuple(queues or QUEUES)
    kinds.preload()
    cls = kinds.ForkingWorker if fork else kinds.InProcessWorker
    w = cls(names, connection=redis_client())
    current_app.logger.info("worker on %s (%s)", ", ".join(names), "forking" if fork else "in-process")
    w.work(burst=burst, with_scheduler=False)


@rq_cli.command("scheduler")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between ticks.")
@with_appcontext
def scheduler(interval):
    """Run the periodic scheduler."""
    from workers.scheduler import run_forever

    run_forever(interval=interval)
