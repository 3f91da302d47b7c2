"""Delivery channels: one module each, one base class (see base.py)."""
