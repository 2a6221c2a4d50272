"""Training throughput: our engine vs a naive transformers Trainer + PEFT baseline, one run, CPU.

Same model (embedded SmolLM2-135M), same samples of mixed lengths, same LoRA settings, same
number of optimizer steps. The baseline pads every batch to its longest sample and runs fp32;
our engine packs samples into full blocks and uses bf16 autocast where this CPU measures it
faster. Printed: real (non-padding) tokens/s of both, MFU of both (training FLOP/s ÷ this
machine's matmul peak measured in this run, bf16 for ours when used, fp32 for the baseline),
peak RSS of each side (each runs in its own process), and last the line ``ratio: X`` = our real tokens/s ÷ the baseline's.

Noise-proof: ``--rounds`` rounds, each running both sides (fresh processes) in an order that
alternates round by round; the ratio is taken within each round and the median printed with its
min and max, beside the load average.

    python bench/train.py [--steps 8] [--samples 48] [--rounds 3]
"""
from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def mixed_texts(n: int, seed: int = 0) -> list[str]:
    """Passages of 15–350 words cut from the manual: the length spread of real chunks."""
    from core.demo import MANUAL

    words = MANUAL.read_text(encoding="utf-8").split()
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        size = int(rng.choice([rng.uniform(15, 60), rng.uniform(60, 160), rng.uniform(160, 350)]))
        start = rng.randrange(0, len(words) - size)
        out.append(" ".join(words[start:start + size]))
    return out


def flops_per_token(config: dict, lengths: list[int], rank: int) -> dict:
    """Useful training FLOPs per real token, by part (padding and masked-out attention not counted).

    frozen base weights: forward 2N + gradient through the activations 2N (no weight gradients);
    LoRA weights (trainable): 6 per parameter; causal attention over each sample: the two score
    matmuls forward (2·d·H·L(L+1) per layer) and twice that backward, averaged over these samples."""
    h, layers, vocab = config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]
    inter = config["intermediate_size"]
    heads, kv = config["num_attention_heads"], config["num_key_value_heads"]
    head_dim = config.get("head_dim") or h // heads
    q, k = heads * head_dim, kv * head_dim
    per_layer = h * q * 2 + h * k * 2 + 3 * h * inter
    frozen = layers * per_layer + vocab * h  # the output projection is a real matmul even when tied
    lora = layers * rank * ((h + q) * 2 + (h + k) * 2 + (h + inter) * 3)  # q,o; k,v; gate,up,down: r·(in+out)
    attention = sum(6 * head_dim * heads * layers * n * (n + 1) for n in lengths) / sum(lengths)
    return {"frozen base (4N)": 4.0 * frozen, "LoRA (6 per weight)": 6.0 * lora, "causal attention": attention}


def matmul_peak(dtype_name: str) -> float:
    """This machine's matmul GFLOP/s: the best of several timed rounds over two sizes (the strict reading)."""
    from core.train.precision import matmul_gflops

    repeats = 10 if dtype_name == "bfloat16" else 4
    return max(matmul_gflops(dtype_name, size, repeats, rounds=5) for size in (1024, 1536))


def baseline(load_dir: str, samples: list[dict], steps: int, batch: int, cfg) -> tuple[float, float]:
    """(real tokens/s, seconds): Trainer + PEFT, pad to longest, fp32, no packing."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, Trainer, TrainingArguments

    counted = {"real": 0}

    def collate(rows):
        width = max(len(r["input_ids"]) for r in rows)
        counted["real"] += sum(len(r["input_ids"]) for r in rows)
        ids = torch.zeros(len(rows), width, dtype=torch.long)
        labels = torch.full((len(rows), width), -100)
        mask = torch.zeros(len(rows), width, dtype=torch.long)
        for i, r in enumerate(rows):
            n = len(r["input_ids"])
            ids[i, :n], labels[i, :n], mask[i, :n] = torch.tensor(r["input_ids"]), torch.tensor(r["labels"]), 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(load_dir, dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                                             target_modules="all-linear", task_type="CAUSAL_LM"))
    args = TrainingArguments(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=batch, max_steps=steps,
                             learning_rate=cfg.lr, report_to=[], save_strategy="no", logging_steps=10_000,
                             use_cpu=True, remove_unused_columns=False, disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=samples, data_collator=collate)
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    return counted["real"] / seconds, seconds


def prepare(args):
    """(project, format config, train config, encoded samples, resolved model): identical for both sides."""
    from core.config import FormatConfig, TrainConfig
    from core.formats import build_dataset, encode
    from core.ingest.pipeline import corpus_paths
    from core.models import load_tokenizer, resolve
    from core.project import Project, append_jsonl

    resolved = resolve("embedded")
    tokenizer = load_tokenizer(resolved)
    project = Project.open(tempfile.mkdtemp(prefix="bench-train-"))
    where = corpus_paths(project)
    for i, text in enumerate(mixed_texts(args.samples)):
        append_jsonl(where["chunks"], {"doc_id": "m" * 16, "title": "Manual", "chunk": i, "heading": "",
                                       "section": 0, "text": text, "tokens": 0})
    append_jsonl(where["documents"], {"id": "m" * 16, "title": "Manual", "sections": []})
    fmt = FormatConfig(format="plain", eval_fraction=0.0)
    cfg = TrainConfig(steps=args.steps, batch_size=2, max_seq_len=args.block, eval_every=0, save_every=0,
                      warmup_steps=1, lora_dropout=0.0)
    samples = [encode(s, tokenizer, args.block) for s in build_dataset(project, fmt, tokenizer).train]
    return project, fmt, cfg, samples, resolved


def side(args) -> dict:
    """One side of the comparison, run in a fresh process so neither inherits the other's memory."""
    import json

    project, fmt, cfg, samples, resolved = prepare(args)
    lengths = sorted(len(s["input_ids"]) for s in samples)
    if args.side == "baseline":
        # as many samples per step as fit the same token budget on average (fair per step)
        per_step = max(1, round(cfg.batch_size * args.block / (sum(lengths) / len(lengths))))
        tps, seconds = baseline(resolved.load_dir, samples, args.steps, per_step, cfg)
        return {"tokens_per_s": tps, "seconds": seconds, "per_step": per_step, "precision": "fp32",
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "lengths": [lengths[0], lengths[len(lengths) // 2], lengths[-1]], "all_lengths": lengths,
                "samples": len(samples)}
    from core.config import ModelConfig
    from core.train import read_metrics, train

    result = train(project, ModelConfig(), fmt, cfg)
    metrics = [m for m in read_metrics(result.run_dir) if "tokens_per_s" in m]
    info = json.loads((result.run_dir / "run.json").read_text())
    return {"tokens_per_s": metrics[-1]["tokens_per_s"], "packing": info["packing_efficiency"],
            "precision": "bf16" if "bfloat16" in (result.run_dir / "log.txt").read_text() else "fp32",
            "peak_rss_mb": metrics[-1].get("peak_rss_mb", 0),
            "config": json.loads((Path(resolved.load_dir) / "config.json").read_text())}


def run_side(name: str, args) -> dict:
    import json
    import subprocess

    out = subprocess.run([sys.executable, __file__, "--steps", str(args.steps), "--samples", str(args.samples),
                          "--block", str(args.block), "--side", name], capture_output=True, text=True)
    line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
    if out.returncode or not line:
        sys.exit(f"{name} side failed:\n{out.stderr[-3000:]}")
    return json.loads(line[-1][7:])


def spread(values: list[float], digits: int = 2) -> str:
    import statistics

    return f"{statistics.median(values):.{digits}f} (min {min(values):.{digits}f}, max {max(values):.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--samples", type=int, default=48)
    parser.add_argument("--block", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of both sides, their order alternating")
    parser.add_argument("--side", choices=["baseline", "ours"], help=argparse.SUPPRESS)  # internal: one child
    args = parser.parse_args()

    import json
    import os
    import statistics

    if args.side:
        print("RESULT " + json.dumps(side(args)), flush=True)
        return
    load_before = os.getloadavg()
    peak = {"fp32": matmul_peak("float32"), "bf16": matmul_peak("bfloat16")}
    rounds: list[dict] = []
    # Each round runs both sides, each in a fresh process, the order alternating (B O, O B, …): the
    # ratio is taken within a round, where both saw about the same load from the neighbours.
    for r in range(args.rounds):
        order = ("baseline", "ours") if r % 2 == 0 else ("ours", "baseline")
        rounds.append({name: run_side(name, args) for name in order})
        print(json.dumps({"round": r + 1, **{k: round(v["tokens_per_s"], 1) for k, v in rounds[-1].items()},
                          "load": round(os.getloadavg()[0], 2)}), flush=True)
    from core.config import TrainConfig

    base, ours = rounds[0]["baseline"], rounds[0]["ours"]
    parts = flops_per_token(ours["config"], base["all_lengths"], TrainConfig().lora_r)  # both sides' rank
    per_token = sum(parts.values())
    lo, mid, hi = base["lengths"]
    print(f"{base['samples']} samples, tokens min/median/max {lo}/{mid}/{hi}; each side in its own process, "
          f"{args.rounds} rounds, order alternating; load average before {load_before[0]:.2f}, "
          f"after {os.getloadavg()[0]:.2f}")

    def column(name: str, key: str) -> list[float]:
        return [r[name][key] for r in rounds]

    base_tps, ours_tps = column("baseline", "tokens_per_s"), column("ours", "tokens_per_s")
    base_mfu = [t * per_token / (peak["fp32"] * 1e9) for t in base_tps]
    ours_mfu = [t * per_token / (peak[r["ours"]["precision"]] * 1e9) for t, r in zip(ours_tps, rounds)]
    print("training FLOPs per real token: " + ", ".join(f"{k} {v / 1e6:.0f}M" for k, v in parts.items())
          + f" = {per_token / 1e6:.0f}M")
    print(f"matmul peak here (best of 5 rounds, 1024² and 1536²): fp32 {peak['fp32']:.0f} GFLOP/s, bf16 {peak['bf16']:.0f} GFLOP/s")
    print(f"baseline (Trainer+PEFT, pad to longest, fp32, {base['per_step']} samples/step): real tokens/s "
          f"{spread(base_tps, 0)}, MFU {spread(base_mfu)}, peak RSS {max(column('baseline', 'peak_rss_mb')):.0f} MB")
    print(f"ours ({ours['precision']}, packed {ours['packing']:.0%} real tokens): real tokens/s {spread(ours_tps, 0)}, "
          f"MFU {spread(ours_mfu)}, peak RSS {max(column('ours', 'peak_rss_mb')):.0f} MB")
    ratios = [o / b for o, b in zip(ours_tps, base_tps)]
    print(f"ratio per round: {spread(ratios)}")
    print(f"mfu: {statistics.median(ours_mfu):.2f}")
    print(f"ratio: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
