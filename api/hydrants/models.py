"""Hydrants, damage reports and work orders: the tables."""
