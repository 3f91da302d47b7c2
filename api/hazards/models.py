"""Inspections, hazards and rectification: the tables."""
