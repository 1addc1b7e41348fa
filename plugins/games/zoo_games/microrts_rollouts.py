"""microRTS rollouts for PPO, as a zoo DataGenerator: each round the current Gridnet policy plays `games` games
against the built-in bots (every opponent from both sides in turn), its moves drawn from its masked softmax; every
state where it had an idle unit becomes one sample with the action taken, its log-probability and value then, and
a GAE advantage and return (Schulman et al. 2016) computed over the game.

A step is a decision: the cycles where none of the agent's units is idle pass without one, and their rewards go
to the decision before. The reward is the game's result (+1 win, -1 loss, 0 draw or cut at max_steps) plus, with
`shaping` > 0, microRTS's usual shaped rewards (Gym-microRTS's weights over 10): resources harvested and returned
0.1 each, a worker made 0.1, a building 0.02, a combat unit 0.4, and 0.1 per hit point taken from the enemy,
each times `shaping`. A game cut at max_steps is bootstrapped with the value of its last state.

The round's samples replace the last round's (PPO is on-policy). A sample is x = {obs, ready, masks} (as in
microrts_data) and y = {actions H x W x 7 (-1 where a component does not apply), logp, value, adv, ret}."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from zoo import ZooError
from zoo.data import DataBundle, DataGenerator, ReplayBuffer
from zoo.imitation import TRAIN_SEEDS

from . import microrts_env as env
from .microrts_data import EVAL_OPPONENTS, matchups, targets
from .microrts_net import log_prob, sample

# shaped rewards per event, already over 10 so that a win is 1 (Gym-microRTS: 10 win, 1 resource, 1 worker,
# 0.2 building, 1 attack, 4 combat unit)
SHAPED = {"resource": 0.1, "worker": 0.1, "building": 0.02, "combat": 0.4, "damage": 0.1}
BUILDINGS, WORKER, COMBAT = (1, 2), 3, (4, 5, 6)  # microRTS unit type IDs (0 is the resource)


def tally(game: env.Game, player: int) -> np.ndarray:
    """What the shaped rewards count, from `player`'s side: resources stored, resources carried, workers,
    buildings, combat units, the enemy's hit points."""
    gs = game.gs
    stored, carried, workers, buildings, combat, enemy_hp = float(gs.getPlayer(player).getResources()), 0, 0, 0, 0, 0
    for u in gs.getUnits():
        owner = int(u.getPlayer())
        if owner == player:
            kind = int(u.getType().ID)
            carried += int(u.getResources())
            workers += kind == WORKER
            buildings += kind in BUILDINGS
            combat += kind in COMBAT
        elif owner >= 0:
            enemy_hp += int(u.getHitPoints())
    return np.array([stored, carried, workers, buildings, combat, enemy_hp], np.float64)


def shaped(before: np.ndarray, after: np.ndarray) -> float:
    """The shaped reward of one cycle: what grew (resources, units) and the enemy's hit points lost."""
    d = after - before
    return (SHAPED["resource"] * (max(d[0], 0) + max(d[1], 0)) + SHAPED["worker"] * max(d[2], 0)
            + SHAPED["building"] * max(d[3], 0) + SHAPED["combat"] * max(d[4], 0)
            + SHAPED["damage"] * max(-d[5], 0))


def advantages(rewards: np.ndarray, values: np.ndarray, last: float, gamma: float, lam: float) -> np.ndarray:
    """GAE over one game: rewards and values per decision, `last` the value after the last one (0 at a game's
    end, the value of the state where it was cut otherwise)."""
    adv = np.zeros(len(rewards), np.float64)
    running, following = 0.0, last
    for t in range(len(rewards) - 1, -1, -1):
        delta = rewards[t] + gamma * following - values[t]
        running = delta + gamma * lam * running
        adv[t], following = running, values[t]
    return adv


def rollouts(model, device, opponents: list[str], sides: list[int], map: str, max_steps: int, gamma: float,
             lam: float, shaping: float, generator: torch.Generator) -> tuple[dict, dict, dict[str, float]]:
    """The games of one round, played together (one forward pass for every game with an idle unit): the
    samples (x, y) and the round's figures (win rate, mean return, decisions)."""
    path = env.resolve_map(map)
    n = len(opponents)
    games = [env.Game(path, max_steps) for _ in range(n)]
    foes = [env.make_bot(o) for o in opponents]
    counts = [tally(g, s) for g, s in zip(games, sides)]
    trail: list[dict[str, list]] = [{k: [] for k in ("obs", "ready", "masks", "actions", "logp", "value", "reward")}
                                    for _ in range(n)]
    results, cut = np.zeros(n, np.int64), [False] * n
    live = list(range(n))
    while live:
        views = {i: (games[i].observe(sides[i]), *games[i].masks(sides[i])) for i in live}
        acting = [i for i in live if views[i][1].any()]
        chosen = {}
        if acting:
            obs = torch.from_numpy(np.stack([views[i][0] for i in acting])).to(device)
            ready = np.stack([views[i][1] for i in acting])
            masks = torch.from_numpy(np.stack([views[i][2] for i in acting])).to(device)
            logits, value = model(obs, None, masks, value=True)
            logits, value = logits.float().cpu(), value.float().cpu()
            grid = sample(logits, generator).numpy()
            applies = torch.from_numpy(targets(grid, ready))
            logp = log_prob(logits, applies)
            for k, i in enumerate(acting):
                t = trail[i]
                for key, v in (("obs", views[i][0]), ("ready", views[i][1]), ("masks", views[i][2]),
                               ("actions", applies[k].numpy()), ("logp", float(logp[k])),
                               ("value", float(value[k])), ("reward", 0.0)):
                    t[key].append(v)
                chosen[i] = games[i].from_grid(sides[i], grid[k], views[i][1])
        still = []
        for i in live:
            mine = chosen.get(i)
            if mine is None:
                mine = games[i].from_grid(sides[i], np.zeros((games[i].height, games[i].width, 7), np.int64),
                                          np.zeros((games[i].height, games[i].width), bool))
            theirs = foes[i].getAction(1 - sides[i], games[i].gs)
            done = games[i].step(*((mine, theirs) if sides[i] == 0 else (theirs, mine)))
            reward = 0.0
            if shaping:
                now = tally(games[i], sides[i])
                reward, counts[i] = shaping * shaped(counts[i], now), now
            if done:
                w = games[i].winner()
                results[i] = 0 if w < 0 else (1 if w == sides[i] else -1)
                reward += float(results[i])
                cut[i] = not games[i].over
            if trail[i]["reward"]:
                trail[i]["reward"][-1] += reward
            if not done:
                still.append(i)
        live = still
    # the value of the state where a game was cut, to bootstrap its last decisions
    boot = np.zeros(n)
    ended = [i for i in range(n) if cut[i] and trail[i]["obs"]]
    if ended:
        obs = torch.from_numpy(np.stack([games[i].observe(sides[i]) for i in ended])).to(device)
        _, value = model(obs, None, None, value=True)
        boot[ended] = value.float().cpu().numpy()
    x = {"obs": [], "ready": [], "masks": []}
    y = {"actions": [], "logp": [], "value": [], "adv": [], "ret": []}
    returns = []
    for i, t in enumerate(trail):
        if not t["obs"]:
            continue
        values, rewards = np.array(t["value"]), np.array(t["reward"])
        adv = advantages(rewards, values, boot[i], gamma, lam)
        returns.append(rewards.sum())
        for key in x:
            x[key].extend(t[key])
        y["actions"].extend(t["actions"])
        y["logp"].extend(t["logp"])
        y["value"].extend(t["value"])
        y["adv"].extend(adv)
        y["ret"].extend(adv + values)
    if not x["obs"]:
        raise ZooError("games/microrts-ppo: the games met no state where a unit could act")
    xs = {"obs": torch.from_numpy(np.stack(x["obs"])), "ready": torch.from_numpy(np.stack(x["ready"])),
          "masks": torch.from_numpy(np.stack(x["masks"]))}
    ys = {"actions": torch.from_numpy(np.stack(y["actions"])),
          **{k: torch.tensor(np.asarray(y[k]), dtype=torch.float32) for k in ("logp", "value", "adv", "ret")}}
    figures = {"win_rate": float((results == 1).mean()), "return": float(np.mean(returns)),
               "decisions": float(len(y["logp"]))}
    return xs, ys, figures


class PPORollouts(DataGenerator):
    """Each round `games` games of the current policy against `opponents` (both sides in turn); the round's
    samples replace the last's."""

    def __init__(self, games: int, opponents: tuple[str, ...], map: str, max_steps: int, gamma: float, lam: float,
                 shaping: float, seed: int):
        self.games, self.opponents, self.map, self.max_steps = games, opponents, map, max_steps
        self.gamma, self.lam, self.shaping = gamma, lam, shaping
        self.base = TRAIN_SEEDS * (seed + 1)
        self.played = 0
        self.buffer = ReplayBuffer(10**9)
        self.last: dict[str, float] = {}

    def generate(self, model, round, device) -> None:
        seeds = [self.base + self.played + i for i in range(self.games)]
        opponents, sides = matchups(seeds, self.opponents)
        generator = torch.Generator().manual_seed(seeds[0])
        x, y, self.last = rollouts(model, device, opponents, sides, self.map, self.max_steps, self.gamma,
                                   self.lam, self.shaping, generator)
        self.played += self.games
        self.buffer = ReplayBuffer(10**9)
        self.buffer.add(x, y)

    def dataset(self):
        return self.buffer

    def state_dict(self) -> dict[str, Any]:
        return {"buffer": self.buffer.state_dict(), "played": self.played, "last": self.last}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.buffer.load_state_dict(state["buffer"])
        self.played, self.last = int(state["played"]), dict(state.get("last") or {})


def microrts_rollouts(data=None, seed: int = 0, map: str = "basesWorkers8x8",
                      opponents: str = "workerrush,randombiased,lightrush,coacai", games: int = 8,
                      max_steps: int = 2000, gamma: float = 0.99, lam: float = 0.95, shaping: float = 1.0
                      ) -> DataBundle:
    """Rollouts of the policy being trained against the built-in bots (see PPORollouts); no valid or test
    split: the task judges by playing."""
    if data is not None:
        raise ZooError(f"--data {data}: games/microrts-ppo plays its own games; choose a map with --set data.map")
    for key, value, least in (("games", games, 1), ("max_steps", max_steps, 1)):
        if value < least:
            raise ZooError(f"--set data.{key}: must be at least {least}, got {value}")
    for key, value in (("gamma", gamma), ("lam", lam)):
        if not 0 <= value <= 1:
            raise ZooError(f"--set data.{key}: between 0 and 1, got {value}")
    if shaping < 0:
        raise ZooError(f"--set data.shaping: at least 0, got {shaping}")
    foes = tuple(o.strip().lower() for o in opponents.split(",") if o.strip())
    if not foes:
        raise ZooError("--set data.opponents: name at least one bot")
    for name in foes:
        if name not in env.OPPONENTS:
            raise ZooError(f"--set data.opponents: {name} is not a microRTS bot (one of {', '.join(env.OPPONENTS)})")
    env.resolve_map(map)
    generator = PPORollouts(games, foes, map, max_steps, gamma, lam, shaping, seed)
    return DataBundle(train=None, valid=None, test=None, generator=generator, model_args={"value": True},
                      info={"map": map, "max_steps": max_steps, "opponents": list(EVAL_OPPONENTS)})
