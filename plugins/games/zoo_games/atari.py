"""Atari Pong from pixels (ale-py's ROM through gymnasium): a scripted player that reads the emulator's RAM,
games played in lockstep, and imitation (behaviour cloning, then DAgger) as a zoo DataGenerator.

The environment is ALE/Pong-v5 as the Arcade Learning Environment's authors recommend (Machado et al. 2018):
every 4th frame seen, sticky actions (the previous action repeats with probability 0.25), so that no two games
are alike. The network sees the last STACK frames, grey, the play field cropped and max-pooled 4 x 4 to
FRAME x FRAME (max keeps the 2-pixel ball). It chooses among NOOP, UP and DOWN (Pong's FIRE variants add
nothing). The scripted player reads the ball's and its paddle's positions from RAM, predicts where the ball will
cross the paddle's line (bouncing off the walls), and moves there; it labels every frame the learner meets.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zoo import ZooError
from zoo.imitation import SEED_BASE, Imitation, episode_seeds
from zoo.tasks.base import refuse_options
from zoo.tasks.classification import ClassificationTask

ENV_ID = "ALE/Pong-v5"
ACTIONS = (0, 2, 3)  # NOOP, RIGHT (the paddle goes up), LEFT (down): the network's classes 0, 1, 2
NAMES = ("noop", "up", "down")
STACK, FRAME = 4, 40
CROP = slice(34, 194)  # the play field's rows (160 x 160 with the columns)
BALL_X, BALL_Y, PADDLE_Y = 49, 54, 51  # RAM addresses
TOP, BOTTOM, PADDLE_X = 44, 207, 190  # the ball's y between the walls, and its x where the paddle meets it
AIM, DEADBAND = 6, 10  # the paddle's y aims AIM below the ball's (hits off centre send it steep); no move within
CENTRE = 125  # where the paddle waits while the ball moves away
MAX_STEPS = 27_000  # agent steps: 108,000 frames, the ALE's usual cap on an episode
Policy = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (frames N x STACK x F x F, RAM N x 2 x 128) -> classes


def make_env(max_steps: int = MAX_STEPS):
    """One Pong environment; a missing ale-py or ROM is one line saying what to install."""
    try:
        import ale_py
        import gymnasium as gym
    except ImportError:
        raise ZooError("games/atari-pong needs ale-py and gymnasium: pip install ale-py gymnasium") from None
    gym.register_envs(ale_py)
    try:
        return gym.make(ENV_ID, obs_type="grayscale", frameskip=4, repeat_action_probability=0.25,
                        full_action_space=False, max_episode_steps=max_steps)
    except Exception as err:  # ale-py raises its own errors for a ROM it cannot find
        raise ZooError(f"games/atari-pong: ale-py could not load the Pong ROM ({type(err).__name__}: {err}); "
                       "ale-py 0.9 or newer ships it: pip install -U ale-py") from None


def shrink(frame: np.ndarray) -> np.ndarray:
    """A 210 x 160 grey frame -> FRAME x FRAME uint8: the play field, max-pooled."""
    field_ = frame[CROP]
    k = field_.shape[0] // FRAME
    return field_.reshape(FRAME, k, FRAME, k).max(axis=(1, 3))


def _bounce(y: np.ndarray) -> np.ndarray:
    """Where a ball travelling in a straight line to height y really is, reflected between the walls."""
    span = BOTTOM - TOP
    y = np.mod(y - TOP, 2 * span)
    return TOP + np.where(y <= span, y, 2 * span - y)


def expert(frames: np.ndarray, rams: np.ndarray) -> np.ndarray:
    """The scripted player's classes from RAM (this step's and the previous one's, N x 2 x 128)."""
    rams = rams.astype(np.int64)
    (x0, y0), (x1, y1) = (rams[:, k, [BALL_X, BALL_Y]].T for k in (0, 1))
    paddle = rams[:, 1, PADDLE_Y]
    in_play = (y1 != 0) & (y0 != 0)
    vx, vy = x1 - x0, y1 - y0
    coming = in_play & (vx > 0)
    steps = np.where(coming, (PADDLE_X - x1) / np.where(vx > 0, vx, 1), 0)
    target = np.where(coming, _bounce(y1 + vy * steps), CENTRE)
    error = target - (paddle + AIM)
    return np.where(np.abs(error) <= DEADBAND, 0, np.where(error > 0, 2, 1))


def random_policy(seed: int) -> Policy:
    rng = np.random.default_rng(seed)
    return lambda frames, rams: rng.integers(0, len(ACTIONS), size=len(frames))


def noisy(policy: Policy, rate: float, seed: int) -> Policy:
    """The policy, except that with probability `rate` a step's action is random (not its label): games that
    stray, so that a clone sees recoveries too (DART's idea for discrete actions)."""
    rng = np.random.default_rng(seed)

    def act(frames, rams):
        chosen = np.asarray(policy(frames, rams))
        swap = rng.random(len(chosen)) < rate
        return np.where(swap, rng.integers(0, len(ACTIONS), size=len(chosen)), chosen)
    return act


def network_policy(model: torch.nn.Module, device: torch.device | str = "cpu") -> Policy:
    """A trained network as a policy: the most likely class for each stack of frames."""
    def act(frames, rams):
        was_training = model.training
        model.eval()
        with torch.no_grad():
            out = model(torch.as_tensor(frames, device=device)).float().argmax(-1).cpu().numpy()
        model.train(was_training)
        return out
    return act


@dataclass
class Games:
    """Per game: return (points won - points lost), points won, points lost, steps played; with `record`, every
    stack of frames the driving policy saw and the scripted player's class there."""

    returns: np.ndarray
    won: np.ndarray
    lost: np.ndarray
    steps: np.ndarray
    frames: np.ndarray = field(default_factory=lambda: np.zeros((0, STACK, FRAME, FRAME), np.uint8))
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    shown: list = field(default_factory=list)  # with `film`: game 0's full-size frames


_POOL: dict[int, list] = {}  # environments reused across calls, by episode cap (making one costs a game's start)


def play(policy: Policy, seeds: Sequence[int], max_steps: int = MAX_STEPS, record: bool = False,
         film: bool = False) -> Games:
    """One game per seed, stepped in lockstep so that the policy sees a batch; a game ends at 21 points or after
    `max_steps` agent steps."""
    pool = _POOL.setdefault(max_steps, [])
    while len(pool) < len(seeds):
        pool.append(make_env(max_steps))
    envs, n = pool[:len(seeds)], len(seeds)
    first = [env.reset(seed=int(s))[0] for env, s in zip(envs, seeds)]
    frames = np.stack([np.repeat(shrink(f)[None], STACK, 0) for f in first])
    ram = np.stack([env.unwrapped.ale.getRAM() for env in envs])
    rams = np.stack([ram, ram], 1)
    won, lost, steps = np.zeros(n), np.zeros(n), np.zeros(n, np.int64)
    live = np.ones(n, bool)
    seen, labels, shown = [], [], [first[0]] if film else []
    while live.any():
        idx = np.flatnonzero(live)
        if record:
            seen.append(frames[idx].copy())
            labels.append(expert(frames[idx], rams[idx]))
        chosen = np.asarray(policy(frames[idx], rams[idx])).reshape(len(idx))
        for k, i in enumerate(idx):
            frame, reward, terminated, truncated, _ = envs[i].step(ACTIONS[int(chosen[k])])
            won[i] += reward > 0
            lost[i] += reward < 0
            steps[i] += 1
            frames[i] = np.concatenate([frames[i, 1:], shrink(frame)[None]])
            rams[i] = np.stack([rams[i, 1], envs[i].unwrapped.ale.getRAM()])
            if film and i == 0:
                shown.append(frame)
            if terminated or truncated:
                live[i] = False
    games = Games(won - lost, won, lost, steps, shown=shown)
    if record and seen:
        games.frames, games.labels = np.concatenate(seen), np.concatenate(labels).astype(np.int64)
    return games


class PongGames(Imitation):
    """Pong games for behaviour cloning and DAgger (zoo.imitation), each cut at `steps` agent steps, every frame
    labelled by the scripted player."""

    def __init__(self, *args, steps: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.steps = steps

    def record(self, model, device, seeds):
        driver = network_policy(model, device) if model is not None else \
            noisy(expert, self.noise, seeds[0]) if self.noise else expert
        games = play(driver, seeds, self.steps, record=True)
        return torch.from_numpy(games.frames), torch.from_numpy(games.labels)


class PongTask(ClassificationTask):
    """The core's classification on the scripted player's action (cross-entropy; accuracy is agreement with it),
    judged by playing: `eval_budget` whole games per evaluation (each split its own fixed seeds) against Pong's
    built-in opponent, giving `return` (points won - lost, -21 to 21), `won` and `lost` (means per game)."""

    name = "atari"
    monitor = "return"
    directions = {**ClassificationTask.directions, "return": "max", "won": "max", "lost": "min"}

    def evaluate_model(self, model, dataset, split, budget, device) -> dict[str, float]:
        steps = MAX_STEPS
        if self.config.eval_limit:  # zoo's quick checks: short games
            budget, steps = min(budget, int(self.config.eval_limit)), 50
        games = play(network_policy(model, device), episode_seeds(split if split in SEED_BASE else "test", budget), steps)
        return {"return": float(games.returns.mean()), "won": float(games.won.mean()), "lost": float(games.lost.mean())}

    def predict_inputs(self, run, inputs, out_dir, options) -> list[dict[str, Any]]:
        """`zoo predict RUN [SEED...] --out DIR`: the network plays one whole game per seed (0 when none is given)
        and prints its score; with --out, each game is written as DIR/pong-SEED.gif (every other frame)."""
        refuse_options(options, run.recipe.name)
        try:
            seeds = [int(text) for text in inputs] or [0]
        except ValueError:
            raise ZooError(f"zoo predict: {run.recipe.name} takes game seeds (whole numbers), got {list(inputs)}") \
                from None
        model = run.module
        rows = []
        for seed in seeds:
            games = play(network_policy(model, next(model.parameters()).device), [SEED_BASE["test"] + seed],
                         MAX_STEPS, film=out_dir is not None)
            row = {"input": str(seed), "return": int(games.returns[0]), "won": int(games.won[0]),
                   "lost": int(games.lost[0]), "steps": int(games.steps[0])}
            if out_dir is not None:
                row["files"] = [str(write_gif(games.shown, Path(out_dir) / f"pong-{seed}.gif"))]
            rows.append(row)
        return rows


def write_gif(frames: list[np.ndarray], path: Path, every: int = 2) -> Path:
    """Grey frames as an animated GIF (every `every`-th, at the game's pace: 15 agent steps a second)."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames[::every]]
    partial = path.with_name(path.name + ".partial")
    images[0].save(partial, format="GIF", save_all=True, append_images=images[1:], duration=1000 * every // 15,
                   loop=0)
    partial.replace(path)  # a killed write leaves no half GIF under the real name
    return path
