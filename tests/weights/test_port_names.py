"""The name table between the PyTorch port's checkpoints and our layers (no torch needed)."""


import numpy as np
import pytest

from hg_keras import build_stacked_hourglass
from hg_keras.weights import (
    PortArchitecture,
    infer_port_architecture,
    load_port_weights,
    port_layer_map,
    strip_key_prefix,
)


def _official_shapes(port_key_list) -> dict:
    """Key (without ``model.module.``) -> shape of the port's published 2-stack checkpoint."""
    return strip_key_prefix(dict(port_key_list))


def _tensor_keys(pairs, shapes):
    keys = set()
    for torch_prefix, _ in pairs:
        keys.update(k for k in shapes if k.rsplit(".", 1)[0] == torch_prefix)
    return keys


def test_official_key_list_has_the_port_prefix_and_742_tensors(port_key_list):
    shapes = _official_shapes(port_key_list)
    assert len(shapes) == 742
    assert "pre.0.conv.weight" in shapes


def test_architecture_of_official_2_stack_checkpoint_is_read_from_its_keys(port_key_list):
    assert infer_port_architecture(_official_shapes(port_key_list)) == PortArchitecture(
        num_stacks=2, num_joints=16, num_features=256, depth=4
    )


def test_layer_map_accounts_for_every_official_key(port_key_list):
    shapes = _official_shapes(port_key_list)
    pairs = port_layer_map(num_stacks=2, depth=4)
    mapped = _tensor_keys(pairs, shapes)
    leftover = {
        k for k in set(shapes) - mapped if not k.endswith(".num_batches_tracked")
    }
    assert leftover == set()
    # Every listed module exists in the checkpoint (no invented names).
    prefixes = {k.rsplit(".", 1)[0] for k in shapes}
    assert [p for p, _ in pairs if p not in prefixes] == []


def test_layer_map_reads_like_the_paper_parts():
    table = dict(port_layer_map(num_stacks=2, depth=4))
    assert table["pre.0.conv"] == "stem_conv"
    assert table["pre.3.conv2.conv"] == "stem_res2_conv2"
    assert table["hgs.0.0.up1.bn1"] == "stack1_hg_skip1_res1_bn1"
    assert table["hgs.1.0.low2.low1.conv3.conv"] == "stack2_hg_down2_res1_conv3"
    assert table["hgs.0.0.low2.low2.low2.low2.bn2"] == "stack1_hg_bottom_res1_bn2"
    assert (
        table["hgs.0.0.low2.low2.low2.low3.skip_layer.conv"]
        == "stack1_hg_up4_res1_skip"
    )
    assert table["features.1.1.bn"] == "stack2_head_bn"
    assert table["outs.1.conv"] == "stack2_heatmaps"
    assert table["merge_features.0.conv.conv"] == "stack1_remap_features"
    assert "merge_preds.1.conv.conv" not in table  # no remap after the last stack


def _numbered_state_dict(shapes):
    """Distinct values per tensor so a wrong transpose or swap shows up."""
    rng = np.random.default_rng(0)
    state_dict = {}
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            state_dict[key] = np.array(7, dtype=np.int64)
        elif key.endswith("running_var"):
            state_dict[key] = rng.uniform(0.5, 2.0, shape).astype(np.float32)
        else:
            state_dict[key] = rng.standard_normal(shape).astype(np.float32)
    return state_dict


@pytest.fixture(scope="module")
def official_model_and_weights(port_key_list):
    state_dict = _numbered_state_dict(_official_shapes(port_key_list))
    model = build_stacked_hourglass(
        num_stacks=2, num_joints=16, input_shape=(64, 64, 3)
    )
    load_port_weights(model, state_dict, "hg2.pt")
    return model, state_dict


def test_every_weighted_layer_of_our_model_is_in_the_map_once(
    official_model_and_weights,
):
    model, _ = official_model_and_weights
    weighted = sorted(layer.name for layer in model.layers if layer.weights)
    mapped = [name for _, name in port_layer_map(num_stacks=2, depth=4)]
    assert len(mapped) == len(set(mapped))
    assert sorted(set(weighted) - set(mapped)) == []
    # Only skips of residuals that keep their channel count are absent from our model.
    absent = set(mapped) - set(weighted)
    assert "stem_res2_skip" in absent and all(name.endswith("_skip") for name in absent)
    assert (
        "stem_res1_skip" in weighted and "stem_res3_skip" in weighted
    )  # 64->128, 128->256


def test_official_2_stack_keys_load_with_kernels_transposed_to_hwio(
    official_model_and_weights,
):
    model, state_dict = official_model_and_weights
    kernel, bias = model.get_layer("stem_conv").get_weights()
    assert kernel.shape == (7, 7, 3, 64)
    oihw = state_dict["pre.0.conv.weight"]
    assert kernel[2, 5, 1, 9] == oihw[9, 1, 2, 5]
    np.testing.assert_array_equal(kernel, oihw.transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(bias, state_dict["pre.0.conv.bias"])
    remap = model.get_layer("stack1_remap_heatmaps").get_weights()[0]
    np.testing.assert_array_equal(
        remap[0, 0], state_dict["merge_preds.0.conv.conv.weight"][:, :, 0, 0].T
    )


def test_official_2_stack_batch_norms_map_to_gamma_beta_mean_variance(
    official_model_and_weights,
):
    model, state_dict = official_model_and_weights
    gamma, beta, mean, variance = model.get_layer(
        "stack2_hg_bottom_res1_bn3"
    ).get_weights()
    prefix = "hgs.1.0.low2.low2.low2.low2.bn3"
    np.testing.assert_array_equal(gamma, state_dict[f"{prefix}.weight"])
    np.testing.assert_array_equal(beta, state_dict[f"{prefix}.bias"])
    np.testing.assert_array_equal(mean, state_dict[f"{prefix}.running_mean"])
    np.testing.assert_array_equal(variance, state_dict[f"{prefix}.running_var"])


@pytest.fixture(scope="module")
def small_model_and_weights():
    """A 1-stack, 32-feature model and a complete port state_dict for it, built from the table."""
    num_features = 32
    model = build_stacked_hourglass(
        num_stacks=1, num_features=num_features, input_shape=(64, 64, 3)
    )
    state_dict = {}
    layers = {layer.name: layer for layer in model.layers}
    for torch_prefix, name in port_layer_map(num_stacks=1):
        layer = layers.get(name)
        if layer is None:  # unused skip: the port stores a square 1x1 conv
            state_dict[f"{torch_prefix}.weight"] = np.zeros(
                (num_features, num_features, 1, 1)
            )
            state_dict[f"{torch_prefix}.bias"] = np.zeros(num_features)
        elif len(layer.weights) == 4:
            for suffix, w in zip(
                ("weight", "bias", "running_mean", "running_var"), layer.weights
            ):
                state_dict[f"{torch_prefix}.{suffix}"] = np.ones(w.shape, np.float32)
            state_dict[f"{torch_prefix}.num_batches_tracked"] = np.array(3)
        else:
            height, width, in_channels, out_channels = layer.weights[0].shape
            state_dict[f"{torch_prefix}.weight"] = np.ones(
                (out_channels, in_channels, height, width), np.float32
            )
            state_dict[f"{torch_prefix}.bias"] = np.ones(out_channels, np.float32)
    return model, state_dict


def test_unmatched_key_is_an_error_that_names_it(small_model_and_weights):
    model, state_dict = small_model_and_weights
    state_dict = dict(state_dict)
    load_port_weights(model, state_dict)  # the complete dict loads
    state_dict["hgs.0.0.extra.weight"] = np.zeros(3)
    with pytest.raises(
        ValueError, match=r"hg1\.pt: .*unmatched keys: hgs\.0\.0\.extra\.weight"
    ):
        load_port_weights(model, state_dict, "hg1.pt")


def test_missing_keys_are_an_error_that_lists_them(small_model_and_weights):
    model, state_dict = small_model_and_weights
    state_dict = dict(state_dict)
    del state_dict["features.0.1.bn.running_var"]
    del state_dict["outs.0.conv.bias"]
    with pytest.raises(
        ValueError,
        match=r"missing keys: features\.0\.1\.bn\.running_var, outs\.0\.conv\.bias",
    ):
        load_port_weights(model, state_dict, "hg1.pt")


def test_shape_mismatch_is_an_error_naming_key_and_weight(small_model_and_weights):
    model, state_dict = small_model_and_weights
    state_dict = dict(state_dict)
    state_dict["outs.0.conv.weight"] = np.ones((11, 32, 1, 1), np.float32)
    state_dict["outs.0.conv.bias"] = np.ones(11, np.float32)
    with pytest.raises(
        ValueError,
        match=r"outs\.0\.conv\.weight \(11, 32, 1, 1\) -> stack1_heatmaps/kernel \(1, 1, 32, 16\)",
    ):
        load_port_weights(model, state_dict)


def test_used_skip_without_a_layer_is_an_error(small_model_and_weights):
    model, state_dict = small_model_and_weights
    state_dict = dict(state_dict)
    # hgs.0.0.up1 keeps 32 channels: its skip is unused; a non-square one would be applied.
    state_dict["hgs.0.0.up1.skip_layer.conv.weight"] = np.zeros((32, 16, 1, 1))
    with pytest.raises(
        ValueError,
        match=r"hgs\.0\.0\.up1\.skip_layer\.conv has no layer 'stack1_hg_skip1_res1_skip'",
    ):
        load_port_weights(model, state_dict)


def test_port_increase_option_is_refused_with_a_reason(port_key_list):
    shapes = dict(_official_shapes(port_key_list))
    shapes["hgs.0.0.low1.conv3.conv.weight"] = (384, 128, 1, 1)
    with pytest.raises(
        ValueError, match=r"hg2\.pt: hgs\.0\.0\.low1 has 384 output channels.*increase"
    ):
        infer_port_architecture(shapes, "hg2.pt")


def test_foreign_state_dict_is_refused_naming_the_missing_key():
    with pytest.raises(
        ValueError, match=r"resnet\.pth: key 'pre\.0\.conv\.weight' is missing"
    ):
        infer_port_architecture({"conv1.weight": (64, 3, 7, 7)}, "resnet.pth")


def test_strip_key_prefix_removes_only_a_prefix_shared_by_all_keys():
    assert strip_key_prefix({"model.module.a": 1, "model.module.b": 2}) == {
        "a": 1,
        "b": 2,
    }
    assert strip_key_prefix({"module.a": 1}) == {"a": 1}
    assert strip_key_prefix({"model.module.a": 1, "b": 2}) == {
        "model.module.a": 1,
        "b": 2,
    }
