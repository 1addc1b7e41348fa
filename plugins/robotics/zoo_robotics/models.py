"""Backbones for robot perception: timm's ResNets reading RGB-D (4 channels) from scratch.

A skip-connected ReLU network whose first convolution takes the depth channel beside the colours; its head
regresses the grasp point directly (3 numbers, cm). Nothing is downloaded.
"""
from __future__ import annotations

from torch import nn

from zoo import ZooError


def rgbd_resnet(in_chans: int = 4, num_outputs: int = 3, arch: str = "resnet18", drop_rate: float = 0.0) -> nn.Module:
    import timm

    if arch not in timm.list_models("resnet*"):
        raise ZooError(f"--set model.arch={arch}: not one of timm's ResNets (e.g. resnet10t, resnet18, resnet34)")
    return timm.create_model(arch, pretrained=False, in_chans=in_chans, num_classes=num_outputs, drop_rate=drop_rate)
