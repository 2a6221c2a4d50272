"""Pieces of the knowledge recipe's training: the auto plan, goal presets, replay KL penalty."""
import pytest
import torch

from core.config import FormatConfig, TrainConfig
from core.formats.goals import apply_goal, goal_of
from core.train.autoplan import plan
from core.train.packing import collate, loss_sum, pack


def test_auto_plan_sizes_the_run_to_the_data():
    cfg = TrainConfig(plan="auto", batch_size=4, max_seq_len=512, exam_patience=3)
    small, why = plan(cfg, "knowledge", 20_000)
    big, _ = plan(cfg, "knowledge", 400_000)
    assert small.steps < big.steps and small.eval_every < big.eval_every
    assert small.epochs == 0 and "passes" in why and "exam has not improved for 3" in why
    assert plan(TrainConfig(plan="manual", steps=7), "knowledge", 10 ** 6) == (TrainConfig(plan="manual", steps=7), "")
    style, _ = plan(cfg, "chat", 20_000)
    assert style.steps < small.steps


def test_presets_scale_the_passes():
    import dataclasses
    cfg = TrainConfig(plan="auto", batch_size=4, max_seq_len=512)
    balanced, _ = plan(cfg, "knowledge", 200_000)
    quick, why = plan(dataclasses.replace(cfg, plan="quick"), "knowledge", 200_000)
    thorough, _ = plan(dataclasses.replace(cfg, plan="thorough"), "knowledge", 200_000)
    assert quick.steps < balanced.steps < thorough.steps and "(a quick try)" in why
    assert abs(thorough.steps / balanced.steps - 2) < 0.05 and abs(balanced.steps / quick.steps - 3) < 0.2
    assert quick.lr == balanced.lr == thorough.lr


def test_goals_lay_presets_over_settings():
    fmt, train = apply_goal("knowledge", FormatConfig(system_prompt="Be brief."), TrainConfig(seed=3))
    assert fmt.format == "knowledge" and fmt.replay > 0 and fmt.system_prompt == "Be brief."
    assert train.plan == "auto" and train.exam_patience > 0 and train.seed == 3
    assert goal_of(fmt) == "knowledge"
    assert apply_goal("style", fmt, train)[0].format == "chat"
    assert apply_goal("custom", fmt, train) == (fmt, train)


def test_kl_penalty_is_zero_for_an_untouched_adapter_and_pulls_back_a_changed_one(tiny_model_dir):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)),
                           LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM"))
    samples = [{"input_ids": list(range(5, 25)), "labels": list(range(5, 25)), "replay": True},
               {"input_ids": list(range(30, 40)), "labels": [-100] * 4 + list(range(34, 40))}]
    batch = collate(pack(samples, 64, pad_id=0), "cpu")
    assert batch["kl"].sum() == 20
    plain, n = loss_sum(model, batch)
    with_kl, _ = loss_sum(model, batch, kl_weight=1.0)
    assert float(with_kl) == pytest.approx(float(plain), abs=1e-4)  # LoRA starts as the base: KL 0
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    plain, _ = loss_sum(model, batch)
    with_kl, _ = loss_sum(model, batch, kl_weight=1.0)
    assert float(with_kl) > float(plain) + 1e-3
    with_kl.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for n_, p in model.named_parameters() if "lora_B" in n_)
