"""microRTS games for imitation, as a zoo DataGenerator (zoo.imitation): round 0 records games of a built-in bot
(CoacAI by default, the 2020 competition's winner) against the built-in bots from both sides, every state where
it had an idle unit labelled with its action per cell (behaviour cloning); each later round the network being
trained plays (its moves sampled from its masked softmax) and the bot labels every state it meets (DAgger).

A sample is x = {obs 27 x H x W uint8, ready H x W bool, masks H x W x 78 bool} and y = H x W x 7 int64: the
expert's choice per action component at each cell that may act, -1 where a component does not apply (cells
without an idle unit, the directions of other action types)."""
from __future__ import annotations

import numpy as np
import torch

from zoo import ZooError
from zoo.data import DataBundle, ReplayBuffer
from zoo.imitation import Imitation, episode_seeds

from . import microrts_env as env

EVAL_OPPONENTS = ("randombiased", "workerrush", "lightrush", "coacai")
APPLIES = {1: (1,), 2: (2,), 3: (3,), 4: (4, 5), 5: (6,)}  # action type -> the components it reads


def targets(labels: np.ndarray, ready: np.ndarray) -> np.ndarray:
    """Expert grids N x H x W x 7 -> targets with -1 wherever a component does not apply."""
    y = np.full(labels.shape, -1, np.int64)
    kind = labels[..., 0]
    y[..., 0] = np.where(ready, kind, -1)
    for t, parts in APPLIES.items():
        hit = ready & (kind == t)
        for p in parts:
            y[..., p] = np.where(hit, labels[..., p], y[..., p])
    return y


def tensors(played: env.Played) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    if not played.labels:
        raise ZooError("games/microrts: the games met no state where a unit could act")
    ready = np.stack(played.ready)
    x = {"obs": torch.from_numpy(np.stack(played.obs)), "ready": torch.from_numpy(ready),
         "masks": torch.from_numpy(np.stack(played.masks))}
    return x, torch.from_numpy(targets(np.stack(played.labels), ready))


def matchups(seeds: list[int], opponents: tuple[str, ...]) -> tuple[list[str], list[int]]:
    """The opponent and side of each game, by its seed: every opponent from both sides in turn."""
    n = len(opponents)
    return [opponents[(s // 2) % n] for s in seeds], [s % 2 for s in seeds]


def network_player(model, device, greedy_moves: bool = True, seed: int = 0) -> env.Policy:
    """A network as a microRTS policy (moves in the batch's views; invalid ones masked)."""
    from .microrts_net import greedy, sample

    generator = torch.Generator().manual_seed(seed)

    def act(obs, ready, masks):
        was = model.training
        model.eval()
        with torch.no_grad():
            logits = model(torch.as_tensor(obs, device=device), None,
                           torch.as_tensor(masks, device=device)).float().cpu()
        model.train(was)
        return (greedy(logits) if greedy_moves else sample(logits, generator)).numpy()
    return act


class MicroRTSGames(Imitation):
    """Games on one map for behaviour cloning and DAgger, each cut at `max_steps` cycles."""

    def __init__(self, *args, map: str, expert: str, opponents: tuple[str, ...], max_steps: int,
                 drive: str = "sample", **kwargs):
        super().__init__(*args, **kwargs)
        self.map, self.expert, self.opponents, self.max_steps = map, expert, opponents, max_steps
        self.drive = drive

    def record(self, model, device, seeds):
        opponents, sides = matchups(seeds, self.opponents)
        dagger_round = (self.played - self.demos) // max(self.episodes, 1)  # 0 for the first DAgger round
        greedy_moves = self.drive == "greedy" or (self.drive == "both" and dagger_round % 2 == 1)
        agent = self.expert if model is None else \
            network_player(model, device, greedy_moves=greedy_moves, seed=seeds[0])
        return tensors(env.play(agent, opponents, sides, self.map, self.max_steps, expert=self.expert))


def microrts(data=None, seed: int = 0, map: str = "basesWorkers8x8", expert: str = "coacai",
             opponents: str = "workerrush,lightrush,randombiased,coacai", demos: int = 16, episodes: int = 8,
             dagger: bool = True, max_steps: int = 2000, capacity: int = 20_000, valid_games: int = 4,
             drive: str = "sample") -> DataBundle:
    """microRTS states labelled by a bot's actions, made while training (see MicroRTSGames); valid and test are
    the bot's own games on fixed matchups. `opponents`: the bots the training games are played against;
    `drive`: how the network plays its DAgger games (sample: moves drawn from its softmax; greedy: its most
    likely moves, the states evaluation meets; both: the two in alternate rounds)."""
    if data is not None:
        raise ZooError(f"--data {data}: games/microrts plays its own games; choose a map with --set data.map "
                       "(a name such as basesWorkers16x16, or a map .xml file)")
    for key, value, least in (("demos", demos, 1), ("episodes", episodes, 0), ("max_steps", max_steps, 1),
                              ("capacity", capacity, 1), ("valid_games", valid_games, 1)):
        if value < least:
            raise ZooError(f"--set data.{key}: must be at least {least}, got {value}")
    if drive not in ("sample", "greedy", "both"):
        raise ZooError(f"--set data.drive={drive}: one of sample, greedy, both")
    foes = tuple(o.strip() for o in opponents.split(",") if o.strip())
    if not foes:
        raise ZooError("--set data.opponents: name at least one bot")
    for name in (expert, *foes):
        if name.lower() not in env.OPPONENTS:
            raise ZooError(f"--set data: {name} is not a microRTS bot (one of {', '.join(env.OPPONENTS)})")
    env.resolve_map(map)  # a bad map is one line now, not after the first round
    generator = MicroRTSGames(demos, episodes, bool(dagger), capacity, seed, map=map, expert=expert,
                              opponents=foes, max_steps=max_steps, drive=drive)

    def labelled(split: str) -> ReplayBuffer:
        opps, sides = matchups(episode_seeds(split, valid_games), foes)
        states = ReplayBuffer(10**9)
        states.add(*tensors(env.play(expert, opps, sides, map, max_steps, expert=expert)))
        return states

    return DataBundle(train=None, valid=labelled("valid"), test=labelled("test"), generator=generator,
                      model_args={}, info={"map": map, "expert": expert, "max_steps": max_steps,
                                           "opponents": list(EVAL_OPPONENTS)})


def read_map(text: str, info: dict) -> dict[str, torch.Tensor]:
    """`zoo predict` input: a map (a microRTS map's name, or a map .xml file) -> its first state from player 0's
    side, as the network sees it."""
    game = env.Game(env.resolve_map(str(text).strip()), 1)
    ready, masks = game.masks(0)
    return {"obs": torch.from_numpy(game.observe(0)), "ready": torch.from_numpy(ready),
            "masks": torch.from_numpy(masks)}
