"""Patrol plans, checkpoints and records: the tables."""
