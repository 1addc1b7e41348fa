"""The players of Pong: the scripted player, which reads the ball's and its paddle's positions from the emulator's
RAM and moves to where the ball will cross its line (bouncing off the walls), the random player, a noisy version
of any player, and a trained network as a player. Each is a `Policy`: (frames N x STACK x F x F, RAM N x 2 x 128)
-> classes (0 NOOP, 1 UP, 2 DOWN)."""
from __future__ import annotations

import numpy as np
import torch

from .atari import ACTIONS, Policy

BALL_X, BALL_Y, PADDLE_Y = 49, 54, 51  # RAM addresses
TOP, BOTTOM, PADDLE_X = 44, 207, 190  # the ball's y between the walls, and its x where the paddle meets it
AIM, DEADBAND = 6, 10  # the paddle's y aims AIM below the ball's (hits off centre send it steep); no move within
CENTRE = 125  # where the paddle waits while the ball moves away


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
