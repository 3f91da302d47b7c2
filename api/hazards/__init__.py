"""Inspections, hazards and rectification."""
