"""Bundled resources: the user manual (also the demo's training text), later icons and translations."""
