"""Networks for robots: timm's ResNets reading RGB-D (4 channels) from scratch, and a residual MLP policy.

The ResNet is a skip-connected ReLU network whose first convolution takes the depth channel beside the colours;
its head regresses the grasp point directly (3 numbers, cm), or (HeatmapNet) finds it in the image. With `yaws`,
logits for each of the hand's yaws follow the point (which yaw lifts the object). Nothing is downloaded.
"""
from __future__ import annotations

import torch
from torch import nn

from zoo import ZooError


def rgbd_resnet(in_chans: int = 4, num_outputs: int = 3, arch: str = "resnet18", drop_rate: float = 0.0,
                head: str = "regression", yaws: int = 0, stride: int = 8, depth_skip: bool = False) -> nn.Module:
    """`head` regression: pooled features to the outputs (then `yaws` logits). heatmap: HeatmapNet (the dataset's
    target 'image'), its heatmap at 1/`stride` of the input (4, 8 or 16), with `depth_skip` its depth a correction
    to the nearest reading around each cell."""
    import timm

    if arch not in timm.list_models("resnet*"):
        raise ZooError(f"--set model.arch={arch}: not one of timm's ResNets (e.g. resnet10t, resnet18, resnet34)")
    if head == "heatmap":
        if stride not in (4, 8, 16):
            raise ZooError(f"--set model.stride={stride}: the heatmap's stride is 4, 8 or 16")
        finest = {4: 1, 8: 2, 16: 3}[stride]  # timm's feature stages 0-4 are at strides 2-32
        return HeatmapNet(timm.create_model(arch, pretrained=False, in_chans=in_chans, features_only=True,
                                            out_indices=tuple(range(finest, 5))), yaws=yaws,
                          stride=stride, depth_skip=depth_skip)
    return timm.create_model(arch, pretrained=False, in_chans=in_chans, num_classes=num_outputs + yaws,
                             drop_rate=drop_rate)


class HeatmapNet(nn.Module):
    """Where in the image, then how far: the backbone's last stages merged top-down at the finest one's scale
    (a small feature pyramid; 1/8 of the input by default), a heatmap whose soft-argmax gives (u, v) in [-1, 1],
    and a depth map read under the same weights. Outputs u and v times IMAGE_SCALE and the depth (cm from
    DEPTH_ORIGIN): data.image_target; then `yaws` logits from the features read under the heatmap (what the object
    looks like where it is). With `depth_skip` the sensor's depth skips the backbone: the nearest reading within
    8 pixels of each cell (the top of what stands there) and whether there was one join the head's input, and
    the depth map is that reading plus the head's correction (deep features blur the exact distance)."""

    def __init__(self, backbone: nn.Module, width: int = 64, yaws: int = 0, stride: int = 8,
                 depth_skip: bool = False):
        super().__init__()
        from .data import DEPTH_GAIN, IMAGE_SCALE

        self.backbone, self.scale, self.stride, self.depth_skip = backbone, IMAGE_SCALE, stride, depth_skip
        self.to_cm = 100 / DEPTH_GAIN  # the depth channel to cm from DEPTH_ORIGIN, the depth target's unit
        self.lateral = nn.ModuleList(nn.Conv2d(c, width, 1) for c in backbone.feature_info.channels())
        extra = 2 if depth_skip else 0
        self.head = nn.Sequential(nn.Conv2d(width + extra, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                                  nn.Conv2d(width, 2, 1))
        self.yaw = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, yaws)) if yaws else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.backbone(x)
        merged = self.lateral[-1](features[-1])
        for lateral, f in zip(reversed(self.lateral[:-1]), reversed(features[:-1])):
            merged = lateral(f) + nn.functional.interpolate(merged, size=f.shape[-2:], mode="nearest")
        if self.depth_skip:
            nearest, seen = self.nearest_reading(x[:, 3:4].float(), merged.shape[-2:])
            heat, depth = self.head(torch.cat([merged, nearest.to(merged.dtype) / 10, seen.to(merged.dtype)], 1)
                                    ).float().unbind(1)
            depth = depth + nearest[:, 0]
        else:
            heat, depth = self.head(merged).float().unbind(1)
        weights = heat.flatten(1).softmax(-1).view_as(heat)
        h, w = heat.shape[-2:]
        u = ((torch.arange(w, device=x.device) + 0.5) / w * 2 - 1)[None, None, :]  # pixel centres, right
        v = (1 - (torch.arange(h, device=x.device) + 0.5) / h * 2)[None, :, None]  # up
        expect = lambda grid: (weights * grid).sum((1, 2))  # noqa: E731
        point = torch.stack([expect(u) * self.scale, expect(v) * self.scale, expect(depth)], 1)
        if self.yaw is None:
            return point
        there = (weights[:, None] * merged.float()).sum((2, 3))
        return torch.cat([point, self.yaw(there)], 1)

    def nearest_reading(self, reading: torch.Tensor, size) -> tuple[torch.Tensor, torch.Tensor]:
        """Per heatmap cell: the nearest depth reading (cm from DEPTH_ORIGIN) within 8 pixels of the cell, 0 where
        there is none; and 1 where there is one."""
        far = torch.where(reading != 0, reading * self.to_cm, torch.full_like(reading, 1e4))
        nearest = -nn.functional.max_pool2d(-far, self.stride + 16, self.stride, padding=8)[..., :size[0], :size[1]]
        seen = (nearest < 1e3).float()
        return nearest * seen, seen


class CameraNet(nn.Module):
    """A timm ResNet on camera frames stored as bytes (uint8 in, scaled to [0, 1] here)."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x.float() / 255 if x.dtype == torch.uint8 else x)


def camera_resnet(in_chans: int = 1, num_outputs: int = 1, width: int = 16, drop_rate: float = 0.0) -> nn.Module:
    """timm's ResNet in resnet10t's shape (tiered stem, one basic block per stage, average-pool shortcuts) with
    `width` channels in the first stage instead of 64: 16 costs a tenth of resnet10t's step on 48 x 64 frames."""
    from timm.models.resnet import BasicBlock, ResNet

    if width < 4:
        raise ZooError(f"--set model.width: at least 4, got {width}")
    return CameraNet(ResNet(BasicBlock, [1, 1, 1, 1], channels=(width, 2 * width, 4 * width, 8 * width),
                            stem_width=max(width // 2, 4), stem_type="deep_tiered", avg_down=True, in_chans=in_chans,
                            num_classes=num_outputs, drop_rate=drop_rate))


class ResidualBlock(nn.Module):
    """x + W2 relu(W1 norm(x)): pre-norm, so a deep stack starts close to the identity."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, 2 * width), nn.ReLU(),
                                  nn.Linear(2 * width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class MLPPolicy(nn.Module):
    """Observation -> action: features standardized with the expert's statistics (kept in the checkpoint),
    `depth` residual blocks, a linear head (actions are clipped to the motors' range when acting)."""

    def __init__(self, in_features: int, out_features: int, mean: list[float], std: list[float], width: int = 256,
                 depth: int = 3):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
        self.stem = nn.Linear(in_features, width)
        self.blocks = nn.Sequential(*[ResidualBlock(width) for _ in range(depth)])
        self.head = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, out_features))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem((obs - self.mean) / self.std)))


def mlp_policy(in_features: int, out_features: int, mean: list[float] | None = None, std: list[float] | None = None,
               width: int = 256, depth: int = 3) -> nn.Module:
    if width < 1 or depth < 0:
        raise ZooError(f"--set model.width / model.depth: got {width} / {depth} (width at least 1, depth at least 0)")
    return MLPPolicy(in_features, out_features, mean or [0.0] * in_features, std or [1.0] * in_features, width, depth)


def policy_example():
    """Factory arguments and one input, for zoo's registry-wide tests (the recipe's data is made while training)."""
    return {"in_features": 10, "out_features": 2, "width": 32, "depth": 2}, torch.randn(4, 10)


def camera_example():
    """Factory arguments and one batch of camera frames, for zoo's registry-wide tests."""
    return {"in_chans": 1, "num_outputs": 1, "width": 8}, torch.randint(0, 256, (4, 1, 48, 64), dtype=torch.uint8)
