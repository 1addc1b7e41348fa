"""MONAI networks for 2D radiographs, from scratch: one anomaly logit per image, or a reconstruction."""
from __future__ import annotations

from torch import nn

from zoo import ZooError

RESNET_LAYERS = {10: (1, 1, 1, 1), 18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}


def densenet121(in_channels: int = 1, image_size: int = 224, dropout: float = 0.0) -> nn.Module:
    """DenseNet-121 as in CheXNet (blocks 6-12-24-16, growth 32), one output logit."""
    from monai.networks.nets import DenseNet121

    return DenseNet121(spatial_dims=2, in_channels=in_channels, out_channels=1, dropout_prob=dropout)


def densenet(in_channels: int = 1, image_size: int = 128, growth: int = 16, blocks: str = "2,4,8,6",
             init_features: int = 32, dropout: float = 0.0) -> nn.Module:
    """The DenseNet-121 design at a width and depth that trains on a CPU in minutes (MONAI DenseNet)."""
    from monai.networks.nets import DenseNet

    try:
        block_config = tuple(int(b) for b in str(blocks).split(","))
    except ValueError:
        raise ZooError(f"--set model.blocks: expected layers per dense block like '4,8,12,8', got {blocks!r}") from None
    return DenseNet(spatial_dims=2, in_channels=in_channels, out_channels=1, init_features=init_features,
                    growth_rate=growth, block_config=block_config, dropout_prob=dropout)


def resnet(in_channels: int = 1, image_size: int = 128, depth: int = 18, width: int = 64) -> nn.Module:
    """MONAI ResNet-10/18/34 with basic blocks and the usual 7x7 stride-2 stem."""
    from monai.networks.nets import ResNet

    if depth not in RESNET_LAYERS:
        raise ZooError(f"--set model.depth: expected one of {', '.join(map(str, RESNET_LAYERS))}, got {depth}")
    return ResNet(block="basic", layers=RESNET_LAYERS[depth], block_inplanes=[width, 2 * width, 4 * width, 8 * width],
                  spatial_dims=2, n_input_channels=in_channels, conv1_t_size=7, conv1_t_stride=2, num_classes=1)


def autoencoder(in_channels: int = 1, image_size: int = 128, channels: str = "16,32,64,128",
                residual_units: int = 1) -> nn.Module:
    """A convolutional autoencoder (MONAI AutoEncoder) whose bottleneck is too small to copy lesions it never saw."""
    from monai.networks.nets import AutoEncoder

    widths = tuple(int(c) for c in str(channels).split(","))
    if image_size % (2 ** len(widths)):
        raise ZooError(f"medical/autoencoder: image size {image_size} must be divisible by {2 ** len(widths)} "
                       f"for {len(widths)} stride-2 stages")
    return AutoEncoder(spatial_dims=2, in_channels=in_channels, out_channels=in_channels, channels=widths,
                       strides=(2,) * len(widths), num_res_units=residual_units)


def autoencoder_example():
    """Factory kwargs and an input batch for the registry-wide forward test (no recipe uses it by default)."""
    import torch

    return {"in_channels": 1, "image_size": 32}, torch.randn(2, 1, 32, 32)


class AnomalyMapNet(nn.Module):
    """A MONAI U-Net that outputs a per-pixel anomaly logit map (N x 1 x H x W).

    The film's anomaly logit is a smooth maximum over the map (task side), so the network can be taught
    where lesions are (their masks) as well as whether there is one: that local signal is what lets it
    learn from a few thousand films on a CPU, and the map itself shows where it looked.
    """

    def __init__(self, in_channels: int = 1, channels: tuple[int, ...] = (16, 32, 64, 128), residual_units: int = 1):
        super().__init__()
        from .residual_unet import UNet  # MONAI's, built without importing monai (see there)

        # the U-Net ends in features, a 1x1 convolution turns them into the logit map: MONAI's top block
        # instance-normalizes its output channels, and a single normalized channel could never be
        # negative everywhere (every film would have 'lesion' pixels)
        self.unet = UNet(in_channels, channels[0], channels, (2,) * (len(channels) - 1), num_res_units=residual_units)
        self.head = nn.Sequential(nn.PReLU(), nn.Conv2d(channels[0], 1, kernel_size=1))

    def forward(self, x):
        return self.head(self.unet(x))


class HealingNet(AnomalyMapNet):
    """A U-Net that returns the film with its lesions removed: the input minus a predicted lesion layer.

    Trained on normal films carrying synthetic blobs (see tasks.HealingTask), it learns to take away what
    does not belong to normal anatomy. Skip connections keep normal detail sharp, which a bottlenecked
    autoencoder blurs, so the reconstruction error is small on normal anatomy and large on a lesion.
    """

    def forward(self, x):
        return x - super().forward(x)


def anomaly_unet(in_channels: int = 1, image_size: int = 128, channels: str = "16,32,64,128",
                 residual_units: int = 1) -> nn.Module:
    return _unet(AnomalyMapNet, "medical/anomaly-unet", in_channels, image_size, channels, residual_units)


def healing_unet(in_channels: int = 1, image_size: int = 128, channels: str = "16,32,64,128",
                 residual_units: int = 1) -> nn.Module:
    return _unet(HealingNet, "medical/healing-unet", in_channels, image_size, channels, residual_units)


def _unet(cls, name: str, in_channels: int, image_size: int, channels: str, residual_units: int) -> nn.Module:
    widths = tuple(int(c) for c in str(channels).split(","))
    if image_size % (2 ** (len(widths) - 1)):
        raise ZooError(f"{name}: image size {image_size} must be divisible by {2 ** (len(widths) - 1)}")
    return cls(in_channels, widths, residual_units)
