"""A small ResNet-like network for training from scratch when no pretrained weights are available.

Standard residual design (He et al. 2016, the CIFAR variant): a 3x3 stem at full resolution, then
one basic block per stage, each halving the resolution and (by default) doubling the width, global
average pooling and one linear classifier (`fc`, so that helpers.models.backbones treats it like
any torchvision backbone: the classifier is found and replaced the same way). Nothing in it is
specific to a data set; its size suits small images (32-96 px) on a CPU.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from helpers.core.labels import N_LABELS

SCRATCH_NAME = "scratch_resnet"  # the name tables and configs use for this network
DEFAULT_WIDTHS = (32, 64, 128, 256)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a shortcut (1x1 projection when the shape changes)."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out),
        )
        self.shortcut = (nn.Identity() if stride == 1 and c_in == c_out else
                         nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class ScratchResNet(nn.Module):
    """Stem at full resolution + one residual block per width, each halving the resolution + pooling + fc."""

    def __init__(self, widths: Sequence[int] = DEFAULT_WIDTHS, n_labels: int = N_LABELS, dropout: float = 0.2):
        super().__init__()
        widths = tuple(int(w) for w in widths)
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]),
                                  nn.ReLU(inplace=True))
        blocks, c_in = [], widths[0]
        for width in widths:
            blocks.append(BasicBlock(c_in, width, stride=2))
            c_in = width
        self.stages = nn.Sequential(*blocks)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout))
        self.fc = nn.Linear(c_in, n_labels)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        for block in blocks:  # zero-init the last BN of each block: every block starts as the identity
            nn.init.zeros_(block.body[-1].weight)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.stages(self.stem(images))))
