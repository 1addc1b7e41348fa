"""The grid-shaped microRTS policy (after Huang et al.'s Gridnet): a fully convolutional residual network that
gives every map cell its own logits over the 78 choices of a unit's action (type, four directions, unit type,
attack cell), invalid choices masked. A map-wide summary (the mean of the features, through a linear layer) is
added back to every cell, so that a unit knows what happens beyond its neighbourhood on any map size. With
`value`, a value head on the map-wide mean of the last features estimates the return (for PPO, see
zoo_games.tasks.microrts_ppo); it is asked for with forward(..., value=True), so the policy's callers never see it."""
from __future__ import annotations

import torch
from torch import nn

from .microrts_env import NUM_CHOICES, NUM_PLANES, NVEC
from .models import ResidualBlock

MASKED = -1e4  # a large finite penalty: cross-entropy stays finite where a label is (wrongly) masked


class GridNet(nn.Module):
    def __init__(self, in_planes: int = NUM_PLANES, channels: int = 64, blocks: int = 4, value: bool = False):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_planes, channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(channels), nn.ReLU())
        half = max(blocks // 2, 1)
        self.first = nn.Sequential(*[ResidualBlock(channels) for _ in range(half)])
        self.summary = nn.Sequential(nn.Linear(channels, channels), nn.ReLU())
        self.second = nn.Sequential(*[ResidualBlock(channels) for _ in range(blocks - half)])
        self.head = nn.Conv2d(channels, NUM_CHOICES, 1)
        self.value = nn.Sequential(nn.Linear(channels, channels), nn.ReLU(), nn.Linear(channels, 1)) if value else None

    def forward(self, obs: torch.Tensor, ready: torch.Tensor | None = None,
                masks: torch.Tensor | None = None, value: bool = False):
        """obs N x 27 x H x W (uint8 one-hot planes) -> logits N x H x W x 78, invalid choices masked; with
        `value`, (logits, the value head's estimate N)."""
        h = self.first(self.stem(obs.float()))
        h = h + self.summary(h.mean((2, 3)))[:, :, None, None]
        h = self.second(h)
        logits = self.head(h).permute(0, 2, 3, 1)
        if masks is not None:
            logits = logits.masked_fill(~masks.bool(), MASKED)
        if not value:
            return logits
        if self.value is None:
            raise ValueError("this GridNet has no value head (build it with value=True)")
        return logits, self.value(h.mean((2, 3)))[:, 0]


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


def log_prob(logits: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """The log-probability of a whole grid of actions, N: the sum over cells and components of the chosen
    choice's masked log-softmax, where `actions` (N x H x W x 7) is >= 0 (the components that apply at the cells
    that act; -1 elsewhere, as microrts_data.targets writes them)."""
    total = logits.new_zeros(logits.shape[0], dtype=torch.float32)
    for k, part in enumerate(split_logits(logits.float())):
        a = actions[..., k]
        picked = torch.log_softmax(part, -1).gather(-1, a.clamp(min=0)[..., None])[..., 0]
        total = total + picked.masked_fill(a < 0, 0.0).flatten(1).sum(1)
    return total


def entropy(logits: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """The entropy, N, of the components that apply (`actions` >= 0, as in log_prob), summed over cells."""
    total = logits.new_zeros(logits.shape[0], dtype=torch.float32)
    for k, part in enumerate(split_logits(logits.float())):
        logp = torch.log_softmax(part, -1)
        h = -(logp.exp() * logp).sum(-1)
        total = total + h.masked_fill(actions[..., k] < 0, 0.0).flatten(1).sum(1)
    return total


def gridnet(channels: int = 64, blocks: int = 4, value: bool = False) -> nn.Module:
    """`value`: add the value head PPO trains (games/microrts-ppo); a cloned policy needs none."""
    from zoo import ZooError

    if channels < 4 or blocks < 1:
        raise ZooError(f"--set model.channels and model.blocks: at least 4 and 1, got {channels} and {blocks}")
    return GridNet(NUM_PLANES, channels, blocks, bool(value))


def gridnet_example():
    """The network's arguments and a batch of two 8 x 8 positions (the forward test's input)."""
    obs = torch.zeros(2, NUM_PLANES, 8, 8, dtype=torch.uint8)
    obs[:, 0] = 1
    masks = torch.ones(2, 8, 8, NUM_CHOICES, dtype=torch.bool)
    return {"channels": 8, "blocks": 2}, {"obs": obs, "ready": torch.ones(2, 8, 8, dtype=torch.bool), "masks": masks}
