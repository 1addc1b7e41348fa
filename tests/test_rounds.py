"""Training that makes its own data: self-play rounds, evaluation by playing, exact resume, DDP, bad rounds.

The recipe is toy/tictactoe-selfplay of tests/toy_plugin.py: each round the value network plays itself
(random openings, exploring moves), positions are labelled by random rollouts and kept in a replay buffer.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import toy_plugin
from zoo import ZooError
from zoo.training import checkpoint
from zoo.training.trainer import GenerationFailed, NonFiniteLoss

HERE = Path(__file__).parent
RECIPE = "toy/tictactoe-selfplay"
OPENINGS = ["." * i + "x" + "." * (8 - i) for i in range(9)]


@pytest.fixture(autouse=True)
def toy():
    toy_plugin.register()


def train(out, *sets, **kw):
    from zoo.config import parse_sets
    from zoo.runs import train as run_training
    return run_training(RECIPE, sets=parse_sets(sets), out=str(out), callbacks=[], **kw)


def toy_zoo(*args, env=None):
    """`zoo ARGS` in a subprocess, with the toy plugin registered."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "toy_plugin", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_self_play_learns_that_the_centre_opening_is_best(tmp_path):
    from zoo.reopen import open_run

    run = train(tmp_path / "run")
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert all("valid_win_rate" in r and "generate_seconds" in r and "valid_vs_previous" in r for r in rows)
    # a random player wins 0.44 of its games against a random player (half as X, half as O)
    assert rows[-1]["valid_win_rate"] >= 0.7 and rows[-1]["valid_win_rate"] > rows[0]["valid_win_rate"] + 0.1
    values = [p["value"] for p in open_run(run, device="cpu").predict(OPENINGS)]
    others = values[:4] + values[5:]
    assert values[4] > max(others) + 0.05, values  # the centre, by a margin over every corner and edge

    summary = json.loads((run / "summary.json").read_text())
    assert summary["monitor"] == "win_rate" and summary["directions"]["loss_rate"] == "min"
    assert summary["valid"]["best"]["win_rate"] == max(r["valid_win_rate"] for r in rows)
    assert summary["valid"]["best"]["loss_rate"] == min(r["valid_loss_rate"] for r in rows)
    assert set(summary["test"]) == {"win_rate", "loss_rate"}  # the task's own evaluation scores the test split
    assert "win_rate" in (run / "README.md").read_text() and (run / "curves.png").stat().st_size > 1000
    state = checkpoint.load(run / "checkpoints" / "last.safetensors")
    assert len(state["generator"]["buffer"]["x"]) == 4000  # the replay buffer, full, travels with the weights


def test_sigkill_mid_round_then_resume_ends_bitwise_equal(tmp_path):
    sets = ["--set", "checkpoint_every=15", "--set", "deterministic=true", "--epochs", "3"]
    whole = toy_zoo("train", RECIPE, "--out", str(tmp_path / "whole"), *sets)
    assert whole.returncode == 0, whole.stderr
    # 40 steps per round, a checkpoint every 15 steps: the last before step 57 is at step 45, round 2's 5th
    killed = toy_zoo("train", RECIPE, "--out", str(tmp_path / "killed"), *sets, env={"TOY_KILL_AT_STEP": "57"})
    assert killed.returncode == -9, killed.stderr
    progress = checkpoint.load(tmp_path / "killed" / "checkpoints" / "last.safetensors")["progress"]
    assert (progress["epoch"], progress["batch"], progress["step"]) == (1, 5, 45)
    resumed = toy_zoo("train", RECIPE, "--resume", str(tmp_path / "killed"))
    assert resumed.returncode == 0, resumed.stderr
    a = checkpoint.load(tmp_path / "whole" / "checkpoints" / "last.safetensors")
    b = checkpoint.load(tmp_path / "killed" / "checkpoints" / "last.safetensors")
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    assert torch.equal(a["generator"]["buffer"]["y"], b["generator"]["buffer"]["y"])
    assert (tmp_path / "whole" / "metrics.jsonl").read_text().count("\n") == 3
    assert [json.loads(r)["valid_win_rate"] for r in (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()] \
        == [json.loads(r)["valid_win_rate"] for r in (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines()]


def test_two_processes_receive_rank_zeros_rounds_and_match_one_process(tmp_path):
    """Under torchrun rank 0 generates each round and the others receive it; with the same global batch the
    weights match a single process's."""
    common = ["--epochs", "2", "--set", "data.symmetries=false", "--set", "task.steps_per_round=10", "--set", "data.games=60"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port",
                          "29531", str(HERE / "toy_plugin.py"), "train", RECIPE, "--out", str(tmp_path / "ddp"),
                          "--set", "batch_size=32", *common], capture_output=True, text=True, env=env, timeout=300)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    one = toy_zoo("train", RECIPE, "--out", str(tmp_path / "one"), "--set", "batch_size=64", *common)
    assert one.returncode == 0, one.stderr
    a = checkpoint.load(tmp_path / "ddp" / "checkpoints" / "last.safetensors")
    b = checkpoint.load(tmp_path / "one" / "checkpoints" / "last.safetensors")
    assert torch.equal(a["generator"]["buffer"]["y"], b["generator"]["buffer"]["y"])
    for key in a["model"]:
        assert torch.allclose(a["model"][key], b["model"][key], atol=1e-5), key


def test_a_generator_that_raises_names_the_round_and_keeps_the_last_checkpoint(tmp_path):
    with pytest.raises(GenerationFailed, match="round 3: RuntimeError: the engine crashed"):
        train(tmp_path / "run", "data.fail_in_round=3", "epochs=4")
    state = checkpoint.load(tmp_path / "run" / "checkpoints" / "last.safetensors")
    assert state["progress"]["epoch"] == 2


def test_non_finite_targets_in_a_round_stop_training_before_bad_weights(tmp_path):
    with pytest.raises(NonFiniteLoss, match="loss became nan"):
        train(tmp_path / "run", "data.poison=true", "data.capacity=20000")
    state = checkpoint.load(tmp_path / "run" / "checkpoints" / "last.safetensors")
    assert state["progress"]["epoch"] == 1  # round 1's checkpoint, and no later one
    assert all(torch.isfinite(t).all() for t in state["model"].values())


def test_bad_settings_of_a_generating_recipe_are_one_line_errors(tmp_path):
    for setting, message in [("task.eval_budget=0", "eval_budget: must be at least 1"),
                             ("task.steps_per_round=0", "steps_per_round: a recipe that generates its data"),
                             ("task.tta=rot90", "unknown view 'rot90'")]:
        with pytest.raises(ZooError, match=message):
            train(tmp_path / setting.split("=")[0], setting, "epochs=1")
