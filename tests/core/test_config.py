"""core.config: defaults, validation messages, dict/YAML round trips and the CLI glue."""
from __future__ import annotations

import argparse
import dataclasses
import typing

import pytest
import yaml

from core.config import (STAGES, ChatConfig, ConfigError, CorpusConfig, FormatConfig, ModelConfig, TrainConfig,
                         add_arguments, from_args, from_dict, help_of, load_yaml, save_yaml, to_dict)


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_defaults_are_valid_and_round_trip(stage):
    cls = STAGES[stage]
    cfg = cls()
    assert from_dict(cls, to_dict(cfg)) == cfg
    assert from_dict(cls, None) == cfg


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_field_has_help(stage):
    for f in dataclasses.fields(STAGES[stage]):
        text = f.metadata.get("help", "")
        assert isinstance(text, str) and text.strip(), f"{stage}.{f.name} has no help text"
        assert help_of(STAGES[stage], f.name) == text


@pytest.mark.parametrize("cls, kwargs, field", [
    (ModelConfig, {"source": "  "}, "source"),
    (CorpusConfig, {"chunk_tokens": 8}, "chunk_tokens"),
    (CorpusConfig, {"min_chunk_tokens": 300}, "min_chunk_tokens"),
    (CorpusConfig, {"max_file_mb": 0}, "max_file_mb"),
    (FormatConfig, {"format": "xml"}, "format"),
    (FormatConfig, {"eval_fraction": 0.7}, "eval_fraction"),
    (TrainConfig, {"steps": 0}, "steps"),
    (TrainConfig, {"batch_size": 0}, "batch_size"),
    (TrainConfig, {"lr": 0.0}, "lr"),
    (TrainConfig, {"lr": 2.0}, "lr"),
    (TrainConfig, {"lora_dropout": 1.0}, "lora_dropout"),
    (TrainConfig, {"device": "tpu"}, "device"),
    (TrainConfig, {"quantization": "int3"}, "quantization"),
    (ChatConfig, {"max_new_tokens": 0}, "max_new_tokens"),
    (ChatConfig, {"temperature": -0.1}, "temperature"),
    (ChatConfig, {"top_p": 0.0}, "top_p"),
])
def test_validation_error_names_the_field(cls, kwargs, field):
    with pytest.raises(ConfigError) as err:
        cls(**kwargs)
    assert str(err.value).startswith(field), str(err.value)


def test_choice_error_lists_the_choices():
    with pytest.raises(ConfigError, match="plain, chat"):
        FormatConfig(format="xml")


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_from_dict_rejects_unknown_keys_by_name():
    with pytest.raises(ConfigError, match="lora_rank") as err:
        from_dict(TrainConfig, {"lora_rank": 8, "steps": 3})
    assert "TrainConfig" in str(err.value)


def test_from_dict_coerces_strings_and_names_bad_values():
    cfg = from_dict(TrainConfig, {"steps": "12", "lr": "0.01", "device": "cpu"})
    assert cfg.steps == 12 and cfg.lr == pytest.approx(0.01)
    with pytest.raises(ConfigError, match="steps"):
        from_dict(TrainConfig, {"steps": "twelve"})


def _bool_settings() -> list[tuple[type, str]]:
    return [(cls, f.name) for cls in STAGES.values() for f in dataclasses.fields(cls)
            if typing.get_type_hints(cls)[f.name] is bool]


def test_yes_no_settings_from_text_and_cli():
    """Regression: a second parse_bool(text) shadowed parse_bool(value, name) → TypeError in from_dict."""
    if not _bool_settings():
        pytest.skip("no yes/no settings in this version")
    cls, name = _bool_settings()[0]
    for text, value in (("no", False), ("yes", True), ("false", False), ("1", True)):
        assert getattr(from_dict(cls, {name: text}), name) is value
    with pytest.raises(ConfigError, match=name):
        from_dict(cls, {name: "maybe"})
    parser = _parser(cls)
    option = "--" + name.replace("_", "-")
    assert getattr(from_args(cls, parser.parse_args([option, "no"])), name) is False
    assert getattr(from_args(cls, parser.parse_args([option, "yes"])), name) is True


def test_yaml_round_trip(tmp_path):
    configs = {"model": ModelConfig("some/folder"),
               "format": FormatConfig(format="plain", system_prompt="Ты — архивист."),
               "train": TrainConfig(steps=7, lr=0.02, target_modules="q_proj,v_proj"), "note": {"free": "form"}}
    path = tmp_path / "run" / "config.yaml"
    save_yaml(path, configs)
    assert "архивист" in path.read_text(encoding="utf-8")  # unicode kept readable, not escaped
    assert list(yaml.safe_load(path.read_text(encoding="utf-8"))) == ["model", "format", "train", "note"]
    loaded = load_yaml(path)
    assert loaded["model"] == configs["model"]
    assert loaded["format"] == configs["format"]
    assert loaded["train"] == configs["train"]
    assert loaded["note"] == {"free": "form"}  # stages it does not know stay plain data


def test_load_yaml_rejects_unknown_setting(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("train:\n  stepz: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="stepz"):
        load_yaml(path)


def _parser(*classes) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(exit_on_error=False)
    for cls in classes:
        add_arguments(parser, cls)
    return parser


def test_add_arguments_makes_dashed_options_with_help():
    parser = _parser(TrainConfig, FormatConfig)
    options = {o for action in parser._actions for o in action.option_strings}
    for f in dataclasses.fields(TrainConfig):
        assert "--" + f.name.replace("_", "-") in options
    assert {"--lora-r", "--max-seq-len", "--eval-fraction"} <= options
    help_text = parser.format_help()
    assert "LoRA rank" in help_text and "(default: 16)" in help_text


def test_from_args_overlays_given_values_only():
    parser = _parser(TrainConfig)
    args = parser.parse_args(["--lora-r", "8", "--lr", "0.005", "--device", "cpu"])
    base = TrainConfig(steps=33, lora_r=4)
    cfg = from_args(TrainConfig, args, base)
    assert (cfg.lora_r, cfg.lr, cfg.device) == (8, 0.005, "cpu")
    assert cfg.steps == 33  # not given on the command line: kept from base
    assert from_args(TrainConfig, parser.parse_args([])) == TrainConfig()


def test_from_args_keeps_stages_apart():
    parser = _parser(FormatConfig, TrainConfig)  # what `train` offers
    args = parser.parse_args(["--format", "plain", "--seed", "3"])
    assert from_args(FormatConfig, args) == FormatConfig(format="plain")
    assert from_args(TrainConfig, args) == TrainConfig(seed=3)


def test_cli_choices_are_enforced():
    parser = _parser(TrainConfig)
    with pytest.raises(argparse.ArgumentError):
        parser.parse_args(["--device", "tpu"])


def test_from_args_validates():
    parser = _parser(TrainConfig)
    args = parser.parse_args(["--steps", "0"])
    with pytest.raises(ConfigError, match="steps"):
        from_args(TrainConfig, args)
