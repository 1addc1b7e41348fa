"""Atari Pong from pixels (ale-py's ROM through gymnasium): the environment, games played in lockstep, and a
game written as a GIF. The players are in atari_players.py, the imitation data in atari_data.py, the task in
tasks/atari.py.

The environment is ALE/Pong-v5 as the Arcade Learning Environment's authors recommend (Machado et al. 2018):
every 4th frame seen, sticky actions (the previous action repeats with probability 0.25), so that no two games
are alike. The network sees the last STACK frames, grey, the play field cropped and max-pooled 4 x 4 to
FRAME x FRAME (max keeps the 2-pixel ball). It chooses among NOOP, UP and DOWN (Pong's FIRE variants add
nothing).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zoo import ZooError

ENV_ID = "ALE/Pong-v5"
ACTIONS = (0, 2, 3)  # NOOP, RIGHT (the paddle goes up), LEFT (down): the network's classes 0, 1, 2
NAMES = ("noop", "up", "down")
STACK, FRAME = 4, 40
CROP = slice(34, 194)  # the play field's rows (160 x 160 with the columns)
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


@dataclass
class Games:
    """Per game: return (points won - points lost), points won, points lost, steps played; with `label`, every
    stack of frames the driving policy saw and the labelling player's class there."""

    returns: np.ndarray
    won: np.ndarray
    lost: np.ndarray
    steps: np.ndarray
    frames: np.ndarray = field(default_factory=lambda: np.zeros((0, STACK, FRAME, FRAME), np.uint8))
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    shown: list = field(default_factory=list)  # with `film`: game 0's full-size frames


_POOL: dict[int, list] = {}  # environments reused across calls, by episode cap (making one costs a game's start)


def play(policy: Policy, seeds: Sequence[int], max_steps: int = MAX_STEPS, label: Policy | None = None,
         film: bool = False) -> Games:
    """One game per seed, stepped in lockstep so that the policy sees a batch; a game ends at 21 points or after
    `max_steps` agent steps. With `label` (a player, e.g. the scripted one), every stack of frames met is kept
    with that player's class there; with `film`, game 0's full-size frames."""
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
        if label is not None:
            seen.append(frames[idx].copy())
            labels.append(label(frames[idx], rams[idx]))
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
    if label is not None and seen:
        games.frames, games.labels = np.concatenate(seen), np.concatenate(labels).astype(np.int64)
    return games




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
