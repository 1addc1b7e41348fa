"""Networks: a residual U-Net (denoising, colorization), sub-pixel super-resolution, a style-transfer network
with the encoder that judges it, and a class-conditional U-Net for flow matching. All fully convolutional:
any image size goes through (padded inside to what the strides need, and cropped back)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from zoo import ZooError

from .images import pad_to_multiple


def _widths(width: int, levels: int) -> list[int]:
    if width < 4 or levels < 1:
        raise ZooError(f"--set model.width/model.levels: need width >= 4 and levels >= 1, got {width}, {levels}")
    return [width * min(2 ** i, 4) for i in range(levels)]


def double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """A U-Net of `levels` resolutions (strided convs down, transposed convs up, skips across).

    residual=True returns the input minus the network's output: the network estimates the noise, as DnCNN
    does, which trains faster than estimating the clean image.
    """

    def __init__(self, in_channels: int, out_channels: int, width: int = 32, levels: int = 3, residual: bool = False):
        super().__init__()
        widths = _widths(width, levels)
        self.residual, self.multiple = residual, 2 ** (levels - 1)
        self.inc = double_conv(in_channels, widths[0])
        self.downs = nn.ModuleList(nn.Sequential(nn.Conv2d(a, b, 3, stride=2, padding=1), nn.ReLU(inplace=True),
                                                 double_conv(b, b)) for a, b in zip(widths, widths[1:]))
        self.ups = nn.ModuleList(nn.ConvTranspose2d(b, a, 2, stride=2) for a, b in zip(widths, widths[1:]))
        self.merges = nn.ModuleList(double_conv(2 * a, a) for a in widths[:-1])
        self.out = nn.Conv2d(widths[0], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded, (h, w) = pad_to_multiple(x, self.multiple)
        skips = [self.inc(padded)]
        for down in self.downs:
            skips.append(down(skips[-1]))
        y = skips.pop()
        for up, merge in zip(reversed(self.ups), reversed(self.merges)):
            y = merge(torch.cat([up(y), skips.pop()], 1))
        y = self.out(y)[..., :h, :w]
        return x - y if self.residual else y


class NoiseResidual(nn.Module):
    """A network that estimates the noise of the first `channels` channels of its input (the rest: the noise-level
    map, when there is one) and returns those channels minus it."""

    def __init__(self, net: nn.Module, channels: int):
        super().__init__()
        self.net, self.channels = net, channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :self.channels] - self.net(x)


def denoiser(channels: int = 1, width: int = 32, levels: int = 3, noise_map: bool = False) -> nn.Module:
    """Residual U-Net denoiser (image in, image out); with `noise_map` its input has one more channel, the level.
    Its last conv (the noise estimate) starts near zero (PyTorch's default init / 100, no bias): the network starts
    as nearly the identity and learns the noise. (Not exactly zero: on an input without noise, the loss would
    then be exactly zero and no gradient would reach the weights.)"""
    net = UNet(channels + int(noise_map), channels, width, levels)
    with torch.no_grad():
        net.out.weight.mul_(0.01)
        net.out.bias.zero_()
    return NoiseResidual(net, channels)


class ResBlock(nn.Module):
    """conv-ReLU-conv added to its input, no normalization and no biases (as in DRUNet)."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, padding=1, bias=False), nn.ReLU(inplace=True),
                                  nn.Conv2d(width, width, 3, padding=1, bias=False))

    def forward(self, x):
        return x + self.body(x)


class ResUNet(nn.Module):
    """DRUNet-style denoiser (Zhang et al. 2021, "Plug-and-play image restoration with deep denoiser prior"),
    smaller: `levels` resolutions of `blocks` residual blocks each, strided 2x2 convs down, transposed convs up,
    skips added (not concatenated), the noise-level map as one more input channel. Its output is the noise,
    subtracted from the noisy input."""

    def __init__(self, channels: int = 1, width: int = 32, levels: int = 3, blocks: int = 2, noise_map: bool = True):
        super().__init__()
        if blocks < 1:
            raise ZooError(f"--set model.blocks: need at least 1 residual block per level, got {blocks}")
        widths = _widths(width, levels)
        self.channels, self.multiple = channels, 2 ** (levels - 1)
        self.head = nn.Conv2d(channels + int(noise_map), widths[0], 3, padding=1, bias=False)
        self.encoders = nn.ModuleList(nn.Sequential(*[ResBlock(a) for _ in range(blocks)],
                                                    nn.Conv2d(a, b, 2, stride=2, bias=False))
                                      for a, b in zip(widths, widths[1:]))
        self.body = nn.Sequential(*[ResBlock(widths[-1]) for _ in range(blocks)])
        self.decoders = nn.ModuleList(nn.Sequential(nn.ConvTranspose2d(b, a, 2, stride=2, bias=False),
                                                    *[ResBlock(a) for _ in range(blocks)])
                                      for a, b in zip(widths, widths[1:]))
        self.tail = nn.Conv2d(widths[0], channels, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded, (h, w) = pad_to_multiple(x, self.multiple)
        skips = [self.head(padded)]
        for encoder in self.encoders:
            skips.append(encoder(skips[-1]))
        y = self.body(skips.pop()) + 0
        for decoder in reversed(self.decoders):
            y = decoder(y) + skips.pop()
        return x[:, :self.channels] - self.tail(y)[..., :h, :w]


def resunet_denoiser(channels: int = 1, width: int = 32, levels: int = 3, blocks: int = 2,
                     noise_map: bool = True) -> nn.Module:
    """DRUNet-style residual U-Net denoiser told the noise level (or blind, noise_map=False)."""
    return ResUNet(channels, width, levels, blocks, noise_map)


class AtLowerResolution(nn.Module):
    """A network run on its input shrunk `scale` times (area average), its output (logits) enlarged back
    (bilinear): colour varies slowly, and a network at half resolution sees twice the context for a quarter of
    the work (Zhang et al. 2016 predict ab at a quarter of the resolution)."""

    def __init__(self, net: nn.Module, scale: int):
        super().__init__()
        self.net, self.scale = net, scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        small = F.interpolate(x, size=(max(1, -(-h // self.scale)), max(1, -(-w // self.scale))), mode="area")
        return F.interpolate(self.net(small), size=(h, w), mode="bilinear", align_corners=False)


def colorizer(num_bins: int, width: int = 32, levels: int = 4, scale: int = 1) -> nn.Module:
    """U-Net from the L channel to a distribution over the quantized ab colours at every pixel; with `scale` 2
    or 4 it runs at that fraction of the resolution and its logits are enlarged back."""
    if scale not in (1, 2, 4):
        raise ZooError(f"--set model.scale: 1, 2 or 4, got {scale}")
    net = UNet(1, num_bins, width, levels)
    return net if scale == 1 else AtLowerResolution(net, scale)


class SubPixelSR(nn.Module):
    """Super-resolution by sub-pixel convolution (ESPCN, Shi et al. 2016): residual blocks at low resolution,
    a conv to channels x scale^2 and a pixel shuffle; added to the bicubic upscaling, so it learns the detail
    bicubic misses."""

    def __init__(self, channels: int = 1, scale: int = 2, width: int = 48, blocks: int = 6):
        super().__init__()
        self.scale = scale
        self.head = nn.Conv2d(channels, width, 3, padding=1)
        self.blocks = nn.ModuleList(nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True),
                                                  nn.Conv2d(width, width, 3, padding=1)) for _ in range(blocks))
        self.tail = nn.Conv2d(width, channels * scale * scale, 3, padding=1)
        nn.init.zeros_(self.tail.weight)  # starts as bicubic exactly, and learns what bicubic misses
        nn.init.zeros_(self.tail.bias)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        y = h
        for block in self.blocks:
            y = y + block(y)
        up = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return up + self.shuffle(self.tail(y + h))


def super_resolution(channels: int = 1, scale: int = 2, width: int = 48, blocks: int = 6) -> nn.Module:
    return SubPixelSR(channels, scale, width, blocks)


# -- style transfer ------------------------------------------------------------------------------
class Encoder(nn.Module):
    """A VGG-like encoder (3x3 convs, batch norm, max-pooling), whose activations after each stage give the
    perceptual (content) and style (Gram) losses. Trained by zoo itself: generation/style-encoder."""

    def __init__(self, width: int = 32, stages: int = 4):
        super().__init__()
        widths = [width * 2 ** i for i in range(stages)]
        layers, cin = [], 3
        for i, w in enumerate(widths):
            layers.append(nn.Sequential(*([nn.MaxPool2d(2)] if i else []),
                                        nn.Conv2d(cin, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
                                        nn.Conv2d(w, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(inplace=True)))
            cin = w
        self.stages = nn.ModuleList(layers)
        self.out_channels = widths[-1]
        self.register_buffer("mean", torch.tensor([0.45, 0.45, 0.45]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.25, 0.25, 0.25]).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        y, feats = (x - self.mean) / self.std, []
        for stage in self.stages:
            y = stage(y)
            feats.append(y)
        return feats


class PatchNet(nn.Module):
    """The encoder with a head that tells which training photo a crop comes from."""

    def __init__(self, num_classes: int, width: int = 32, stages: int = 4):
        super().__init__()
        self.encoder = Encoder(width, stages)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(self.encoder.out_channels, num_classes))

    def forward(self, x):
        return self.head(self.encoder(x)[-1])


def patch_encoder(num_classes: int, width: int = 32, stages: int = 4) -> nn.Module:
    return PatchNet(num_classes, width, stages)


def _norm_conv(cin, cout, k, stride=1):
    return [nn.Conv2d(cin, cout, k, stride, k // 2, padding_mode="reflect"), nn.InstanceNorm2d(cout, affine=True),
            nn.ReLU(inplace=True)]


class Residual(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(*_norm_conv(width, width, 3)[:2], nn.ReLU(inplace=True),
                                  *_norm_conv(width, width, 3)[:2])

    def forward(self, x):
        return x + self.body(x)


class StyleNet(nn.Module):
    """A feed-forward style network (Johnson et al. 2016: down twice, residual blocks, up twice, instance norm)
    plus the frozen encoder its losses are computed with (loaded from generation/style-encoder by init_from;
    never trained here, always in eval mode)."""

    def __init__(self, width: int = 16, blocks: int = 3, encoder_width: int = 32, encoder_stages: int = 4):
        super().__init__()
        w = width
        self.transformer = nn.Sequential(
            *_norm_conv(3, w, 9), *_norm_conv(w, 2 * w, 3, 2), *_norm_conv(2 * w, 4 * w, 3, 2),
            *[Residual(4 * w) for _ in range(blocks)],
            nn.Upsample(scale_factor=2, mode="nearest"), *_norm_conv(4 * w, 2 * w, 3),
            nn.Upsample(scale_factor=2, mode="nearest"), *_norm_conv(2 * w, w, 3),
            nn.Conv2d(w, 3, 9, padding=4, padding_mode="reflect"))
        self.encoder = Encoder(encoder_width, encoder_stages)
        self.encoder.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        self.encoder.eval()  # its batch-norm statistics are those it was trained with
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded, (h, w) = pad_to_multiple(x, 4)
        return torch.sigmoid(self.transformer(padded))[..., :h, :w]


def style_net(width: int = 16, blocks: int = 3, encoder_width: int = 32, encoder_stages: int = 4) -> nn.Module:
    return StyleNet(width, blocks, encoder_width, encoder_stages)


# -- flow matching ------------------------------------------------------------------------------------
class Block(nn.Module):
    """A residual block told the time and the class through a per-channel shift."""

    def __init__(self, cin: int, cout: int, embed: int):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(min(8, cin), cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(embed, cout)
        self.norm2, self.conv2 = nn.GroupNorm(min(8, cout), cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, e):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(e)[:, :, None, None]
        return self.skip(x) + self.conv2(F.silu(self.norm2(h)))


class FlowUNet(nn.Module):
    """Predicts the velocity of flow matching for a noisy image x_t = (1-t) x + t noise, given t and a class
    (class `num_classes` is 'no class', for classifier-free guidance)."""

    def __init__(self, num_classes: int = 10, channels: int = 1, width: int = 32, mults: str = "1,2,2",
                 embed: int = 128, patch: int = 1):
        super().__init__()
        try:
            factors = [int(m) for m in str(mults).split(",")]
        except ValueError:
            raise ZooError(f"--set model.mults: expected widths per level like '1,2,2', got {mults!r}") from None
        widths = [width * f for f in factors]
        self.num_classes, self.embed, self.patch = num_classes, embed, patch
        self.multiple = patch * 2 ** (len(widths) - 1)
        channels = channels * patch * patch  # patch > 1: work on patch x patch pixels folded into channels
        self.time = nn.Sequential(nn.Linear(embed, embed), nn.SiLU(), nn.Linear(embed, embed))
        self.label = nn.Embedding(num_classes + 1, embed)
        self.inc = nn.Conv2d(channels, widths[0], 3, padding=1)
        self.enc = nn.ModuleList(Block(a, b, embed) for a, b in zip([widths[0]] + widths[:-1], widths))
        self.down = nn.ModuleList(nn.Conv2d(w, w, 3, stride=2, padding=1) for w in widths[:-1])
        self.mid = Block(widths[-1], widths[-1], embed)
        self.up = nn.ModuleList(nn.Upsample(scale_factor=2, mode="nearest") for _ in widths[:-1])
        self.dec = nn.ModuleList(Block(2 * w, w2, embed) for w, w2 in
                                 zip(reversed(widths), list(reversed(widths))[1:] + [widths[0]]))
        self.out = nn.Sequential(nn.GroupNorm(min(8, widths[0]), widths[0]), nn.SiLU(),
                                 nn.Conv2d(widths[0], channels, 3, padding=1))

    def embedding(self, t: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        half = self.embed // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
        angles = 1000.0 * t.float().view(-1, 1) * freqs
        return self.time(torch.cat([angles.sin(), angles.cos()], 1)) + self.label(label)

    def forward(self, image: torch.Tensor, t: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        padded, (h, w) = pad_to_multiple(image, self.multiple)
        if self.patch > 1:
            padded = F.pixel_unshuffle(padded, self.patch)
        e = self.embedding(t, label)
        y, skips = self.inc(padded), []
        for i, block in enumerate(self.enc):
            y = block(y, e)
            skips.append(y)
            if i < len(self.down):
                y = self.down[i](y)
        y = self.mid(y, e)
        for i, block in enumerate(self.dec):
            if i:
                y = self.up[i - 1](y)
            y = block(torch.cat([y, skips.pop()], 1), e)
        y = self.out(y)
        if self.patch > 1:
            y = F.pixel_shuffle(y, self.patch)
        return y[..., :h, :w]


def flow_unet(num_classes: int = 10, channels: int = 1, width: int = 32, mults: str = "1,2,2",
              embed: int = 128, patch: int = 1) -> nn.Module:
    return FlowUNet(num_classes, channels, width, mults, embed, patch)
