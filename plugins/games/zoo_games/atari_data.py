"""Atari Pong frames for imitation: games of the scripted player (behaviour cloning), then games driven by the
network and labelled by the scripted player (DAgger), as a zoo DataGenerator (zoo.imitation)."""
from __future__ import annotations

import torch

from zoo import ZooError
from zoo.data import DataBundle
from zoo.imitation import Imitation, episode_seeds

from . import atari
from .atari_players import expert, network_policy, noisy


class PongGames(Imitation):
    """Pong games for behaviour cloning and DAgger (zoo.imitation), each cut at `steps` agent steps, every frame
    labelled by the scripted player."""

    def __init__(self, *args, steps: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.steps = steps

    def record(self, model, device, seeds):
        driver = network_policy(model, device) if model is not None else \
            noisy(expert, self.noise, seeds[0]) if self.noise else expert
        games = atari.play(driver, seeds, self.steps, label=expert)
        return torch.from_numpy(games.frames), torch.from_numpy(games.labels)


def pong_games(data=None, seed: int = 0, demos: int = 6, episodes: int = 4, dagger: bool = True, noise: float = 0.1,
               steps: int = 2000, capacity: int = 40_000, valid_games: int = 1) -> DataBundle:
    """Atari Pong: stacks of frames labelled by the scripted player, made while training (games of `steps` agent
    steps at most); valid and test are the scripted player's own frames on fixed games of their own."""
    from torch.utils.data import TensorDataset

    if data is not None:
        raise ZooError(f"--data {data}: games/pong-games plays its own games; it takes no files")
    for key, value, least in (("demos", demos, 1), ("episodes", episodes, 0), ("steps", steps, 1),
                              ("capacity", capacity, 1), ("valid_games", valid_games, 1)):
        if value < least:
            raise ZooError(f"--set data.{key}: must be at least {least}, got {value}")
    if not 0 <= noise <= 1:
        raise ZooError(f"--set data.noise: a probability in [0, 1], got {noise}")
    generator = PongGames(demos, episodes, bool(dagger), capacity, seed, noise=noise, steps=steps)

    def labelled(split: str) -> TensorDataset:
        games = atari.play(expert, episode_seeds(split, valid_games), steps, label=expert)
        return TensorDataset(torch.from_numpy(games.frames), torch.from_numpy(games.labels))

    return DataBundle(train=None, valid=labelled("valid"), test=labelled("test"), generator=generator,
                      model_args={"in_chans": atari.STACK, "size": atari.FRAME, "num_classes": len(atari.ACTIONS)},
                      info={"num_classes": len(atari.ACTIONS), "class_names": list(atari.NAMES)})
