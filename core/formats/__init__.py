"""Formats: how corpus chunks are presented to the model (plain, markdown, json, yaml, instruction,
chat, qa, paraphrase, custom), the dataset builder, its preview and its export to other tools."""
from core.formats.builder import BuiltDataset, build_dataset
from core.formats.renderers import RENDERERS, encode

__all__ = ["BuiltDataset", "RENDERERS", "build_dataset", "encode"]
