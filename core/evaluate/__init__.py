"""Evaluation: did the model learn the user's books, and what did it lose? (exam, probes, verdict)."""
from core.evaluate.job import EvaluateError, evaluate
from core.evaluate.questions import Question, load_questions

__all__ = ["EvaluateError", "Question", "evaluate", "load_questions"]
