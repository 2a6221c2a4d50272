"""Formats: how corpus chunks are presented to the model (plain text, chat, …)."""
from core.formats.builder import BuiltDataset, build_dataset
from core.formats.renderers import RENDERERS, encode

__all__ = ["BuiltDataset", "RENDERERS", "build_dataset", "encode"]
