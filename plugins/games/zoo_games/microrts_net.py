"""The grid-shaped microRTS policy (after Huang et al.'s Gridnet): a fully convolutional residual network that
gives every map cell its own logits over the 78 choices of a unit's action (type, four directions, unit type,
attack cell), invalid choices masked. A map-wide summary (the mean of the features, through a linear layer) is
added back to every cell, so that a unit knows what happens beyond its neighbourhood on any map size."""
from __future__ import annotations

import torch
from torch import nn

from .microrts_env import NUM_CHOICES, NUM_PLANES, NVEC
from .models import ResidualBlock

MASKED = -1e4  # a large finite penalty: cross-entropy stays finite where a label is (wrongly) masked


class GridNet(nn.Module):
    def __init__(self, in_planes: int = NUM_PLANES, channels: int = 64, blocks: int = 4):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_planes, channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(channels), nn.ReLU())
        half = max(blocks // 2, 1)
        self.first = nn.Sequential(*[ResidualBlock(channels) for _ in range(half)])
        self.summary = nn.Sequential(nn.Linear(channels, channels), nn.ReLU())
        self.second = nn.Sequential(*[ResidualBlock(channels) for _ in range(blocks - half)])
        self.head = nn.Conv2d(channels, NUM_CHOICES, 1)

    def forward(self, obs: torch.Tensor, ready: torch.Tensor | None = None,
                masks: torch.Tensor | None = None) -> torch.Tensor:
        """obs N x 27 x H x W (uint8 one-hot planes) -> logits N x H x W x 78, invalid choices masked."""
        h = self.first(self.stem(obs.float()))
        h = h + self.summary(h.mean((2, 3)))[:, :, None, None]
        logits = self.head(self.second(h)).permute(0, 2, 3, 1)
        if masks is not None:
            logits = logits.masked_fill(~masks.bool(), MASKED)
        return logits


def split_logits(logits: torch.Tensor) -> list[torch.Tensor]:
    """N x H x W x 78 -> one tensor per action component (type, move, harvest, return, produce direction,
    produce type, attack cell)."""
    return list(torch.split(logits, list(NVEC), dim=-1))


def greedy(logits: torch.Tensor) -> torch.Tensor:
    """The most likely choice of every component: N x H x W x 7."""
    return torch.stack([part.argmax(-1) for part in split_logits(logits)], -1)


def sample(logits: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A choice of every component drawn from its (masked) softmax: N x H x W x 7."""
    picks = []
    for part in split_logits(logits):
        probs = torch.softmax(part.float(), -1).reshape(-1, part.shape[-1])
        picks.append(torch.multinomial(probs, 1, generator=generator).reshape(part.shape[:-1]))
    return torch.stack(picks, -1)


def gridnet(channels: int = 64, blocks: int = 4) -> nn.Module:
    from zoo import ZooError

    if channels < 4 or blocks < 1:
        raise ZooError(f"--set model.channels and model.blocks: at least 4 and 1, got {channels} and {blocks}")
    return GridNet(NUM_PLANES, channels, blocks)


def gridnet_example():
    """The network's arguments and a batch of two 8 x 8 positions (the forward test's input)."""
    obs = torch.zeros(2, NUM_PLANES, 8, 8, dtype=torch.uint8)
    obs[:, 0] = 1
    masks = torch.ones(2, 8, 8, NUM_CHOICES, dtype=torch.bool)
    return {"channels": 8, "blocks": 2}, {"obs": obs, "ready": torch.ones(2, 8, 8, dtype=torch.bool), "masks": masks}
