"""Converted port checkpoints give the port's outputs (needs torch: hg-keras[convert])."""

import importlib.util
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="torch is the optional extra hg-keras[convert]"
)

from hg_keras.benchmarks.pytorch_reference import PoseNet, save_port_checkpoint
from hg_keras.weights import from_pytorch_port, read_port_state_dict

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "convert_weights.py"
INPUT_SHAPE = (64, 64, 3)


def _port_net(nstack: int, inp_dim: int, oup_dim: int, seed: int) -> PoseNet:
    """A port PoseNet with random weights and non-trivial BatchNorm statistics, in eval mode."""
    torch.manual_seed(seed)
    net = PoseNet(nstack=nstack, inp_dim=inp_dim, oup_dim=oup_dim)
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                size = module.num_features
                module.weight.copy_(torch.rand(size, generator=generator) + 0.5)
                module.bias.copy_(torch.rand(size, generator=generator) * 0.4 - 0.2)
                module.running_mean.copy_(torch.rand(size, generator=generator) - 0.5)
                module.running_var.copy_(
                    torch.rand(size, generator=generator) * 1.5 + 0.5
                )
                module.num_batches_tracked.fill_(1234)
    return net.eval()


def _images(seed: int, batch: int = 2) -> np.ndarray:
    return (
        np.random.default_rng(seed)
        .uniform(0.0, 1.0, (batch, *INPUT_SHAPE))
        .astype(np.float32)
    )


def _port_outputs(net: PoseNet, images: np.ndarray) -> np.ndarray:
    """Port heatmaps (N, S, K, H, W) rearranged to ours: (S, N, H, W, K)."""
    with torch.no_grad():
        heatmaps = net(torch.from_numpy(images)).numpy()
    return heatmaps.transpose(1, 0, 3, 4, 2)


def _keras_outputs(model, images: np.ndarray) -> np.ndarray:
    """Our heatmaps as (S, N, H, W, K); a 1-stack model returns one tensor, not a list."""
    outputs = model(images, training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return np.stack([np.asarray(o) for o in outputs])


@pytest.mark.parametrize(
    "nstack, inp_dim, oup_dim", [(1, 32, 16), (2, 64, 11)], ids=["1-stack", "2-stack"]
)
def test_converted_checkpoint_matches_the_port_at_every_stack(
    tmp_path, nstack, inp_dim, oup_dim
):
    net = _port_net(nstack, inp_dim, oup_dim, seed=nstack)
    checkpoint = tmp_path / "checkpoint.pt"
    save_port_checkpoint(
        net, checkpoint, epoch=17, optimizer=torch.optim.Adam(net.parameters())
    )

    model = from_pytorch_port(checkpoint, input_shape=INPUT_SHAPE)

    assert model.output_names == [f"stack_{i}" for i in range(1, nstack + 1)]
    images = _images(seed=10 + nstack)
    expected = _port_outputs(net, images)
    actual = _keras_outputs(model, images)
    assert actual.shape == (nstack, 2, 16, 16, oup_dim)
    assert np.abs(expected).max() > 0.1  # a real signal, not all zeros
    assert np.abs(actual - expected).max() <= 1e-4


def test_checkpoint_with_code_objects_is_refused(tmp_path):
    checkpoint = tmp_path / "checkpoint.pt"
    torch.save({"state_dict": {}, "hook": Path("anything")}, checkpoint)
    with pytest.raises(
        ValueError, match=r"checkpoint\.pt: refused by torch\.load\(weights_only=True\)"
    ):
        read_port_state_dict(checkpoint)


def test_num_stacks_disagreeing_with_the_checkpoint_is_an_error(tmp_path):
    checkpoint = tmp_path / "checkpoint.pt"
    save_port_checkpoint(_port_net(1, 32, 16, seed=0), checkpoint)
    with pytest.raises(ValueError, match=r"holds a 1-stack network but num_stacks=2"):
        from_pytorch_port(checkpoint, num_stacks=2, input_shape=INPUT_SHAPE)


def test_read_state_dict_strips_the_port_prefix_and_keeps_values(tmp_path):
    net = _port_net(1, 32, 16, seed=3)
    checkpoint = tmp_path / "checkpoint.pt"
    save_port_checkpoint(net, checkpoint)
    tensors = read_port_state_dict(checkpoint)
    assert set(tensors) == set(net.state_dict())
    np.testing.assert_array_equal(
        tensors["pre.0.bn.running_var"], net.pre[0].bn.running_var.numpy()
    )


def test_missing_torch_gives_install_instructions(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"pip install 'hg-keras\[convert\]'"):
        read_port_state_dict(tmp_path / "checkpoint.pt")


def _convert_script():
    spec = importlib.util.spec_from_file_location("convert_weights", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_writes_a_keras_file_that_loads_safely_and_predicts_like_the_port(
    tmp_path, capsys
):
    net = _port_net(1, 32, 16, seed=5)
    checkpoint = tmp_path / "checkpoint.pt"
    save_port_checkpoint(net, checkpoint)
    out = tmp_path / "models" / "hg1.keras"

    assert (
        _convert_script().main(
            [
                str(checkpoint),
                "--out",
                str(out),
                "--num-stacks",
                "1",
                "--input-size",
                "64",
            ]
        )
        == 0
    )

    assert "1 stacks, 16 joints, 32 features" in capsys.readouterr().out
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "hg1.keras"
    ]  # no temp file left
    model = keras.models.load_model(out, safe_mode=True)
    images = _images(seed=6, batch=1)
    actual = _keras_outputs(model, images)
    assert np.abs(actual - _port_outputs(net, images)).max() <= 1e-4


def test_script_refuses_an_output_name_without_keras_suffix(tmp_path, capsys):
    with pytest.raises(SystemExit):
        _convert_script().main(
            [str(tmp_path / "checkpoint.pt"), "--out", str(tmp_path / "w.h5")]
        )
    assert "w.h5: the output file name must end in .keras" in capsys.readouterr().err
