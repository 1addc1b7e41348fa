"""Networks: the residual policy-value network of AlphaZero (board games, chess, Go) and the Atari CNN."""
from __future__ import annotations

import torch
from torch import nn


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(x + self.bn2(self.conv2(h)))


class PolicyValueNet(nn.Module):
    """A stem, `blocks` residual blocks of `channels`, then two heads: move logits (illegal moves masked when
    `legal` is given) and a value in [-1, 1] for the player to move.

    The policy head is AlphaZero's: a 1x1 convolution to 2 planes and a linear layer to the actions; with
    `policy_planes` (chess: 73 move types per square) a 3x3 convolution to that many planes instead, whose
    flattened output (plane-major) is the action index.
    """

    def __init__(self, in_planes: int, height: int, width: int, num_actions: int, channels: int = 32,
                 blocks: int = 3, value_hidden: int = 64, policy_planes: int = 0):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_planes, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
                                  nn.ReLU())
        self.tower = nn.Sequential(*[ResidualBlock(channels) for _ in range(blocks)])
        if policy_planes:
            if policy_planes * height * width != num_actions:
                raise ValueError(f"policy_planes {policy_planes} x {height} x {width} is not {num_actions} actions")
            self.policy = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, bias=False),
                                        nn.BatchNorm2d(channels), nn.ReLU(),
                                        nn.Conv2d(channels, policy_planes, 3, padding=1), nn.Flatten())
        else:
            self.policy = nn.Sequential(nn.Conv2d(channels, 2, 1, bias=False), nn.BatchNorm2d(2), nn.ReLU(),
                                        nn.Flatten(), nn.Linear(2 * height * width, num_actions))
        self.value = nn.Sequential(nn.Conv2d(channels, 1, 1, bias=False), nn.BatchNorm2d(1), nn.ReLU(), nn.Flatten(),
                                   nn.Linear(height * width, value_hidden), nn.ReLU(), nn.Linear(value_hidden, 1),
                                   nn.Tanh())

    def forward(self, planes: torch.Tensor, legal: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        h = self.tower(self.stem(planes))
        logits = self.policy(h)
        if legal is not None:
            # a large finite penalty, not -inf: cross-entropy against targets that are 0 there stays finite
            logits = logits.masked_fill(~legal.bool(), -1e4)
        return {"policy": logits, "value": self.value(h).reshape(-1)}


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy for inference with every BatchNorm that follows a convolution folded into it (the same outputs in
    eval mode, fewer modules to call: search evaluates many small batches)."""
    import copy

    from torch.nn.utils.fusion import fuse_conv_bn_eval

    model = copy.deepcopy(model).eval()

    def fold(parent: nn.Module) -> None:
        names = list(parent._modules)
        for a, b in zip(names, names[1:]):
            conv, bn = parent._modules[a], parent._modules[b]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                parent._modules[a] = fuse_conv_bn_eval(conv, bn)
                parent._modules[b] = nn.Identity()
        for child in parent.children():
            fold(child)

    fold(model)
    return model


def policy_value_net(in_planes: int = 3, height: int = 3, width: int = 3, num_actions: int = 9, channels: int = 32,
                     blocks: int = 3, value_hidden: int = 64, policy_planes: int = 0) -> nn.Module:
    return PolicyValueNet(in_planes, height, width, num_actions, channels, blocks, value_hidden, policy_planes)


def policy_value_example():
    """Factory arguments and one input, for zoo's registry-wide tests of a model no default data reaches."""
    kwargs = {"in_planes": 3, "height": 6, "width": 7, "num_actions": 7, "channels": 8, "blocks": 1}
    return kwargs, {"planes": torch.randn(2, 3, 6, 7), "legal": torch.ones(2, 7, dtype=torch.bool)}


class AtariNet(nn.Module):
    """Stacked frames (uint8, scaled here) -> action logits: a stride-2 stem, residual blocks at half and quarter
    resolution, then a linear head over the whole map (where the ball is relative to the paddle is the point,
    so the map is flattened, not pooled)."""

    def __init__(self, in_chans: int, size: int, num_classes: int, channels: int = 16, hidden: int = 256):
        super().__init__()
        c = channels
        self.body = nn.Sequential(
            nn.Conv2d(in_chans, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
            ResidualBlock(c), ResidualBlock(c),
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(2 * c), nn.ReLU(),
            ResidualBlock(2 * c))
        side = -(-size // 4)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(2 * c * side * side, hidden), nn.ReLU(),
                                  nn.Linear(hidden, num_classes))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = frames.float() / 255 if frames.dtype == torch.uint8 else frames
        return self.head(self.body(x))


def atari_net(in_chans: int = 4, size: int = 40, num_classes: int = 3, channels: int = 16,
              hidden: int = 256) -> nn.Module:
    from zoo import ZooError

    if channels < 4 or hidden < 4:
        raise ZooError(f"--set model.channels and model.hidden: at least 4, got {channels} and {hidden}")
    return AtariNet(in_chans, size, num_classes, channels, hidden)


def atari_example() -> tuple[dict, torch.Tensor]:
    """The network's arguments and two stacks of Pong frames (the forward test's input: the recipe's data is
    played while training)."""
    from .atari import ACTIONS, FRAME, STACK

    return ({"in_chans": STACK, "size": FRAME, "num_classes": len(ACTIONS)},
            torch.randint(0, 256, (2, STACK, FRAME, FRAME), dtype=torch.uint8))
