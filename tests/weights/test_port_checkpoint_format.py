"""The reference PoseNet has exactly the keys and shapes of the port's published checkpoints."""


import pytest

torch = pytest.importorskip(
    "torch", reason="torch is the optional extra hg-keras[convert]"
)

from hg_keras.benchmarks.pytorch_reference import (
    CHECKPOINT_KEY_PREFIX,
    PoseNet,
    heatmap_loss,
    save_port_checkpoint,
    train_step,
)


def test_reference_posenet_state_dict_equals_the_official_2_stack_key_list(port_key_list):
    expected = [(key, list(shape)) for key, shape in port_key_list]
    net = PoseNet(nstack=2, inp_dim=256, oup_dim=16)
    actual = [
        (CHECKPOINT_KEY_PREFIX + k, list(v.shape)) for k, v in net.state_dict().items()
    ]
    assert actual == expected


def test_saved_checkpoint_has_the_port_layout(tmp_path):
    net = PoseNet(nstack=1, inp_dim=32, oup_dim=16)
    save_port_checkpoint(net, tmp_path / "checkpoint.pt", epoch=3)
    checkpoint = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert sorted(checkpoint) == ["epoch", "optimizer", "state_dict"]
    assert checkpoint["epoch"] == 3
    assert "model.module.outs.0.conv.weight" in checkpoint["state_dict"]


def test_forward_takes_nhwc_and_returns_n_stack_k_h_w():
    net = PoseNet(nstack=2, inp_dim=32, oup_dim=11).eval()
    with torch.no_grad():
        heatmaps = net(torch.rand(1, 64, 128, 3))
    assert tuple(heatmaps.shape) == (1, 2, 11, 16, 32)


def test_heatmap_loss_is_the_per_stack_mean_squared_error():
    preds = torch.zeros(2, 2, 1, 2, 2)
    preds[0, 1, 0, 0, 0] = 2.0  # sample 0, stack 2: one pixel off by 2 -> 4 / 4 pixels
    loss = heatmap_loss(preds, torch.zeros(2, 1, 2, 2))
    assert loss.tolist() == [[0.0, 1.0], [0.0, 0.0]]


def test_train_step_lowers_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    net = PoseNet(nstack=1, inp_dim=32, oup_dim=2)
    optimizer = torch.optim.RMSprop(net.parameters(), lr=2.5e-4)
    # Batch of 2: training-mode BatchNorm needs more than one value at the 1x1 bottom.
    imgs, targets = torch.rand(2, 64, 64, 3), torch.zeros(2, 2, 16, 16)
    first = train_step(net, optimizer, imgs, targets)
    train_step(net, optimizer, imgs, targets)
    last = train_step(net, optimizer, imgs, targets)
    assert last < first
