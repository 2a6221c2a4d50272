"""Scriptorium's engine: everything the app does, callable without Qt (GUI and CLI share it)."""
__version__ = "0.1.0"
