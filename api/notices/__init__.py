"""Notices: warnings and news that do not come from a device — a patrol overdue,
a hazard past its deadline, a work order assigned, a reported hydrant fixed."""
