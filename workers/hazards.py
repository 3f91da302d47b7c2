"""Hazards past their rectification deadline: warned once each (services own the rule)."""

from workers.queues import job


@job("default", timeout=300)
def hazard_overdue_sweep():
    from api.hazards.services import sweep_overdue_hazards

    return sweep_overdue_hazards()
