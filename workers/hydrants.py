"""Hydrant work orders past their deadline: the maintainer is warned once each
(api.hydrants.work_orders owns the rule; the notice key makes a rerun a no-op)."""

from workers.queues import job


@job("default", timeout=300)
def work_order_overdue_sweep():
    from api.hydrants.work_orders import sweep_overdue_work_orders

    return sweep_overdue_work_orders()
