"""Quiet by default: libraries' start-up chatter kept off the user's terminal and log.

Called first thing by every entry point (CLI, desktop app, the training child process),
*before* anything imports peft or bitsandbytes: bitsandbytes logs "Failed to load CPU
gemm_4bit_forward … kernels" at import time on CPUs with AVX512-BF16, and with no handler
configured Python's last-resort handler prints it to stderr. Setting the level on the parent
logger beforehand is enough: the module's logger inherits it when it is created.

Real problems still reach the user: our own code reports them as events in plain words, and
the libraries' errors (level ERROR and above) still print.
"""
from __future__ import annotations

import logging
import os
import re
import warnings

# loggers whose warnings are about the library's own set-up, never about the user's data
NOISY_LOGGERS = ("bitsandbytes", "transformers", "peft", "accelerate", "datasets", "torch.distributed.elastic",
                 "httpx", "huggingface_hub", "jieba")

# what counts as library noise on the terminal (the tests hold every command to it)
LIBRARY_NOISE = re.compile(r"Failed to load|kernels|Warning:|warnings\.warn|Traceback|deprecated|torch_dtype")


def quiet_libraries() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # the fork warning of tokenizers
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("BITSANDBYTES_NOWELCOME", "1")
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)  # library deprecations are not the user's business
    warnings.filterwarnings("ignore", message=".*TypedStorage is deprecated.*")


def quiet_transformers() -> None:
    """transformers' own verbosity switch (it resets its logger's level when first imported)."""
    quiet_libraries()
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
