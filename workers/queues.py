"""Queues named by purpose, and the one decorator every job uses.

A job takes ids, not ORM objects, runs inside an app context, and has a fixed
queue and timeout. Queue names carry the configured prefix so a test run and
the development system never share a queue on one Redis; so do job ids, because
RQ keeps every job under one global key (rq:job:<id>): without the prefix two
deployments' "fire119-7" would overwrite, and emptying one queue delete, the other's.
"""

import functools

from flask import current_app, has_app_context

QUEUES = ("alarms", "notify", "ingest", "default")  # most urgent first
_app = None


def _ensure_app():
    global _app
    if _app is None:
        from api import create_app

        _app = create_app()
    return _app


def queue_name(purpose):
    return current_app.config["RQ_QUEUE_PREFIX"] + purpose


def get_queue(purpose):
    from rq import Queue

    from api.extensions import redis_client

    return Queue(queue_name(purpose), connection=redis_client())


def job(queue, timeout):
    """Declare a job: `@job("notify", timeout=30)`; `func.enqueue(*args, job_id=...)` queues it."""

    def wrap(func):
        @functools.wraps(func)
        def run(*args, **kwargs):
            if has_app_context():
                return func(*args, **kwargs)
            with _ensure_app().app_context():
                return func(*args, **kwargs)

        def enqueue(*args, job_id=None, **kwargs):
            q = get_queue(queue)
            return q.enqueue_call(
                func=f"{func.__module__}.{func.__name__}",
                args=args,
                kwargs=kwargs,
                timeout=timeout,
                job_id=current_app.config["RQ_QUEUE_PREFIX"] + job_id if job_id else None,
                result_ttl=3600,
                failure_ttl=7 * 86400,
            )

        run.enqueue = enqueue
        run.queue = queue
        run.timeout = timeout
        return run

    return wrap
