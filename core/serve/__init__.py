"""Serve a project's model over an OpenAI-compatible HTTP API (llama-cpp-python's server)."""
from core.serve.keys import api_key
from core.serve.server import ServeError, ServedModels, ServerHandle, check_host, served_models

__all__ = ["ServeError", "ServedModels", "ServerHandle", "api_key", "check_host", "served_models"]
