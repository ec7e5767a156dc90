"""The builder reproduces the paper's layout (SPEC §1) and the reference parameter counts."""

import keras
import numpy as np
import pytest

from hg_keras.model import (
    PAPER_ABLATIONS,
    build_ablation,
    build_stacked_hourglass,
    count_flops,
    trainable_parameter_count,
)

SMALL = dict(num_features=32, input_shape=(64, 64, 3))


@pytest.fixture(scope="module")
def paper_model():
    """The paper's final network: 8 stacks, 16 MPII joints, 256x256 input."""
    return build_stacked_hourglass(num_stacks=8, num_joints=16)


@pytest.mark.parametrize(
    "num_stacks, expected",
    [(1, 3_426_448), (2, 6_570_400), (4, 12_858_304)],
)
def test_trainable_parameters_equal_reference_implementation(num_stacks, expected):
    model = build_stacked_hourglass(num_stacks=num_stacks, num_joints=16)
    assert trainable_parameter_count(model) == expected


def test_eight_stack_parameters_equal_reference_implementation(paper_model):
    assert trainable_parameter_count(paper_model) == 25_434_112


def test_one_output_per_stack_at_quarter_resolution():
    model = build_stacked_hourglass(num_stacks=3, num_joints=11)
    assert model.output_names == ["stack_1", "stack_2", "stack_3"]
    assert [tuple(o.shape) for o in model.outputs] == [(None, 64, 64, 11)] * 3
    assert tuple(model.input.shape) == (None, 256, 256, 3)


def test_no_filter_larger_than_3x3_except_the_stem():
    model = build_stacked_hourglass(num_stacks=2)
    large = [
        layer.name
        for layer in model.layers
        if isinstance(layer, keras.layers.Conv2D) and max(layer.kernel_size) > 3
    ]
    assert large == ["stem_conv"]


def test_layer_names_follow_the_papers_parts():
    model = build_stacked_hourglass(num_stacks=2)
    names = {layer.name for layer in model.layers}
    for expected in [
        "stem_conv",
        "stem_res3_conv3",
        "stack2_hg_down3_res1_conv2",
        "stack1_hg_skip1_res1_bn1",
        "stack1_hg_bottom_res1_conv3",
        "stack2_hg_up4_res1_conv1",
        "stack1_head_conv",
        "stack1_remap_heatmaps",
        "stack1_remap_features",
        "stack2_heatmaps",
    ]:
        assert expected in names
    # no remap after the last stack: no weight sharing and nothing unused
    assert "stack2_remap_heatmaps" not in names


def test_hourglass_reaches_4x4_at_the_bottom():
    model = build_stacked_hourglass(num_stacks=1)
    bottom = model.get_layer("stack1_hg_bottom_res1_add").output
    assert tuple(bottom.shape) == (None, 4, 4, 256)


def test_skip_convolution_only_when_channels_change():
    model = build_stacked_hourglass(num_stacks=1)
    skips = sorted(layer.name for layer in model.layers if layer.name.endswith("_skip"))
    assert skips == ["stem_res1_skip", "stem_res3_skip"]


def test_equal_parameter_stacks_share_the_same_body(paper_model):
    """2x4, 4x2 and 8x1 differ only by the per-stack supervision heads (paper §4.2)."""
    counts = {n: trainable_parameter_count(build_ablation(n)) for n in ("2-Stack", "4-Stack")}
    counts["8-Stack"] = trainable_parameter_count(paper_model)
    assert counts == {"2-Stack": 24_590_752, "4-Stack": 24_871_872, "8-Stack": 25_434_112}
    # Each extra stack adds one head (1x1 conv + BN + heatmaps) and two 1x1 remaps:
    head_and_remaps = ((256 * 256 + 256 + 2 * 256) + (256 * 16 + 16) + (16 * 256 + 256)
                       + (256 * 256 + 256))
    assert counts["8-Stack"] - counts["2-Stack"] == 6 * head_and_remaps
    spread = (max(counts.values()) - min(counts.values())) / max(counts.values())
    assert spread < 0.034


def test_fig8_variants_have_the_papers_supervision():
    fig8 = [name for name in PAPER_ABLATIONS if name.startswith("HG")]  # Fig. 9's: above
    outputs = {name: build_ablation(name, **SMALL).output_names for name in fig8}
    assert outputs["HG"] == ["stack_1"]
    assert outputs["HG-Int"] == ["int_quarter_res", "int_half_res", "stack_1"]
    assert outputs["HG-Stacked"] == ["stack_2"]
    assert outputs["HG-Stacked-Int"] == ["stack_1", "stack_2"]


def test_hg_int_outputs_are_resized_to_the_output_resolution():
    model = build_ablation("HG-Int", **SMALL)
    assert [tuple(o.shape) for o in model.outputs] == [(None, 16, 16, 16)] * 3


def test_stacked_no_int_has_same_weights_as_stacked():
    a = build_stacked_hourglass(num_stacks=2, num_residuals=4, variant="stacked_no_int", **SMALL)
    b = build_stacked_hourglass(num_stacks=2, num_residuals=4, variant="stacked", **SMALL)
    assert trainable_parameter_count(a) == trainable_parameter_count(b)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        (dict(num_stacks=0), "num_stacks"),
        (dict(num_joints=0), "num_joints"),
        (dict(num_residuals=0), "num_residuals"),
        (dict(input_shape=(100, 100, 3)), "input_shape"),
        (dict(input_shape=(64, 64, 1)), "input_shape"),
        (dict(variant="deep"), "variant"),
        (dict(variant="hg", num_stacks=2), "num_stacks"),
        (dict(num_features=33), "num_features"),
    ],
)
def test_nonsensical_arguments_raise_value_error_naming_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        build_stacked_hourglass(**kwargs)


def test_keras_file_round_trip_gives_identical_outputs(tmp_path):
    model = build_stacked_hourglass(num_stacks=2, num_joints=5, **SMALL)
    images = np.random.default_rng(0).random((2, 64, 64, 3), dtype=np.float32)
    before = model.predict(images, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    after = loaded.predict(images, verbose=0)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    assert loaded.output_names == ["stack_1", "stack_2"]


def test_get_config_rebuilds_the_same_architecture():
    model = build_stacked_hourglass(num_stacks=2, num_joints=5, **SMALL)
    rebuilt = keras.Model.from_config(model.get_config())
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in model.layers]
    assert trainable_parameter_count(rebuilt) == trainable_parameter_count(model)


def test_flops_of_the_papers_8_stack_model(paper_model):
    # 2 FLOPs per multiply-add, convolutions only, one 256x256 image.
    assert count_flops(paper_model) == 54_880_370_688
    tiny = build_stacked_hourglass(
        num_stacks=1, num_joints=1, num_features=32, input_shape=(64, 64, 3)
    )
    stem_conv_flops = 2 * 32 * 32 * 7 * 7 * 3 * 64
    assert count_flops(tiny) > stem_conv_flops
