"""Training: the LoRA/QLoRA recipe, packing, checkpoints, and the child-process runner."""
from core.train.engine import train
from core.train.results import TrainError, TrainResult, read_metrics

__all__ = ["TrainError", "TrainResult", "read_metrics", "train"]
