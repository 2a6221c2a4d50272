"""Typed configuration: one dataclass per stage, every field with a one-line help.

The same dataclasses drive the CLI (``add_arguments``/``from_args``), the GUI forms and the
YAML saved in each run folder, so a setting has exactly one name, default and explanation.
"""
from __future__ import annotations

import argparse
import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


def opt(default: Any, help: str, choices: tuple | None = None) -> Any:
    """A dataclass field carrying its help text (and allowed values) in metadata."""
    return field(default=default, metadata={"help": help, "choices": choices})


class ConfigError(ValueError):
    """A setting has a value the app cannot use; the message names the field."""


def _check_choices(obj: Any) -> None:
    for f in dataclasses.fields(obj):
        choices = f.metadata.get("choices")
        if choices and getattr(obj, f.name) not in choices:
            raise ConfigError(f"{f.name}={getattr(obj, f.name)!r}: choose one of {', '.join(map(str, choices))}")


@dataclass
class ModelConfig:
    source: str = opt("embedded", "Base model: 'embedded' (SmolLM2-135M-Instruct), a HF folder, a .gguf file, or a hub id")

    def __post_init__(self) -> None:
        if not str(self.source).strip():
            raise ConfigError("source: empty; use 'embedded', a folder, a .gguf file or a hub id")


@dataclass
class CorpusConfig:
    chunk_tokens: int = opt(256, "Largest chunk in tokens; chunks end on paragraph boundaries")
    min_chunk_tokens: int = opt(8, "Chunks shorter than this (in tokens) are dropped as noise")
    max_file_mb: float = opt(200.0, "Files larger than this are refused (protects memory)")
    max_unpacked_mb: float = opt(500.0, "Archives, EPUB, DOCX and ODT that unpack to more than this are refused (zip bombs)")
    max_zip_ratio: float = opt(200.0, "Archive members compressed more than this many times are refused (zip bombs)")
    file_timeout_s: float = opt(120.0, "Seconds one file may take to read before it is given up (0: no limit, no worker)")
    unicode_nfc: bool = opt(True, "Normalise Unicode to NFC (one code point per accented letter)")
    fix_mojibake: bool = opt(True, "Repair mojibake such as 'Ã©' or 'Ð¿Ñ€' (text decoded with the wrong encoding)")
    remove_soft_hyphens: bool = opt(True, "Remove soft hyphens and invisible zero-width characters")
    reflow_paragraphs: bool = opt(True, "Rebuild paragraphs from hard-wrapped lines (text files, PDF)")
    join_hyphens: bool = opt(True, "Join words hyphenated at line ends (text files, PDF)")
    remove_headers_footers: bool = opt(True, "Remove PDF running headers, footers and page numbers")
    strip_gutenberg: bool = opt(True, "Remove Project Gutenberg licence header and footer")
    remove_contents: bool = opt(True, "Remove a table of contents typed into the text (it only repeats chapter titles)")
    normalize_whitespace: bool = opt(True, "Collapse runs of spaces and tabs, trim lines")
    noise_threshold: float = opt(0.5, "Paragraphs with an OCR-noise score (0–1) above this are dropped or flagged (1: off)")
    noise_action: str = opt("drop", "What to do with noisy paragraphs", choices=("drop", "flag"))
    dedup_paragraphs: bool = opt(True, "Drop long paragraphs and chunks already in the corpus (exact duplicates)")
    near_dup_threshold: float = opt(0.8, "Skip a document this similar (MinHash Jaccard 0–1) to one already in the corpus (1: off)")

    def __post_init__(self) -> None:
        _check_choices(self)
        if self.chunk_tokens < 16:
            raise ConfigError("chunk_tokens: must be at least 16")
        if self.min_chunk_tokens < 0 or self.min_chunk_tokens >= self.chunk_tokens:
            raise ConfigError("min_chunk_tokens: must be between 0 and chunk_tokens")
        for name in ("max_file_mb", "max_unpacked_mb", "max_zip_ratio"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name}: must be positive")
        if self.file_timeout_s < 0:
            raise ConfigError("file_timeout_s: must be 0 (no limit) or more")
        for name in ("noise_threshold", "near_dup_threshold"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name}: must be between 0 and 1")


FORMATS = ("plain", "chat", "markdown", "json", "yaml", "instruction", "qa", "paraphrase", "knowledge", "custom")
GENERATED_FORMATS = ("qa", "paraphrase")  # written by the base model itself (a long, resumable job)
INSTRUCTION_TASKS = ("write", "continue", "chapter", "book")
KNOWLEDGE_PARTS = ("text", "restatements", "questions", "cues")


@dataclass
class FormatConfig:
    format: str = opt("chat", "How chunks are shown to the model: plain text, chat, markdown, json, yaml, instruction, "
                      "qa / paraphrase (written by the base model), knowledge (the text with its source, restatements "
                      "and questions written from every chunk), custom (your Jinja template)", choices=FORMATS)
    system_prompt: str = opt("", "System message for the chat, qa and paraphrase formats (empty: none)")
    user_prompt: str = opt("Tell me about “{heading}” from {title}.",
                           "User message for the chat and paraphrase formats; {title} and {heading} are filled in")
    instruction_tasks: str = opt("write,continue,chapter", "Instruction format: tasks taken in turn over the chunks "
                                 "(write, continue, chapter, book), comma-separated")
    template: str = opt("", "Custom format: Jinja template of the trained text ({{ text }}, {{ title }}, {{ author }}, "
                        "{{ chapter }}, {{ eos_token }} …), or a .j2 file")
    template_prompt: str = opt("", "Custom format: Jinja template of a prompt part the loss skips (empty: none)")
    qa_pairs: int = opt(2, "qa, knowledge: question–answer pairs per chunk (answered by a sentence of the chunk)")
    restatements: int = opt(4, "knowledge: restatements written per chunk (paraphrase, summary, facts, simple words, "
                            "about its main term, questions and answers — in turn)")
    source_prefix: bool = opt(True, "knowledge: put the book and chapter before the chunk's text")
    parts: str = opt("text,restatements,questions", "knowledge: what is trained on, comma-separated: text (each chunk), "
                     "restatements (written by the writer model, and facts lists gathered from the books), questions "
                     "(answered by the books' sentences), cues (each fact also asked by its cue words, in other "
                     "words and order; more steps)")
    weak_writer: str = opt("text", "knowledge: when the writer model's restatements fail the faithfulness checks "
                           "(the embedded 135M model's do): train on the text with its source only, no replay "
                           "(text: on three manuals as many facts learned, in far less time) or keep the parts asked "
                           "for (keep)",
                           choices=("text", "keep"))
    replay: float = opt(0.0, "Share of training samples that replay the base model's own answers to general prompts "
                        "(written before training): keeps what the model knew")
    writer: str = opt("", "Model that writes generated samples and the exam: empty for the base model, or any local "
                      "GGUF file or Hugging Face folder (a bigger model writes better data)")
    qa_answers: str = opt("passage", "qa: the answer is the chunk's sentence the model wrote its question for "
                          "(passage: reliable with small models), or the base model's own answer (model)",
                          choices=("passage", "model"))
    gen_batch_size: int = opt(4, "qa/paraphrase: chunks generated at once (more is faster on a GPU, needs more memory)")
    gen_max_tokens: int = opt(512, "qa/paraphrase: most tokens one reply may have (questions stop at 40, answers "
                              "at 64, a paraphrase at twice its chunk)")
    gen_temperature: float = opt(0.0, "qa/paraphrase: sampling temperature (0: greedy, reproducible)")
    min_grounding: float = opt(0.5, "qa/paraphrase: share of content words that must occur in the chunk (0: no check)")
    select: str = opt("", "Train only on the samples a data scoring kept: the selection.json that `lab score` "
                      "writes with --top-percent or an IFD band (empty: every sample)")
    split_by: str = opt("chunk", "Hold out whole chunks, or whole books (a held-out book is never trained on)",
                        choices=("chunk", "book"))
    eval_fraction: float = opt(0.1, "Share of chunks (or books) held out to measure eval loss")
    split_seed: int = opt(0, "Seed for the held-out split (same seed, same split)")

    def __post_init__(self) -> None:
        _check_choices(self)
        if not 0.0 <= self.eval_fraction < 0.5:
            raise ConfigError("eval_fraction: must be in [0, 0.5)")
        try:
            self.user_prompt.format(title="", heading="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"user_prompt: only {{title}} and {{heading}} can be filled in ({exc!r})") from None
        tasks = [t.strip() for t in self.instruction_tasks.split(",") if t.strip()]
        unknown = [t for t in tasks if t not in INSTRUCTION_TASKS]
        if not tasks or unknown:
            raise ConfigError(f"instruction_tasks: choose from {', '.join(INSTRUCTION_TASKS)} (got {self.instruction_tasks!r})")
        if self.format == "custom" and not self.template.strip():
            raise ConfigError("template: the custom format needs a Jinja template (or a .j2 file)")
        for name in ("qa_pairs", "gen_batch_size", "gen_max_tokens"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be at least 1")
        if self.gen_temperature < 0:
            raise ConfigError("gen_temperature: must be ≥ 0")
        if not 0.0 <= self.min_grounding <= 1.0:
            raise ConfigError("min_grounding: must be between 0 and 1")
        if not 0.0 <= self.replay < 0.9:
            raise ConfigError("replay: must be in [0, 0.9)")
        if self.restatements < 0:
            raise ConfigError("restatements: must not be negative")
        parts = [p.strip() for p in self.parts.split(",") if p.strip()]
        if not parts or any(p not in KNOWLEDGE_PARTS for p in parts):
            raise ConfigError(f"parts: choose from {', '.join(KNOWLEDGE_PARTS)} (got {self.parts!r})")


@dataclass
class TrainConfig:
    plan: str = opt("manual", "auto: steps, learning rate, rank and evaluation points chosen for this data and goal "
                    "(and stated in the run's log); quick: the same with a third of the passes (a first look in "
                    "minutes); thorough: twice the passes; manual: exactly the settings below",
                    choices=("manual", "quick", "auto", "thorough"))
    steps: int = opt(60, "Optimizer steps to run (ignored when epochs > 0)")
    epochs: float = opt(0.0, "Passes over the training data (0: use steps instead)")
    batch_size: int = opt(4, "Blocks (packed samples) per micro-batch, across all processes")
    grad_accum: int = opt(1, "Micro-batches per optimizer step")
    packing: bool = opt(True, "Pack samples into full blocks (no padding waste; samples never attend to each other)")
    lr: float = opt(1e-3, "Peak learning rate (LoRA tolerates higher rates than full tuning)")
    warmup_steps: int = opt(5, "Steps of linear warm-up before cosine decay")
    max_seq_len: int = opt(512, "Block length in tokens; longer samples are cut")
    lora_r: int = opt(16, "LoRA rank")
    lora_alpha: int = opt(32, "LoRA alpha (scale = alpha / rank)")
    lora_dropout: float = opt(0.05, "Dropout on the LoRA branch")
    target_modules: str = opt("all-linear", "Modules to adapt: 'all-linear' or comma-separated names")
    rslora: bool = opt(False, "Rank-stabilised LoRA (scale alpha/√r instead of alpha/r)")
    dora: bool = opt(False, "DoRA (weight-decomposed LoRA); note: llama.cpp cannot load DoRA adapters")
    device: str = opt("auto", "Where to train", choices=("auto", "cpu", "cuda", "mps"))
    quantization: str = opt("auto", "Base weights: 'nf4' is QLoRA (4-bit); auto = nf4 on CUDA, none elsewhere",
                            choices=("auto", "none", "nf4"))
    precision: str = opt("auto", "CPU math: auto = bf16 autocast if this CPU measures faster in bf16, else fp32",
                         choices=("auto", "bf16", "fp32"))
    eval_every: int = opt(20, "Evaluate on the held-out split every N steps (0: only at the end)")
    save_every: int = opt(50, "Save a resumable checkpoint every N steps (0: only at the end)")
    early_stop: int = opt(0, "Stop after this many evaluations without a better eval loss (0: never)")
    exam_patience: int = opt(0, "Stop after this many evaluations without more exam answers or a better exam "
                             "likelihood, or as soon as two in a row keep too little general knowledge (0: never)")
    evaluate_at_end: bool = opt(True, "When training ends, run the full evaluation (exam closed and open book, general "
                                "knowledge kept, reasoning) and write its verdict into the run")
    keep_best: bool = opt(True, "Chat and export use the best evaluated checkpoint (most exam answers while keeping "
                          "general knowledge); the last one stays in adapter-final/")
    seed: int = opt(0, "Random seed for LoRA init and batch order")
    kl_weight: float = opt(0.0, "Weight of a KL penalty towards the base model on replay samples (0: off; costs a "
                           "second forward pass on those samples)")

    def __post_init__(self) -> None:
        _check_choices(self)
        for name in ("steps", "batch_size", "grad_accum", "max_seq_len", "lora_r", "lora_alpha"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be at least 1")
        if self.lr <= 0 or self.lr > 1:
            raise ConfigError("lr: must be in (0, 1]")
        if not 0 <= self.lora_dropout < 1:
            raise ConfigError("lora_dropout: must be in [0, 1)")
        if self.kl_weight < 0:
            raise ConfigError("kl_weight: must not be negative")
        if self.epochs < 0 or self.save_every < 0 or self.early_stop < 0 or self.eval_every < 0 or self.exam_patience < 0:
            raise ConfigError("epochs, eval_every, save_every, early_stop and exam_patience: must not be negative")


@dataclass
class ChatConfig:
    max_new_tokens: int = opt(200, "Longest reply in tokens")
    temperature: float = opt(0.0, "Sampling temperature (0: greedy, reproducible)")
    top_p: float = opt(0.9, "Nucleus sampling cut-off (used when temperature > 0)")
    repetition_penalty: float = opt(1.1, "Penalty for repeating tokens (1: none)")
    system_prompt: str = opt("", "System message (empty: the one used in training)")

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ConfigError("max_new_tokens: must be at least 1")
        if self.temperature < 0:
            raise ConfigError("temperature: must be ≥ 0")
        if not 0 < self.top_p <= 1:
            raise ConfigError("top_p: must be in (0, 1]")


PROBE_LANGUAGES = ("en", "ru")


@dataclass
class EvalConfig:
    exam_questions: int = opt(40, "Exam questions written from your books (spread over every book and chapter)")
    open_book_k: int = opt(3, "Open book: passages looked up in your books (BM25) and put before each question")
    general_items: int = opt(100, "General-knowledge questions per language (forgetting probe; 0: skip)")
    reasoning_items: int = opt(50, "Arithmetic/logic problems per language (reasoning probe; 0: skip)")
    languages: str = opt("auto", "Probe languages: auto (English + your books' languages) or a list such as en,ru")
    step_by_step: bool = opt(True, "Reasoning probe also with a step-by-step prompt")
    answer_tokens: int = opt(40, "Longest generated answer in tokens (reasoning step by step: 4×)")
    quick_exam: int = opt(12, "During training: exam questions checked at every evaluation step (0: none)")
    quick_general: int = opt(24, "During training: general questions checked at every evaluation step (0: none)")
    retention_floor: float = opt(0.9, "Warn, and never pick as best, a checkpoint keeping less than this share of "
                                 "the base model's correct general answers")
    backend: str = opt("auto", "auto: transformers in bf16 where this CPU multiplies bf16 fast (AMX/AVX-512), else "
                       "llama.cpp where the model exists as GGUF, else transformers",
                       choices=("auto", "transformers", "llamacpp"))
    precision: str = opt("auto", "transformers backend: auto = bf16 weights where this device computes bf16 faster, "
                         "else fp32", choices=("auto", "fp32", "bf16"))
    batch_size: int = opt(64, "Questions answered at once")

    def __post_init__(self) -> None:
        _check_choices(self)
        for name in ("exam_questions", "open_book_k", "general_items", "reasoning_items", "quick_exam",
                     "quick_general"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}: must not be negative")
        if self.answer_tokens < 8 or self.batch_size < 1:
            raise ConfigError("answer_tokens: at least 8; batch_size: at least 1")
        if not 0.0 <= self.retention_floor <= 1.0:
            raise ConfigError("retention_floor: must be between 0 and 1")
        if self.languages != "auto":
            unknown = [x for x in self.probe_languages([]) if x not in PROBE_LANGUAGES]
            if unknown or not self.probe_languages([]):
                raise ConfigError(f"languages: 'auto' or a list of {', '.join(PROBE_LANGUAGES)} (got {self.languages!r})")

    def probe_languages(self, book_languages: list[str]) -> list[str]:
        if self.languages == "auto":
            return ["en"] + [x for x in PROBE_LANGUAGES if x != "en" and x in book_languages]
        return [x.strip() for x in self.languages.split(",") if x.strip()]


@dataclass
class ScoreConfig:
    scorer: str = opt("", "Model that scores the samples: empty for the project's base model, or any local HF "
                      "folder or GGUF file (a small model ranks data almost like a large one)")
    top_percent: float = opt(0.0, "Keep the top X% of the samples by IFD, the hardest to follow (0: all in the band)")
    ifd_low: float = opt(0.0, "Keep samples whose IFD is at least this")
    ifd_high: float = opt(1.0, "Keep samples whose IFD is at most this: above 1 the prompt does not help write the "
                          "answer — they do not fit together (0: no upper limit)")
    max_tokens: int = opt(512, "Tokens of a completion that are scored (longer ones are cut)")
    batch_size: int = opt(16, "Samples scored at once")

    def __post_init__(self) -> None:
        if not 0.0 <= self.top_percent <= 100.0:
            raise ConfigError("top_percent: must be between 0 and 100")
        if self.ifd_low < 0 or self.ifd_high < 0 or (self.ifd_high and self.ifd_low > self.ifd_high):
            raise ConfigError("ifd_low, ifd_high: need 0 ≤ ifd_low ≤ ifd_high (ifd_high 0: no upper limit)")
        if self.max_tokens < 2 or self.batch_size < 1:
            raise ConfigError("max_tokens must be at least 2 and batch_size at least 1")


@dataclass
class MergeConfig:
    method: str = opt("ties", "How adapters are merged: linear, cat (exact weighted sum, ranks add up), svd, ties "
                      "(trim to the largest changes, elect signs), dare_linear / dare_ties (drop at random, rescale), "
                      "slerp (spherical interpolation of two adapters' weight changes)",
                      choices=("linear", "cat", "svd", "ties", "dare_linear", "dare_ties", "slerp"))
    weights: str = opt("", "One weight per run, comma-separated (empty: equal weights; slerp: the second is t)")
    density: float = opt(0.5, "ties, dare: share of each adapter's changes that is kept")

    def __post_init__(self) -> None:
        _check_choices(self)
        if not 0.0 < self.density <= 1.0:
            raise ConfigError("density: must be in (0, 1]")
        try:
            self.weight_list()
        except ValueError:
            raise ConfigError(f"weights: numbers separated by commas (got {self.weights!r})") from None

    def weight_list(self) -> list[float] | None:
        return [float(w) for w in self.weights.split(",") if w.strip()] or None


STAGES: dict[str, type] = {"model": ModelConfig, "corpus": CorpusConfig, "format": FormatConfig,
                           "train": TrainConfig, "chat": ChatConfig, "evaluate": EvalConfig, "score": ScoreConfig,
                           "merge": MergeConfig}


def help_of(cls: type, name: str) -> str:
    return next(f.metadata.get("help", "") for f in dataclasses.fields(cls) if f.name == name)


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def from_dict(cls: type[T], data: dict[str, Any] | None) -> T:
    """Build ``cls`` from a mapping; unknown keys are an error naming them (typos must not pass)."""
    data = dict(data or {})
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{cls.__name__}: unknown setting(s) {', '.join(unknown)}")
    hints = typing.get_type_hints(cls)
    for key, value in list(data.items()):
        kind = hints[key]
        if kind is bool and not isinstance(value, bool):
            data[key] = parse_bool(value, key)
        elif value is not None and kind in (int, float, str) and not isinstance(value, kind):
            try:
                data[key] = kind(value)
            except (TypeError, ValueError):
                raise ConfigError(f"{key}={value!r}: expected {kind.__name__}") from None
    return cls(**data)


def parse_bool(value: Any, name: str = "value") -> bool:
    """'yes'/'no', 'true'/'false', 'on'/'off', 1/0 → bool (CLI options, form text, hand-edited YAML)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on", "y"):
        return True
    if text in ("0", "false", "no", "off", "n"):
        return False
    raise ConfigError(f"{name}={value!r}: expected yes or no")


def save_yaml(path: Path, configs: dict[str, Any]) -> None:
    """Write ``{stage: dataclass}`` as one YAML document (used for runs/<id>/config.yaml)."""
    from core.project import atomic_write_text  # local import: project imports config

    doc = {k: (to_dict(v) if dataclasses.is_dataclass(v) else v) for k, v in configs.items()}
    atomic_write_text(path, yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))


def load_yaml(path: Path) -> dict[str, Any]:
    """Read a config YAML back into dataclasses for the stages it names (others stay dicts)."""
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return {k: (from_dict(STAGES[k], v) if k in STAGES else v) for k, v in doc.items()}


# ---------------------------------------------------------------- CLI glue
def _arg_type(kind: type):
    def convert(text: str):
        try:
            return parse_bool(text) if kind is bool else kind(text)
        except (ConfigError, ValueError):
            raise argparse.ArgumentTypeError(f"{text!r} is not a valid {kind.__name__}") from None
    convert.__name__ = kind.__name__
    return convert


def add_arguments(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = ()) -> None:
    """Add ``--field-name`` options for every field of ``cls`` (help and choices from metadata)."""
    group = parser.add_argument_group(f"{cls.__name__} settings")
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        kind = hints[f.name]
        group.add_argument("--" + f.name.replace("_", "-"), dest=f"{cls.__name__}.{f.name}",
                           type=_arg_type(kind), default=None, choices=f.metadata.get("choices"),
                           metavar="{yes,no}" if kind is bool else None,
                           help=f"{f.metadata.get('help', '')} (default: {f.default!r})".replace("%", "%%"))


def from_args(cls: type[T], args: argparse.Namespace, base: T | None = None) -> T:
    """Overlay the options the user gave on ``base`` (or the defaults)."""
    values = to_dict(base) if base is not None else {}
    prefix = cls.__name__ + "."
    for key, value in vars(args).items():
        if key.startswith(prefix) and value is not None:
            values[key[len(prefix):]] = value
    return from_dict(cls, values)
