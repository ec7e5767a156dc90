"""Training configuration: the paper's defaults, presets, and flags that name themselves."""

import dataclasses

import pytest

from hg_keras.training.cli import build_parser, config_from_args
from hg_keras.training.config import TrainConfig, flag_name


def test_defaults_are_the_papers():
    config = TrainConfig()
    assert (config.optimizer, config.learning_rate, config.heatmap_sigma_px) == (
        "rmsprop", 2.5e-4, 1.0
    )
    assert (config.num_stacks, config.num_features, config.input_size) == (8, 256, 256)
    assert (config.rotation_deg, config.scale_range, config.flip_prob) == (30.0, (0.75, 1.25), 0.5)
    assert (config.lr_schedule, config.lr_drop_factor, config.max_lr_drops) == ("plateau", 0.2, 1)


def test_flags_override_the_preset():
    args = build_parser().parse_args(["--dataset", "synthetic", "--stacks", "1", "--lr", "0.01"])
    config = config_from_args(args)
    assert config.preset == "cpu-demo"  # the synthetic default trains the CPU preset
    assert (config.num_stacks, config.learning_rate, config.input_size) == (1, 0.01, 128)


def test_named_dataset_defaults_to_the_paper_preset():
    config = config_from_args(build_parser().parse_args(["--dataset", "mpii"]))
    assert (config.preset, config.num_stacks, config.batch_size) == ("paper", 8, 6)


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "learning rate (paper: 0.00025; cpu-demo: 0.0056)" in text
    assert "rmsprop" in text and "(default: 0.2)" in text
    assert "(default: None)" not in text and "(default: False)" not in text


@pytest.mark.parametrize(
    "overrides, flag",
    [
        (dict(batch_size=0), "--batch-size"),
        (dict(learning_rate=-1.0), "--lr "),
        (dict(num_stacks=0), "--stacks "),
        (dict(heatmap_sigma_px=0.0), "--sigma "),
        (dict(input_size=100), "--input-size"),
        (dict(optimizer="sgd"), "--optimizer"),
        (dict(steps_per_epoch=0), "--steps-per-epoch"),
        (dict(lr_drop_factor=2.0), "--lr-drop-factor"),
        (dict(time_limit_min=-5.0), "--time-limit-min"),
        (dict(lr_schedule="budget"), "--time-limit-min"),  # a budget schedule needs a budget
        (dict(lr_schedule="budget", time_limit_min=0.0), "--time-limit-min"),
        (dict(time_limit_min=10.0, lr_drop_at=1.5), "--lr-drop-at"),
    ],
)
def test_bad_values_raise_naming_the_flag(overrides, flag):
    with pytest.raises(ValueError, match=flag):
        TrainConfig.from_preset("paper", **overrides)


def test_every_flag_named_in_an_error_exists():
    parser_flags = {flag for action in build_parser()._actions for flag in action.option_strings}
    for field in dataclasses.fields(TrainConfig):
        if field.name not in ("dataset", "preset", "run_dir"):
            assert flag_name(field.name) in parser_flags, field.name


def test_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="--preset 'fast'"):
        TrainConfig.from_preset("fast")


def test_config_round_trips_through_json_values():
    config = TrainConfig.from_preset("cpu-demo", epochs=3)
    assert TrainConfig.from_dict(config.to_dict()) == config
