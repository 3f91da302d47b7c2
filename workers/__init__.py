"""Background work: RQ jobs, the scheduler, and the delivery channels."""
