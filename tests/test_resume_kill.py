"""Exact resume: a real training process killed with SIGKILL mid-epoch, then resumed, ends with weights
bitwise identical to the same run left uninterrupted (CPU, deterministic settings)."""
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from zoo.training import checkpoint

# dropout and random affine augmentation make every RNG state matter
SETTINGS = ["epochs=2", "batch_size=64", "checkpoint_every=3", "grad_stats_every=0", "deterministic=true",
            "model.width=8", "data.image_size=8", "model.drop_rate=0.3", "ema=0.9", "device=cpu"]


def zoo_train(out, *extra):
    args = [sys.executable, "-m", "zoo", "train", "vision/digits-resnet", "--out", str(out)]
    for setting in SETTINGS:
        args += ["--set", setting]
    return args + list(extra)


def model_weights(run):
    state = checkpoint.load(run / "checkpoints" / "last.safetensors")
    return {**state["model"], **{f"ema.{k}": v for k, v in state["ema"].items()}}


def test_sigkill_mid_epoch_then_resume_is_bitwise_identical(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    whole = tmp_path / "whole"
    subprocess.run(zoo_train(whole), check=True, capture_output=True, env=env)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(zoo_train(killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    last = killed / "checkpoints" / "last.safetensors"
    deadline = time.time() + 120
    while time.time() < deadline:
        if last.exists() and checkpoint.load(last)["progress"]["batch"] >= 6:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    progress = checkpoint.load(last)["progress"]
    assert progress["epoch"] == 0 and 0 < progress["batch"] < 20, f"not killed mid-epoch: {progress}"

    resumed = subprocess.run([sys.executable, "-m", "zoo", "train", "vision/digits-resnet", "--resume", str(killed)],
                             capture_output=True, text=True, env=env)
    assert resumed.returncode == 0, resumed.stderr
    a, b = model_weights(whole), model_weights(killed)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f"{key} differs after resume"
    assert (whole / "metrics.jsonl").read_text() .count("\n") == (killed / "metrics.jsonl").read_text().count("\n")
