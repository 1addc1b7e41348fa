"""zoo-robotics, imitation: the scripted Reacher expert reaches, DAgger rounds are driven by the learner and
labelled by the expert, a policy learns from them, and bad demonstrations or a diverging simulator are handled."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from zoo import ZooError
from zoo.testing import run_zoo, train_tiny
from zoo_robotics import data, reacher


def test_the_expert_reaches_and_a_random_policy_does_not():
    seeds = reacher.episode_seeds("test", 20)
    ours, chance = reacher.rollouts(reacher.expert, seeds), reacher.rollouts(reacher.random_policy(0), seeds)
    assert ours.success.mean() >= 0.95 and chance.success.mean() <= 0.1
    assert ours.returns.mean() > chance.returns.mean() + 2


class Still(torch.nn.Module):
    """A learner that never moves the arm."""

    def forward(self, obs):
        return torch.zeros(len(obs), reacher.ACTION)


def test_dagger_rounds_are_driven_by_the_learner_and_labelled_by_the_expert():
    for dagger in (True, False):
        demos = reacher.Demonstrations(demos=2, episodes=2, dagger=dagger, capacity=10_000, seed=0)
        demos.generate(Still(), 0, "cpu")
        first = len(demos.dataset())
        demos.generate(Still(), 1, "cpu")
        obs, actions = demos.dataset().x[first:], demos.dataset().y[first:]
        assert len(obs) == first == 2 * 50  # two episodes of 50 steps each round
        assert torch.allclose(actions, torch.from_numpy(reacher.expert(obs.numpy())))  # the expert's labels
        moved = obs[:, 6:8].abs().max()  # joint velocities: the still learner leaves them at their tiny start
        assert (moved < 0.1) if dagger else (moved > 1), (dagger, moved)
        # the next episodes are new ones, and the state round-trips
        copy = reacher.Demonstrations(2, 2, dagger, 10_000, 0)
        copy.load_state_dict(demos.state_dict())
        assert copy.played == 4 and len(copy.dataset()) == 2 * first


def test_a_diverging_simulation_is_cut_and_counted_not_a_crash(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MuJoCo writes its warnings to MUJOCO_LOG.TXT in the working directory
    calls = []

    def explode(obs):
        calls.append(len(obs))
        if len(calls) == 3:  # blow the first episode's simulation up mid-episode
            env = reacher._POOL[0].unwrapped
            env.set_state(env.data.qpos.copy(), np.full(env.model.nv, 1e30))
        return reacher.expert(obs)

    run = reacher.rollouts(explode, reacher.episode_seeds("valid", 3))
    assert run.diverged.tolist() == [True, False, False]
    assert not run.success[0] and run.success[1:].all() and np.isnan(run.final_cm[0])


def test_user_demonstrations_of_the_wrong_shape_are_named(tmp_path):
    good = tmp_path / "demos.npz"
    obs = reacher.rollouts(reacher.expert, [5], record=True).observations
    np.savez(good, observations=obs, actions=reacher.expert(obs))
    assert reacher.read_demonstrations(good)[0].shape == (50, 10)
    _, summary = train_tiny("robotics/reacher-bc", tmp_path, "task.steps_per_round=5", "task.eval_budget=2", "data.episodes=0",
                            "data.valid_episodes=2", data=str(good))
    assert summary["epochs"] == 1  # the user's file is round 0's demonstrations
    cases = {"wide": ({"observations": np.zeros((5, 11)), "actions": np.zeros((5, 2))}, r"'observations' is \(5, 11\)"),
             "short": ({"observations": np.zeros((5, 10)), "actions": np.zeros((4, 2))}, "5 observations but 4"),
             "named": ({"states": np.zeros((5, 10))}, "needs arrays 'observations' and 'actions'"),
             "nan": ({"obs": np.full((3, 10), np.nan), "acts": np.zeros((3, 2))}, "row 0 holds NaN")}
    for name, (arrays, message) in cases.items():
        np.savez(tmp_path / f"{name}.npz", **arrays)
        with pytest.raises(ZooError, match=f"{name}.npz.*{message}"):
            reacher.read_demonstrations(tmp_path / f"{name}.npz")
    result = run_zoo("train", "robotics/reacher-bc", "--data", str(tmp_path / "wide.npz"), "--out",
                     str(tmp_path / "run"))
    assert result.code == 2 and "wide.npz" in result.err and "Traceback" not in result.err, result.err


def test_a_policy_learns_to_reach_with_dagger(tmp_path):
    """A few DAgger rounds: the network's rollouts end far nearer the target than a random policy's, some within
    1 cm; and `zoo predict` gives torques for one observation."""
    run, summary = train_tiny("robotics/reacher-bc", tmp_path, "task.steps_per_round=100", "task.eval_budget=30",
                              "data.demos=20", "data.episodes=10", epochs=6)
    chance = reacher.rollouts(reacher.random_policy(1), reacher.episode_seeds("test", 30))
    test = summary["test"]
    assert test["final_cm"] < 0.3 * np.nanmean(chance.final_cm) and test["success"] >= 0.15, test
    obs = reacher.rollouts(reacher.expert, [3], record=True).observations[0]
    [prediction] = run.predict([",".join(f"{v:.6f}" for v in obs)])
    assert set(prediction) == {"input", "shoulder_torque", "elbow_torque"}
    with pytest.raises(ZooError, match="10 finite numbers, got 3"):
        data.read_observation("1,2,3", {})


def test_a_missing_simulator_is_one_line_saying_what_to_install():
    import subprocess
    import sys

    code = ("import sys; sys.modules['mujoco'] = None\nfrom zoo_robotics import reacher\ntry:\n    reacher.make_env()\n"
            "except Exception as exc:\n    print(type(exc).__name__, exc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
    assert out.strip() == "ZooError robotics/reacher-bc needs MuJoCo: pip install mujoco (or 'gymnasium[mujoco]')"
