"""Backbones from timm, created from scratch and adapted to small images."""
from __future__ import annotations

import timm
from timm.models.resnet import BasicBlock, ResNet
from torch import nn

from zoo import ZooError


SMALL = 64  # images up to this size get the small-image stem


def _small_stem(model: ResNet, in_channels: int) -> ResNet:
    """Replace the 7x7/2 stem and max-pool, which throw away most of a 32 px image, by a 3x3/1 conv."""
    if isinstance(model.conv1, nn.Conv2d):
        model.conv1 = nn.Conv2d(in_channels, model.conv1.out_channels, 3, 1, 1, bias=False)
    else:  # a deep stem (resnet*d, *t): keep its convs, drop the first stride
        model.conv1[0].stride = (1, 1)
    model.maxpool = nn.Identity()
    return model


def resnet18(num_classes: int, in_channels: int = 3, image_size: int = 224, pretrained: bool = False,
             drop_rate: float = 0.0, drop_path_rate: float = 0.0) -> nn.Module:
    try:
        model = timm.create_model("resnet18", pretrained=pretrained, num_classes=num_classes, in_chans=in_channels,
                                  drop_rate=drop_rate, drop_path_rate=drop_path_rate)
    except Exception as exc:  # a hub download fails offline: say so in one line
        raise ZooError(f"vision/resnet18: cannot load pretrained weights ({type(exc).__name__}); "
                       "train from scratch with model.pretrained=false") from None
    return _small_stem(model, in_channels) if image_size <= SMALL else model


def resnet_tiny(num_classes: int, in_channels: int = 1, image_size: int = 28, width: int | str = 32,
                depth: int | str = 1, stem_stride: int = 1, stem_convs: int = 1, drop_rate: float = 0.0,
                drop_path_rate: float = 0.0) -> nn.Module:
    """Four residual stages of basic blocks: `depth` blocks each (or four counts, '2,1,1,1'), `width` to
    8x`width` channels (or four widths, '32,64,128,128').

    stem_stride=2 halves the first stage's resolution: about 4x less compute at 28 px, for CPU budgets.
    stem_convs=2 puts a narrow full-resolution 3x3 conv before the (strided) stem conv, so that
    fine texture is seen before it is subsampled, for about 10% more compute.
    """
    widths = _per_stage("model.width", width, lambda w: (w, 2 * w, 4 * w, 8 * w))
    layers = _per_stage("model.depth", depth, lambda d: (d,) * 4)
    model = ResNet(BasicBlock, layers=layers, channels=widths, num_classes=num_classes, in_chans=in_channels,
                   stem_width=widths[0], drop_rate=drop_rate, drop_path_rate=drop_path_rate)
    model = _small_stem(model, in_channels)
    model.conv1.stride = (stem_stride, stem_stride)
    if stem_convs == 2:
        narrow = max(8, widths[0] // 2)
        model.conv1 = nn.Sequential(nn.Conv2d(in_channels, narrow, 3, 1, 1, bias=False), nn.BatchNorm2d(narrow),
                                    nn.ReLU(inplace=True), nn.Conv2d(narrow, model.conv1.out_channels, 3, stem_stride, 1,
                                                                     bias=False))
    elif stem_convs != 1:
        raise ZooError(f"--set model.stem_convs: expected 1 or 2, got {stem_convs}")
    return model


def _per_stage(key: str, value: int | str, spread) -> tuple[int, ...]:
    """'32' -> spread(32); '32,64,128,128' -> those four numbers."""
    try:
        numbers = tuple(int(v) for v in str(value).split(","))
    except ValueError:
        numbers = ()
    if len(numbers) == 1:
        numbers = spread(numbers[0])
    if len(numbers) != 4 or min(numbers) < 1:
        raise ZooError(f"--set {key}: expected one positive number or four (one per stage), got {value!r}")
    return numbers


def timm_model(num_classes: int, in_channels: int = 3, image_size: int = 224, arch: str = "resnet18",
               pretrained: bool = False, drop_rate: float = 0.0, num_images: int = 0) -> nn.Module:
    """A timm architecture by name; arch='auto' is a compact ResNet sized to the data (sized_resnet)."""
    if arch == "auto":
        return sized_resnet(num_classes, in_channels, image_size, num_images, drop_rate)
    if arch not in timm.list_models():
        close = timm.list_models(f"*{arch}*")[:5]
        raise ZooError(f"--set model.arch: timm has no {arch!r}" + (f"; close: {', '.join(close)}" if close else ""))
    model = timm.create_model(arch, pretrained=pretrained, num_classes=num_classes, in_chans=in_channels,
                              drop_rate=drop_rate)
    return _small_stem(model, in_channels) if isinstance(model, ResNet) and image_size <= SMALL else model


def sized_resnet(num_classes: int, in_channels: int, image_size: int, num_images: int, drop_rate: float = 0.0):
    """A resnet-tiny as wide as the data can feed and as cheap as a CPU affords: 16 channels up for under 5,000
    training images, 32 under 50,000, 64 beyond; the first stage at half resolution from 48 px. A few thousand
    small images then train in minutes on two CPU cores (bench/RESULTS.md, vision: own image folders)."""
    width = 16 if num_images < 5000 else 32 if num_images < 50000 else 64
    return resnet_tiny(num_classes, in_channels, image_size, width=width, depth=1,
                       stem_stride=2 if image_size >= 48 else 1, drop_rate=drop_rate)


def timm_example():
    """Factory kwargs and an input batch for the registry-wide forward test."""
    import torch

    return {"num_classes": 3, "in_channels": 1, "image_size": 16, "arch": "resnet10t"}, torch.randn(2, 1, 16, 16)
