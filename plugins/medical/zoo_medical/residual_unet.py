"""MONAI's residual U-Net (`monai.networks.nets.UNet`, 2-D, its default PReLU, instance norm and 3x3 kernels),
built from plain torch layers with the same modules, the same parameter names and the same order of
construction, so that a seed gives the same weights, a checkpoint of one loads into the other and the outputs
agree (tests/test_medical_unet.py checks all three against MONAI's own).

Why by hand: `import monai` imports every MONAI submodule (about 4.5 s on a 2-core machine), three times what
the rest of a cold `zoo predict` on the flagship takes. Training keeps MONAI's transforms, losses and metrics;
the network that prediction builds needs only torch.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn


class Convolution(nn.Sequential):
    """A convolution (or a transposed one, which doubles the size at stride 2), then instance norm, dropout and
    PReLU unless `conv_only`; MONAI's `Convolution` with adn_ordering 'NDA'."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, transposed: bool = False,
                 conv_only: bool = False, dropout: float = 0.0):
        super().__init__()
        if transposed:
            conv = nn.ConvTranspose2d(in_channels, out_channels, 3, stride, padding=1, output_padding=stride - 1)
        else:
            conv = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1)
        self.add_module("conv", conv)
        if not conv_only:
            self.add_module("adn", nn.Sequential(OrderedDict(
                N=nn.InstanceNorm2d(out_channels), D=nn.Dropout(dropout), A=nn.PReLU())))


class ResidualUnit(nn.Module):
    """`subunits` convolutions (the first strided) plus the input, brought to the output's shape by a
    convolution when the shape changes (3x3 strided, or 1x1 for channels only); MONAI's `ResidualUnit`."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, subunits: int = 1,
                 last_conv_only: bool = False, dropout: float = 0.0):
        super().__init__()
        self.conv = nn.Sequential()
        self.residual: nn.Module = nn.Identity()
        subunits, channels, step = max(1, subunits), in_channels, stride
        for i in range(subunits):
            self.conv.add_module(f"unit{i}", Convolution(channels, out_channels, step, dropout=dropout,
                                                         conv_only=last_conv_only and i == subunits - 1))
            channels, step = out_channels, 1
        if stride != 1 or in_channels != out_channels:
            kernel, padding = (3, 1) if stride != 1 else (1, 0)
            self.residual = nn.Conv2d(in_channels, out_channels, kernel, stride, padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + self.residual(x)


class SkipConnection(nn.Module):
    """The input and what the deeper levels made of it, side by side in channels."""

    def __init__(self, submodule: nn.Module):
        super().__init__()
        self.submodule = submodule

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.submodule(x)], dim=1)


class UNet(nn.Module):
    """Levels of `channels` (top first), each down by its stride on the way in and up on the way out, with the
    level's input concatenated before going up: `UNet(1, 16, (16, 32, 64, 128), (2, 2, 2), num_res_units=1)`."""

    def __init__(self, in_channels: int, out_channels: int, channels: Sequence[int], strides: Sequence[int],
                 num_res_units: int = 0, dropout: float = 0.0):
        super().__init__()
        if len(channels) < 2 or len(strides) < len(channels) - 1:
            raise ValueError("a U-Net needs at least two levels and a stride for each level but the last")
        self.num_res_units, self.dropout = num_res_units, dropout
        self.model = self._level(in_channels, out_channels, list(channels), list(strides), top=True)

    def _level(self, in_channels: int, out_channels: int, channels: list[int], strides: list[int],
               top: bool) -> nn.Module:
        # the deeper levels are built first, then this level's way down and way up: MONAI's order, so that a
        # seed gives both networks the same weights
        width, stride = channels[0], strides[0]
        if len(channels) > 2:
            deeper, up_channels = self._level(width, width, channels[1:], strides[1:], top=False), 2 * width
        else:
            deeper, up_channels = self._down(width, channels[1], 1), width + channels[1]
        down = self._down(in_channels, width, stride)
        up = self._up(up_channels, out_channels, stride, top)
        return nn.Sequential(down, SkipConnection(deeper), up)

    def _down(self, in_channels: int, out_channels: int, stride: int) -> nn.Module:
        if self.num_res_units > 0:
            return ResidualUnit(in_channels, out_channels, stride, self.num_res_units, dropout=self.dropout)
        return Convolution(in_channels, out_channels, stride, dropout=self.dropout)

    def _up(self, in_channels: int, out_channels: int, stride: int, top: bool) -> nn.Module:
        conv = Convolution(in_channels, out_channels, stride, transposed=True, dropout=self.dropout,
                           conv_only=top and self.num_res_units == 0)
        if self.num_res_units == 0:
            return conv
        return nn.Sequential(conv, ResidualUnit(out_channels, out_channels, 1, 1, last_conv_only=top,
                                                dropout=self.dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
