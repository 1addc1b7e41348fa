"""A MONAI U-Net with a plain 1x1 output head: per-pixel logits for segmentation (head region, nuclei...)."""
from __future__ import annotations

from torch import nn

from zoo import ZooError


class SegmentationNet(nn.Module):
    """MONAI U-Net features, then PReLU and a 1x1 convolution to `out_channels` logit maps.

    MONAI's last block instance-normalizes its output channels, which a logit map must not be (a normalized
    map has both signs in every image); the 1x1 head after it is free to be negative everywhere.
    """

    def __init__(self, in_channels: int, out_channels: int, channels: tuple[int, ...], residual_units: int):
        super().__init__()
        from .residual_unet import UNet  # MONAI's, built without importing monai (see there)

        self.unet = UNet(in_channels, channels[0], channels, (2,) * (len(channels) - 1), num_res_units=residual_units)
        self.head = nn.Sequential(nn.PReLU(), nn.Conv2d(channels[0], out_channels, kernel_size=1))

    def forward(self, x):
        return self.head(self.unet(x))


def segmentation_unet(in_channels: int = 1, out_channels: int = 1, image_size: int = 96,
                      channels: str = "16,32,64,128", residual_units: int = 1) -> nn.Module:
    try:
        widths = tuple(int(c) for c in str(channels).split(","))
    except ValueError:
        raise ZooError(f"--set model.channels: expected widths like '16,32,64,128', got {channels!r}") from None
    if len(widths) < 2:
        raise ZooError(f"--set model.channels={channels}: at least two levels")
    if image_size % (2 ** (len(widths) - 1)):
        raise ZooError(f"medical/segmentation-unet: image size {image_size} must be divisible by "
                       f"{2 ** (len(widths) - 1)} for {len(widths)} levels")
    return SegmentationNet(in_channels, out_channels, widths, residual_units)
