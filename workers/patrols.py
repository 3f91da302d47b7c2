"""Patrol sweep: overdue and missed patrols become level-4 warnings to their owners."""

from workers.queues import job


@job("default", timeout=300)
def patrol_sweep():
    from api.patrols.services import sweep_patrols

    return sweep_patrols()
