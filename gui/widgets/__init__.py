"""Reusable widgets (forms generated from config dataclasses, …)."""
