"""MuJoCo Reacher (gymnasium Reacher-v5): a scripted expert, rollouts, and DAgger as a zoo DataGenerator.

The arm has two links (0.1 m and 0.11 m to the fingertip) and a target drawn in a disc of 0.2 m. The expert reads
everything from the observation: the joint angles (cos, sin), their velocities and the fingertip-to-target vector
give the target's position; inverse kinematics gives the joint angles that put the fingertip there (keeping the
elbow on its side), and a PD law turns the angle error into torques. It succeeds in every episode we tried.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from zoo import ZooError

from zoo.imitation import Imitation, episode_seeds

ENV_ID = "Reacher-v5"
OBSERVATION = 10  # cos q (2), sin q (2), target xy, joint velocities (2), fingertip - target (x, y)
ACTION = 2  # joint torques in [-1, 1]
LINKS = (0.1, 0.11)  # shoulder to elbow, elbow to fingertip (m)
GAINS = (2.0, 0.3)  # PD gains: stiff enough that a small action error leaves a small offset (see README)
SUCCESS_CM = 1.0  # the fingertip within 1 cm of the target at the end of the episode

Policy = Callable[[np.ndarray], np.ndarray]  # observations (N x 10) -> actions (N x 2)


def make_env():
    """One Reacher-v5 environment; a missing simulator is one line saying what to install."""
    try:
        import gymnasium as gym
        from gymnasium.error import DependencyNotInstalled
    except ImportError:
        raise ZooError("robotics/reacher-bc needs gymnasium and MuJoCo: pip install 'gymnasium[mujoco]'") from None
    try:
        return gym.make(ENV_ID)
    except (DependencyNotInstalled, ImportError):
        raise ZooError("robotics/reacher-bc needs MuJoCo: pip install mujoco (or 'gymnasium[mujoco]')") from None


def expert(observations: np.ndarray) -> np.ndarray:
    """The scripted expert's torques for each observation: inverse kinematics, then a PD law."""
    obs = np.atleast_2d(np.asarray(observations, dtype=np.float64))
    q = np.arctan2(obs[:, 2:4], obs[:, 0:2])
    l1, l2 = LINKS
    tip = np.stack([l1 * np.cos(q[:, 0]) + l2 * np.cos(q.sum(1)), l1 * np.sin(q[:, 0]) + l2 * np.sin(q.sum(1))], 1)
    target = tip - obs[:, 8:10]
    cos_elbow = np.clip(((target ** 2).sum(1) - l1 ** 2 - l2 ** 2) / (2 * l1 * l2), -1, 1)
    elbow = np.where(q[:, 1] >= 0, 1, -1) * np.arccos(cos_elbow)  # stay on the side the elbow is on
    shoulder = np.arctan2(target[:, 1], target[:, 0]) - np.arctan2(l2 * np.sin(elbow), l1 + l2 * np.cos(elbow))
    error = np.stack([np.angle(np.exp(1j * (shoulder - q[:, 0]))), elbow - q[:, 1]], 1)  # shoulder wraps around
    kp, kd = GAINS
    return np.clip(kp * error - kd * obs[:, 6:8], -1, 1).astype(np.float32)


def noisy(policy: Policy, scale: float, seed: int) -> Policy:
    """The policy with Gaussian noise added to what it does (not to what it labels): demonstrations that stray
    and recover, so that a clone learns to recover too (DART, Laskey et al. 2017)."""
    rng = np.random.default_rng(seed)
    return lambda obs: policy(obs) + rng.normal(0, scale, size=(len(obs), ACTION)).astype(np.float32)


def random_policy(seed: int) -> Policy:
    rng = np.random.default_rng(seed)
    return lambda obs: rng.uniform(-1, 1, size=(len(obs), ACTION)).astype(np.float32)


def network_policy(model: torch.nn.Module, device: torch.device | str = "cpu") -> Policy:
    """A trained network as a policy (eval mode, no gradients; actions clipped to the motors' range)."""
    def act(obs: np.ndarray) -> np.ndarray:
        was_training = model.training
        model.eval()
        with torch.no_grad():
            out = model(torch.as_tensor(obs, dtype=torch.float32, device=device)).float().cpu().numpy()
        model.train(was_training)
        return np.clip(out, -1, 1)
    return act


@dataclass
class Rollouts:
    """Per episode: return, final fingertip distance (cm; NaN when cut) and whether the simulator diverged;
    with `record`, every observation the driving policy met (what DAgger has the expert label)."""

    returns: np.ndarray
    final_cm: np.ndarray
    diverged: np.ndarray
    observations: np.ndarray = field(default_factory=lambda: np.zeros((0, OBSERVATION), np.float32))

    @property
    def success(self) -> np.ndarray:
        return np.nan_to_num(self.final_cm, nan=np.inf) < SUCCESS_CM


_POOL: list = []  # environments reused across calls (making one costs more than an episode)


def _unstable(env) -> int:
    """How many times MuJoCo has flagged the simulation unstable (it then resets it quietly)."""
    import mujoco

    warnings = env.unwrapped.data.warning
    return sum(int(warnings[w].number) for w in (mujoco.mjtWarning.mjWARN_BADQACC, mujoco.mjtWarning.mjWARN_BADQVEL,
                                                 mujoco.mjtWarning.mjWARN_BADQPOS))


def rollouts(policy: Policy, seeds: Sequence[int], record: bool = False) -> Rollouts:
    """One episode per seed (reset with that seed), all stepped in lockstep so the policy sees a batch. An episode
    whose simulation diverges (non-finite state, or MuJoCo's instability warning) is cut and counted."""
    while len(_POOL) < len(seeds):
        _POOL.append(make_env())
    envs = _POOL[:len(seeds)]
    obs = np.stack([env.reset(seed=int(s))[0] for env, s in zip(envs, seeds)]).astype(np.float32)
    n = len(seeds)
    returns, final = np.zeros(n), np.full(n, np.nan)
    diverged, live = np.zeros(n, bool), np.ones(n, bool)
    flags = np.array([_unstable(env) for env in envs])
    seen = []
    while live.any():
        idx = np.flatnonzero(live)
        if record:
            seen.append(obs[idx].copy())
        actions = np.asarray(policy(obs[idx]), dtype=np.float32).reshape(len(idx), ACTION)
        for k, i in enumerate(idx):
            o, reward, terminated, truncated, _ = envs[i].step(np.nan_to_num(actions[k]))
            if not np.isfinite(o).all() or _unstable(envs[i]) > flags[i]:
                live[i], diverged[i] = False, True
                continue
            obs[i], returns[i] = o, returns[i] + reward
            if terminated or truncated:
                live[i] = False
                final[i] = float(np.linalg.norm(o[8:10])) * 100
    observations = np.concatenate(seen) if seen else np.zeros((0, OBSERVATION), np.float32)
    return Rollouts(returns, final, diverged, observations)


def observation_stats(episodes: int = 20) -> tuple[list[float], list[float]]:
    """Mean and spread of each observation feature over expert episodes (the network's input scaling)."""
    seen = rollouts(expert, episode_seeds("stats", episodes), record=True).observations
    return seen.mean(0).tolist(), np.maximum(seen.std(0), 1e-3).tolist()


def read_demonstrations(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A user's demonstrations: an .npz with `observations` (N x 10, Reacher-v5's layout) and `actions` (N x 2)."""
    file = Path(path)
    if not file.is_file():
        raise ZooError(f"--data {path}: no such file (give an .npz with observations N x 10 and actions N x 2)")
    try:
        with np.load(file, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as err:
        raise ZooError(f"--data {path}: not a readable .npz ({err})") from None
    obs_key = next((k for k in ("observations", "obs") if k in arrays), None)
    act_key = next((k for k in ("actions", "acts") if k in arrays), None)
    if obs_key is None or act_key is None:
        raise ZooError(f"--data {path}: needs arrays 'observations' and 'actions' (found: {', '.join(arrays) or 'none'})")
    obs, actions = arrays[obs_key], arrays[act_key]
    if obs.ndim != 2 or obs.shape[1] != OBSERVATION:
        raise ZooError(f"--data {path}: '{obs_key}' is {obs.shape}; Reacher-v5 observations are N x {OBSERVATION}")
    if actions.ndim != 2 or actions.shape[1] != ACTION:
        raise ZooError(f"--data {path}: '{act_key}' is {actions.shape}; Reacher-v5 actions are N x {ACTION}")
    if len(obs) != len(actions) or len(obs) == 0:
        raise ZooError(f"--data {path}: {len(obs)} observations but {len(actions)} actions (need as many, at least 1)")
    if not (np.isfinite(obs).all() and np.isfinite(actions).all()):
        row = int(np.flatnonzero(~(np.isfinite(obs).all(1) & np.isfinite(actions).all(1)))[0])
        raise ZooError(f"--data {path}: row {row} holds NaN or infinity")
    return obs.astype(np.float32), actions.astype(np.float32)


class Demonstrations(Imitation):
    """Reacher episodes for behaviour cloning and DAgger (zoo.imitation), labelled by `expert`."""

    def record(self, model, device, seeds):
        driver = network_policy(model, device) if model is not None else \
            noisy(expert, self.noise, seeds[0]) if self.noise else expert
        run = rollouts(driver, seeds, record=True)
        x = torch.from_numpy(run.observations)
        return x, torch.from_numpy(expert(run.observations))
