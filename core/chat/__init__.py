"""Chat: backends that stream replies from the base or tuned model."""
from core.chat.transformers_backend import TransformersChat

__all__ = ["TransformersChat"]
