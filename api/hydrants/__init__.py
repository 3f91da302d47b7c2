"""Hydrants, damage reports and work orders."""
