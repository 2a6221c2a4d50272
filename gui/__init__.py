"""Scriptorium's desktop GUI: thin Qt views over ``core``; jobs run in background threads."""
