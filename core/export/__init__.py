"""Export: a run's LoRA as a llama.cpp GGUF adapter or merged model, Modelfiles, verification."""
from core.export.gguf_lora import ExportError
from core.export.job import export_run

__all__ = ["ExportError", "export_run"]
