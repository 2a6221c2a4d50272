"""Training: the LoRA/QLoRA recipe and what it writes to a run folder."""
from core.train.engine import TrainError, TrainResult, read_metrics, train

__all__ = ["TrainError", "TrainResult", "read_metrics", "train"]
