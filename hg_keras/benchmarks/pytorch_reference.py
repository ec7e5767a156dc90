"""The official PyTorch port's network (princeton-vl/pytorch_stacked_hourglass), layer for layer.

Same module structure, attribute names and forward pass as the port's ``models/layers.py``
and ``models/posenet.py``, so that ``PoseNet(...).state_dict()`` has exactly the keys of the
port's checkpoints. Used to check weight import (``hg_keras.weights``) and as the PyTorch
side of speed and accuracy comparisons. Needs ``torch`` (``pip install 'hg-keras[convert]'``).

Example:
    >>> net = PoseNet(nstack=2, inp_dim=256, oup_dim=16).eval()
    >>> heatmaps = net(torch.rand(1, 256, 256, 3))  # NHWC, RGB in [0, 1]
    >>> tuple(heatmaps.shape)
    (1, 2, 16, 64, 64)
"""

from __future__ import annotations

import os

import torch
from torch import nn

#: Prefix of every state_dict key in the port's checkpoints (Trainer.model = DataParallel(PoseNet)).
CHECKPOINT_KEY_PREFIX = "model.module."

Pool = nn.MaxPool2d


class Conv(nn.Module):
    """Biased convolution with optional BatchNorm and ReLU after it, 'same' padding."""

    def __init__(self, inp_dim, out_dim, kernel_size=3, stride=1, bn=False, relu=True):
        super().__init__()
        self.inp_dim = inp_dim
        self.conv = nn.Conv2d(
            inp_dim,
            out_dim,
            kernel_size,
            stride,
            padding=(kernel_size - 1) // 2,
            bias=True,
        )
        self.relu = nn.ReLU() if relu else None
        self.bn = nn.BatchNorm2d(out_dim) if bn else None

    def forward(self, x):
        assert x.size()[1] == self.inp_dim, f"{x.size()[1]} {self.inp_dim}"
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        if self.relu is not None:
            x = self.relu(x)
        return x


class Residual(nn.Module):
    """Pre-activation bottleneck; ``skip_layer`` always exists but is used only when in != out."""

    def __init__(self, inp_dim, out_dim):
        super().__init__()
        self.relu = nn.ReLU()
        self.bn1 = nn.BatchNorm2d(inp_dim)
        self.conv1 = Conv(inp_dim, int(out_dim / 2), 1, relu=False)
        self.bn2 = nn.BatchNorm2d(int(out_dim / 2))
        self.conv2 = Conv(int(out_dim / 2), int(out_dim / 2), 3, relu=False)
        self.bn3 = nn.BatchNorm2d(int(out_dim / 2))
        self.conv3 = Conv(int(out_dim / 2), out_dim, 1, relu=False)
        self.skip_layer = Conv(inp_dim, out_dim, 1, relu=False)
        self.need_skip = inp_dim != out_dim

    def forward(self, x):
        residual = self.skip_layer(x) if self.need_skip else x
        out = self.bn1(x)
        out = self.relu(out)
        out = self.conv1(out)
        out = self.bn2(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn3(out)
        out = self.relu(out)
        out = self.conv3(out)
        out += residual
        return out


class Hourglass(nn.Module):
    """Recursive hourglass of ``n`` pooling steps: up1 + upsample(low3(low2(low1(pool1(x)))))."""

    def __init__(self, n, f, bn=None, increase=0):
        super().__init__()
        nf = f + increase
        self.up1 = Residual(f, f)
        self.pool1 = Pool(2, 2)
        self.low1 = Residual(f, nf)
        self.n = n
        if self.n > 1:
            self.low2 = Hourglass(n - 1, nf, bn=bn)
        else:
            self.low2 = Residual(nf, nf)
        self.low3 = Residual(nf, f)
        self.up2 = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x):
        up1 = self.up1(x)
        pool1 = self.pool1(x)
        low1 = self.low1(pool1)
        low2 = self.low2(low1)
        low3 = self.low3(low2)
        up2 = self.up2(low3)
        return up1 + up2


class Merge(nn.Module):
    """1x1 convolution mapping a stack's heatmaps or features into the next stack's input."""

    def __init__(self, x_dim, y_dim):
        super().__init__()
        self.conv = Conv(x_dim, y_dim, 1, relu=False, bn=False)

    def forward(self, x):
        return self.conv(x)


class PoseNet(nn.Module):
    """The port's stacked hourglass: NHWC images in, (N, nstack, oup_dim, H/4, W/4) heatmaps out.

    Args:
        nstack: number of hourglasses.
        inp_dim: channels inside the hourglasses (256 in the paper).
        oup_dim: K, heatmaps per stack (16 for MPII).
        bn, increase: the port's (unused by its released models) options; ``increase`` widens
            the lower branch and has no counterpart in ``hg_keras``.
    """

    def __init__(self, nstack, inp_dim, oup_dim, bn=False, increase=0, **kwargs):
        super().__init__()
        self.nstack = nstack
        self.pre = nn.Sequential(
            Conv(3, 64, 7, 2, bn=True, relu=True),
            Residual(64, 128),
            Pool(2, 2),
            Residual(128, 128),
            Residual(128, inp_dim),
        )
        self.hgs = nn.ModuleList(
            [nn.Sequential(Hourglass(4, inp_dim, bn, increase)) for _ in range(nstack)]
        )
        self.features = nn.ModuleList(
            [
                nn.Sequential(
                    Residual(inp_dim, inp_dim),
                    Conv(inp_dim, inp_dim, 1, bn=True, relu=True),
                )
                for _ in range(nstack)
            ]
        )
        self.outs = nn.ModuleList(
            [Conv(inp_dim, oup_dim, 1, relu=False, bn=False) for _ in range(nstack)]
        )
        self.merge_features = nn.ModuleList(
            [Merge(inp_dim, inp_dim) for _ in range(nstack - 1)]
        )
        self.merge_preds = nn.ModuleList(
            [Merge(oup_dim, inp_dim) for _ in range(nstack - 1)]
        )

    def forward(self, imgs):
        x = imgs.permute(0, 3, 1, 2)
        x = self.pre(x)
        combined_hm_preds = []
        for i in range(self.nstack):
            hg = self.hgs[i](x)
            feature = self.features[i](hg)
            preds = self.outs[i](feature)
            combined_hm_preds.append(preds)
            if i < self.nstack - 1:
                x = x + self.merge_preds[i](preds) + self.merge_features[i](feature)
        return torch.stack(combined_hm_preds, 1)


def heatmap_loss(combined_hm_preds, heatmaps):
    """The port's loss: per-stack mean squared error, (N, nstack).

    Args:
        combined_hm_preds: (N, nstack, K, H, W) float32, ``PoseNet`` output.
        heatmaps: (N, K, H, W) float32 targets.
    """
    squared = (combined_hm_preds - heatmaps[:, None]) ** 2
    return squared.mean(dim=(2, 3, 4))


def train_step(net: PoseNet, optimizer: torch.optim.Optimizer, imgs, heatmaps) -> float:
    """One optimisation step as the port's trainer does it; returns the loss.

    The port's loss is the mean of ``heatmap_loss`` over the batch and the stacks.

    Args:
        net: a ``PoseNet`` in training mode.
        optimizer: e.g. ``torch.optim.RMSprop(net.parameters(), lr=2.5e-4)``.
        imgs: (N, H, W, 3) float32 RGB in [0, 1].
        heatmaps: (N, K, H/4, W/4) float32 targets.

    Example:
        >>> net = PoseNet(1, 32, 16)
        >>> opt = torch.optim.RMSprop(net.parameters(), lr=2.5e-4)
        >>> loss = train_step(net, opt, torch.rand(2, 64, 64, 3), torch.zeros(2, 16, 16, 16))
    """
    optimizer.zero_grad()
    loss = heatmap_loss(net(imgs), heatmaps).mean()
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def save_port_checkpoint(net: PoseNet, path, epoch: int = 0, optimizer=None) -> None:
    """Write ``net`` the way the port's ``train.py`` does: keys prefixed ``model.module.``.

    Args:
        net: the network to save.
        path: destination file (the port names it ``checkpoint.pt``).
        epoch: stored under ``"epoch"``.
        optimizer: its ``state_dict()`` is stored under ``"optimizer"`` (an empty dict if None).

    Example:
        >>> save_port_checkpoint(PoseNet(2, 256, 16), "checkpoint.pt")
    """
    state = {
        "state_dict": {
            CHECKPOINT_KEY_PREFIX + k: v for k, v in net.state_dict().items()
        },
        "optimizer": {} if optimizer is None else optimizer.state_dict(),
        "epoch": int(epoch),
    }
    torch.save(state, os.fspath(path))
