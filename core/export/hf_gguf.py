"""A Hugging Face model folder (safetensors) → a base GGUF llama.cpp loads, for the exports.

Users who trained on a downloaded HF model need its GGUF to pair the adapter with (or to merge
into). This writes it with the ``gguf`` package, for the architectures the app trains:
llama and mistral (llama.cpp's "llama" arch: q/k rows permuted to its rotary layout), qwen2
(unpermuted, q/k/v biases) and gemma (unpermuted, RMSNorm weights stored as 1 + w, tied
embeddings). Tensor names come from gguf's own name map, so a renamed tensor is found, not guessed.

The vocabulary is read through the model's tokenizer itself (every id, its text, and whether it is
a special/control token), padded to the model's vocab size, with merges, special ids and the chat
template from gguf's SpecialVocab. Byte-level BPE tokenizers need a pre-tokenizer name llama.cpp
knows (how text is split before BPE); rather than trusting the family, each known name is *tried*:
a handful of texts (English, Russian, code, numbers) are tokenized by llama.cpp and by the HF
tokenizer, and the first name under which they agree is kept; if none agrees fully, the closest
is kept and the mismatches are reported (a warning, never silently). SentencePiece-style tokenizers (byte
fallback: llama 2, mistral, gemma) go through gguf's LlamaHfVocab.

The file is cached by content (config, tokenizer and weight files' sizes and mtimes) in the user
cache, next to the GGUF→HF conversions, so a second export reuses it.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np

from core.events import Reporter, StageReporter
from core.export.gguf_lora import ExportError, permute_rows

ARCHS = {"llama": "llama", "mistral": "llama", "qwen2": "qwen2", "gemma": "gemma"}
# byte-level BPE families → llama.cpp's pre-tokenizer name (checked after writing, see module doc)
PRE_TOKENIZER = {"qwen2": "qwen2", "llama": "llama-bpe", "mistral": "tekken"}
PRE_TOKENIZER_CANDIDATES = ["smollm", "llama-bpe", "qwen2", "gpt-2", "tekken", "deepseek-llm", "falcon", "default"]
CHECK_TEXTS = ["Hello world! The quick brown fox, 12345 apples.", "Привет, мир! Съешь же ещё этих мягких булок.",
               "def f(x):\n    return x**2  # square\n\n\tTabs  and   spaces", "3.14159 + 2,718 = 5.86; e-mail: a@b.co"]


def _weights(hf_dir: Path) -> list[Path]:
    files = sorted(hf_dir.glob("*.safetensors"))
    if not files:
        raise ExportError(f"{hf_dir}: no .safetensors weights (older .bin checkpoints: save the model again with "
                          "safe_serialization=True)")
    return files


def cache_key(hf_dir: Path) -> str:
    digest = hashlib.sha256(b"hf-gguf-v1")
    for path in sorted(hf_dir.iterdir()):
        if path.is_file() and (path.suffix in (".json", ".safetensors", ".model")):
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{int(stat.st_mtime)}".encode())
    return digest.hexdigest()[:16]


def cached_base_gguf(hf_dir: str | Path, report: Reporter | None = None) -> Path:
    """The folder's base GGUF from the cache, written first when missing or the folder changed."""
    from core.models import cache_root

    hf_dir = Path(hf_dir)
    target = cache_root() / "hf-gguf" / f"{hf_dir.name}-{cache_key(hf_dir)}" / "base-f16.gguf"
    if not target.exists():
        write_base_gguf(hf_dir, target, report=report)
    return target


def _is_byte_level(hf_dir: Path) -> bool:
    path = hf_dir / "tokenizer.json"
    if not path.exists():
        return False
    data = json.loads(path.read_text(encoding="utf-8"))
    model = data.get("model", {})
    return model.get("type") == "BPE" and not model.get("byte_fallback") and \
        (data.get("decoder") or {}).get("type") == "ByteLevel"


def choose_pre_tokenizer(hf_dir: Path, config: dict, arch: str) -> tuple[str, int]:
    """The llama.cpp pre-tokenizer under which llama.cpp splits text as the HF tokenizer does.

    Tried in turn on a vocabulary-only GGUF (no weights, so each try costs a second): the family's
    usual one first, then the others llama.cpp knows for byte-level BPE; the first that agrees on
    every check text wins, else the one with the fewest mismatches (reported by the caller).
    """
    import tempfile

    first = PRE_TOKENIZER.get(config.get("model_type", ""))
    candidates = [first] if first else []
    candidates += [c for c in PRE_TOKENIZER_CANDIDATES if c not in candidates]
    best = ("default", len(CHECK_TEXTS) + 1)
    with tempfile.TemporaryDirectory(prefix="scriptorium-vocab-") as folder:
        for pre in candidates:
            import gguf
            path = Path(folder) / f"{pre}.gguf"
            writer = gguf.GGUFWriter(str(path), arch)
            _add_hparams(writer, config, arch, config["num_hidden_layers"], 1)
            _add_vocab(writer, hf_dir, config, pre)
            writer.write_header_to_file()
            writer.write_kv_data_to_file()
            writer.write_tensors_to_file()
            writer.close()
            try:
                mismatches = check_tokenizer(hf_dir, path)
            except Exception:  # noqa: BLE001 — a name this llama.cpp build does not know
                continue
            if mismatches < best[1]:
                best = (pre, mismatches)
            if mismatches == 0:
                break
    return best


def _add_vocab(writer, hf_dir: Path, config: dict, pre: str = "default") -> None:
    import gguf
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(hf_dir)
    n_vocab = max(int(config.get("vocab_size") or 0), len(tokenizer))
    byte_level = _is_byte_level(hf_dir)
    if byte_level:
        vocab = tokenizer.get_vocab()
        by_id = {i: t for t, i in vocab.items()}
        added = tokenizer.added_tokens_decoder
        tokens, types = [], []
        for i in range(n_vocab):
            if i not in by_id:
                tokens.append(f"[PAD{i}]")
                types.append(gguf.TokenType.UNUSED)
            elif i in added:
                tokens.append(added[i].content)
                types.append(gguf.TokenType.CONTROL if added[i].special else gguf.TokenType.USER_DEFINED)
            else:
                tokens.append(by_id[i])
                types.append(gguf.TokenType.NORMAL)
        writer.add_tokenizer_model("gpt2")
        writer.add_tokenizer_pre(pre)
        writer.add_token_list(tokens)
        writer.add_token_types(types)
    else:
        try:
            vocab = gguf.vocab.LlamaHfVocab(hf_dir)
        except Exception as exc:  # noqa: BLE001 — any tokenizer we cannot map: say which
            raise ExportError(f"{hf_dir}: its tokenizer ({type(tokenizer).__name__}) cannot be written to GGUF here "
                              f"({exc}); use the model's own GGUF with --base-gguf") from exc
        tokens, scores, types = [], [], []
        for text, score, kind in vocab.all_tokens():
            tokens.append(text)
            scores.append(score)
            types.append(kind)
        for i in range(len(tokens), n_vocab):
            tokens.append(f"[PAD{i}]".encode())
            scores.append(-1000.0)
            types.append(gguf.TokenType.UNUSED)
        writer.add_tokenizer_model("llama")
        writer.add_tokenizer_pre("default")
        writer.add_token_list(tokens)
        writer.add_token_scores(scores)
        writer.add_token_types(types)
    special = gguf.SpecialVocab(hf_dir, load_merges=byte_level, n_vocab=n_vocab)
    if special.chat_template is None and getattr(tokenizer, "chat_template", None):
        special.chat_template = tokenizer.chat_template
    special.add_to_gguf(writer, quiet=True)


def _add_hparams(writer, config: dict, arch: str, n_layers: int, file_type: int) -> None:
    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    head_dim = config.get("head_dim") or hidden // heads
    writer.add_context_length(int(config.get("max_position_embeddings", 2048)))
    writer.add_embedding_length(hidden)
    writer.add_block_count(n_layers)
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(heads)
    writer.add_head_count_kv(config.get("num_key_value_heads") or heads)
    writer.add_layer_norm_rms_eps(float(config.get("rms_norm_eps", 1e-6)))
    writer.add_rope_freq_base(float(config.get("rope_theta") or (config.get("rope_parameters") or {}).get("rope_theta")
                                    or 10000.0))
    writer.add_rope_dimension_count(head_dim)
    if head_dim != hidden // heads or arch == "gemma":
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
    writer.add_vocab_size(int(config["vocab_size"]))
    writer.add_file_type(file_type)
    scaling = config.get("rope_scaling") or {}
    kind = scaling.get("rope_type") or scaling.get("type")
    if kind == "linear":
        import gguf
        writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(float(scaling["factor"]))
    elif kind not in (None, "default", "llama3"):
        raise ExportError(f"rope scaling '{kind}' is not written by this converter yet; use the model's own GGUF")


def llama3_rope_factors(config: dict) -> np.ndarray:
    """Per-frequency factors of Llama 3.x's long-context rope ("llama3" scaling), as llama.cpp expects them."""
    scaling = config["rope_scaling"]
    head_dim = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
    base = float(config.get("rope_theta", 500000.0))
    factor, low, high = scaling.get("factor", 8.0), scaling.get("low_freq_factor", 1.0), scaling.get("high_freq_factor", 4.0)
    old_context = scaling.get("original_max_position_embeddings", 8192)
    factors = []
    for freq in 1.0 / base ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim):
        wavelength = 2 * math.pi / freq
        if wavelength < old_context / high:
            factors.append(1.0)
        elif wavelength > old_context / low:
            factors.append(factor)
        else:  # between the two: a smooth blend of scaled and unscaled
            smooth = (old_context / wavelength - low) / (high - low)
            factors.append(1.0 / ((1 - smooth) / factor + smooth))
    return np.asarray(factors, dtype=np.float32)


def write_base_gguf(hf_dir: str | Path, out_path: str | Path, dtype: str = "f16",
                    report: Reporter | None = None) -> dict:
    """Write ``hf_dir`` as a GGUF (2-D weights in ``dtype`` f16/f32, norms and biases f32)."""
    import gguf
    from safetensors import safe_open

    say = StageReporter(report, "export")
    hf_dir, out_path = Path(hf_dir), Path(out_path)
    config = json.loads((hf_dir / "config.json").read_text(encoding="utf-8"))
    model_type = config.get("model_type", "?")
    arch = ARCHS.get(model_type)
    if arch is None:
        raise ExportError(f"{hf_dir}: a '{model_type}' model cannot be written to GGUF here (supported: "
                          f"{', '.join(sorted(ARCHS))}); use the model's own GGUF with --base-gguf")
    say.log(f"Writing {hf_dir.name} as a GGUF for llama.cpp (once; cached)…")
    n_layers = config["num_hidden_layers"]
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH[arch.upper()], n_layers)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(out_path.name + ".part")
    writer = gguf.GGUFWriter(str(partial), arch)
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name(hf_dir.name)
    _add_hparams(writer, config, arch, n_layers, 1 if dtype == "f16" else 0)
    pre, mismatches = choose_pre_tokenizer(hf_dir, config, arch) if _is_byte_level(hf_dir) else ("default", None)
    _add_vocab(writer, hf_dir, config, pre)
    if ((config.get("rope_scaling") or {}).get("rope_type") or "") == "llama3":
        writer.add_tensor(gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.ROPE_FREQS] + ".weight", llama3_rope_factors(config))

    count = 0
    for path in _weights(hf_dir):
        with safe_open(str(path), framework="pt") as handle:
            for name in handle.keys():
                if name.endswith("rotary_emb.inv_freq") or (arch == "gemma" and name == "lm_head.weight"):
                    continue  # recomputed by llama.cpp / tied to the embeddings
                target = names.get_name(name, try_suffixes=(".weight", ".bias"))
                if target is None:
                    raise ExportError(f"{hf_dir}: tensor {name} has no llama.cpp name for '{arch}'")
                data = handle.get_tensor(name).float().numpy()
                if arch == "llama" and target.endswith("attn_q.weight"):
                    data = permute_rows(data, heads)
                elif arch == "llama" and target.endswith("attn_k.weight"):
                    data = permute_rows(data, kv_heads)
                if arch == "gemma" and target.endswith("norm.weight"):
                    data = data + 1.0  # gemma's RMSNorm multiplies by (1 + w); llama.cpp by w
                keep_f32 = data.ndim < 2 or dtype != "f16"
                writer.add_tensor(target, np.ascontiguousarray(data.astype(np.float32 if keep_f32 else np.float16)))
                count += 1
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.replace(out_path)
    if mismatches is None:  # SentencePiece-style: one way to write it; check it all the same
        mismatches = check_tokenizer(hf_dir, out_path)
    if mismatches:
        say.warning(f"llama.cpp tokenizes {mismatches} of {len(CHECK_TEXTS)} test texts differently from the model's "
                    "own tokenizer: chat through llama.cpp may read some text slightly differently")
    return {"path": str(out_path), "arch": arch, "tensors": count, "bytes": out_path.stat().st_size,
            "pre_tokenizer": pre, "tokenizer_mismatches": mismatches}


def check_tokenizer(hf_dir: Path, gguf_path: Path) -> int:
    """How many of CHECK_TEXTS llama.cpp tokenizes differently from the HF tokenizer (0: all agree)."""
    import llama_cpp
    from transformers import AutoTokenizer

    from core.chat.llamacpp_backend import quiet_llama_logs

    quiet_llama_logs()
    tokenizer = AutoTokenizer.from_pretrained(hf_dir)
    llm = llama_cpp.Llama(str(gguf_path), vocab_only=True, verbose=False)
    try:
        return sum(llm.tokenize(text.encode(), add_bos=False, special=False)
                   != tokenizer(text, add_special_tokens=False)["input_ids"] for text in CHECK_TEXTS)
    finally:
        llm.close()
