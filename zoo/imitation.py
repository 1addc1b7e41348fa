"""Imitation as a zoo DataGenerator: behaviour cloning from an expert's episodes, then DAgger rounds.

Round 0 records `demos` expert episodes (or takes a user's demonstrations). Each later round records `episodes`
more, driven by the expert (behaviour cloning on more demonstrations) or, with `dagger`, by the network being
trained, every state labelled with the expert's action (DAgger, Ross et al. 2011: the learner meets the states
its own mistakes lead to, and learns what the expert would do there). Either way a round adds about as many
labelled states, so the two compare at an equal label budget. With `noise`, the expert's episodes stray
(Gaussian noise on what it does, not on its labels), so that a clone sees recoveries too (DART, Laskey et al.
2017). A subclass says how one batch of episodes is recorded (`record`); zoo's robotics and games plugins use
it for MuJoCo Reacher, a pybullet racecar and Atari Pong.
"""
from __future__ import annotations

from typing import Any

import torch

from zoo.data import DataGenerator, ReplayBuffer

TRAIN_SEEDS = 1_000_000  # training episodes' seeds start here (times run seed + 1); valid/test use small ones
# the first episode (game, drive, track) seed of each split: fixed, so that every run is scored on the same episodes;
# "stats" draws episodes for a policy's statistics (e.g. normalizing observations), apart from all splits
SEED_BASE = {"valid": 10_000, "test": 20_000, "stats": 30_000, "train": TRAIN_SEEDS}


def episode_seeds(split: str, count: int, start: int = 0) -> list[int]:
    """The seeds of `count` episodes of `split` from its SEED_BASE (the `start`-th on)."""
    return [SEED_BASE[split] + start + i for i in range(count)]


class Imitation(DataGenerator):
    def __init__(self, demos: int, episodes: int, dagger: bool, capacity: int, seed: int, noise: float = 0.0,
                 user: tuple[torch.Tensor, torch.Tensor] | None = None):
        self.demos, self.episodes, self.dagger, self.noise, self.user = demos, episodes, dagger, noise, user
        self.buffer = ReplayBuffer(capacity)
        self.base = TRAIN_SEEDS * (seed + 1)
        self.played = 0  # training episodes so far: they name the next episodes' seeds

    def record(self, model: torch.nn.Module | None, device, seeds: list[int]) -> tuple[Any, torch.Tensor]:
        """Inputs met and the expert's labels over one episode per seed, driven by `model` (None: by the expert,
        with `self.noise`)."""
        raise NotImplementedError

    def generate(self, model, round, device) -> None:
        if round == 0 and self.user is not None:
            self.buffer.add(*self.user)
            return
        count = self.demos if round == 0 else self.episodes
        if count == 0:
            return
        seeds = [self.base + self.played + i for i in range(count)]
        x, y = self.record(model if (self.dagger and round > 0) else None, device, seeds)
        self.played += count
        self.buffer.add(x, y)

    def dataset(self):
        return self.buffer

    def state_dict(self) -> dict[str, Any]:
        return {"buffer": self.buffer.state_dict(), "played": self.played}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.buffer.load_state_dict(state["buffer"])
        self.played = int(state["played"])
