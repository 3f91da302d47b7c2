"""Patrol plans, checkpoints and records."""
