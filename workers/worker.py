"""The RQ worker classes, and which worker processes `make run` and `make bench` start.

Two kinds:

- forking (RQ's `Worker`): a work horse forked per job, so a job that leaks, hangs or
  crashes takes only its horse with it. A fork costs 0.3-0.5 CPU-s per job on this
  machine under load: fine for sweeps and the ingest backlog, too much for a push that
  must reach a phone within a fraction of a second.
- in-process (RQ's `SimpleWorker`): the job runs in the worker itself, in an app context
  of its own (a fresh database session, removed after the job). For the urgent queues.

With two or more processes the first takes only the urgent queues and runs them
in-process, so an alarm's push never waits behind a long job or a fork; the others take
every queue, most urgent first, forking. A killed worker loses nothing either way: the
job's rows are in the database and the auditor re-queues what was left pending.
"""

from flask import current_app
from rq import SimpleWorker, Worker

from workers.queues import QUEUES

URGENT = ("alarms", "notify")
SERVING = ()  # the queues (purposes) this process's worker takes; set by `flask rq worker`


def serves_urgent():
    """Whether this process (a worker, or its forked horse) also takes urgent queues: a
    long job here should make way when an urgent one waits (api/ingest/backlog.py)."""
    return any(q in SERVING for q in URGENT)


class ForkingWorker(Worker):
    def main_work_horse(self, job, queue):
        from api.extensions import db

        # The forked horse must not share the parent's database sockets.
        db.engine.dispose(close=False)
        return super().main_work_horse(job, queue)


class InProcessWorker(SimpleWorker):
    def execute_job(self, job, queue):
        from api.extensions import db

        with current_app._get_current_object().app_context():
            try:
                return super().execute_job(job, queue)
            finally:
                db.session.remove()


def plan(processes):
    """[(queues, fork)] for `processes` worker processes."""
    if processes <= 1:
        return [(QUEUES, True)]
    return [(URGENT, False)] + [(QUEUES, True)] * (processes - 1)


def command(queues, fork):
    """The `flask rq worker` arguments for one entry of plan()."""
    return ["rq", "worker", *queues, *([] if fork else ["--no-fork"])]


def preload():
    """Import what jobs use once in the worker, so each forked horse (or each in-process
    job) starts with it: measured, a one-push job 0.69 s -> 0.50 s forked, under load."""
    import workers.channels.push  # noqa: F401
    import workers.delivery  # noqa: F401
