"""Run directories under attack: damaged config.json, bad numbers, paths that cannot be folders, two writers,
kills in the middle of a checkpoint. Each is one line and exit code 2, never a traceback or lost work."""
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from zoo.testing import run_zoo
from zoo.training import checkpoint

HERE = Path(__file__).parent
TINY = ["--set", "model.width=8", "--set", "data.image_size=8", "--set", "grad_stats_every=0", "--set", "threads=1"]


def one_line_error(result, *fragments):
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.err, result.err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "digits"
    result = run_zoo("train", "vision/digits-resnet", "--out", str(out), "--epochs", "1", *TINY)
    assert result.code == 0, result.err
    return out


@pytest.mark.parametrize("content, fragment", [
    (b"\x00\xff\xfe{", "not a text file"),
    (b"[1, 2, 3]", "expected a JSON object"),
    (b"{}", "field 'recipe' (the recipe's name) is missing"),
    (json.dumps({"recipe": "vision/digits-resnet", "config": {}, "info": {}, "versions": {}}).encode(),
     "field 'model_args'"),
    (json.dumps({"recipe": "vision/digits-resnet", "config": {}, "model_args": {}, "info": {},
                 "versions": {"zoo": "99.0"}}).encode(), "written by zoo 99.0, newer than this zoo"),
], ids=["binary", "list", "empty", "no-model-args", "newer-zoo"])
def test_a_damaged_config_json_is_one_line(tmp_path, content, fragment):
    from zoo import ZooError, load

    (tmp_path / "config.json").write_bytes(content)
    with pytest.raises(ZooError, match="config.json: .*" + fragment.replace("(", r"\(").replace(")", r"\)")):
        load(tmp_path)


def test_eval_predict_and_resume_of_a_damaged_run_are_one_line(tmp_path):
    (tmp_path / "config.json").write_bytes(b"[1, 2, 3]")
    for args in (["eval", str(tmp_path)], ["predict", str(tmp_path), "x.png"],
                 ["train", "vision/digits-resnet", "--resume", str(tmp_path)]):
        one_line_error(run_zoo(*args), "config.json", "expected a JSON object")


def test_non_finite_settings_are_refused_and_leave_no_folder(tmp_path):
    for value in ("nan", "inf", "-inf"):
        one_line_error(run_zoo("train", "vision/digits-resnet", "--out", str(tmp_path / value), "--set", f"lr={value}"),
                       "--set lr: must be a finite number")
        assert not (tmp_path / value).exists()


def test_an_out_below_a_file_and_an_unusable_image_size_are_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    one_line_error(run_zoo("train", "vision/digits-resnet", "--out", str(tmp_path / "file" / "run")),
                   "/file is a file, not a folder")
    one_line_error(run_zoo("train", "vision/digits-resnet", "--set", "data.image_size=1", "--out",
                           str(tmp_path / "tiny")), "data.image_size=1: at least 8 pixels")


def test_a_run_has_one_writer_and_a_killed_writers_lock_and_temporary_files_are_cleaned(tmp_path):
    out = tmp_path / "run"
    args = [sys.executable, "-m", "zoo", "train", "vision/digits-resnet", "--out", str(out), "--epochs", "30", *TINY]
    first = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (out / "checkpoints" / "last.safetensors").exists() and time.time() < deadline:
        time.sleep(0.05)
    second = run_zoo("train", "vision/digits-resnet", "--out", str(out), "--epochs", "1", *TINY)
    one_line_error(second, "already holds a run")
    resume_now = run_zoo("train", "vision/digits-resnet", "--resume", str(out))
    one_line_error(resume_now, "another zoo process", str(first.pid))
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert (out / ".lock").exists()  # left by the killed process
    partial = out / "checkpoints" / ".last.safetensors.k1ll3d"
    partial.write_bytes(os.urandom(1000))  # what a kill during a checkpoint write leaves
    resumed = run_zoo("train", "vision/digits-resnet", "--resume", str(out), "--epochs", "2")
    assert resumed.code == 0, resumed.err
    assert not partial.exists() and not (out / ".lock").exists()


@pytest.mark.slow
def test_kill_storm_every_latest_checkpoint_loads_and_the_run_ends_equal(tmp_path):
    """SIGKILL at random moments after the first checkpoint, resume, again and again: every checkpoint left
    behind loads, and the run ends with the weights of the same run left alone."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    # 126 steps, a checkpoint every 8: room for 6 kills however fast the machine is (a kill lands within 10 ms,
    # a few steps, after a process's first checkpoint); after 6 the run is left to finish
    sets = ["--set", "checkpoint_every=8", "--set", "deterministic=true", "--set", "epochs=12"]

    def start(*args):
        return subprocess.Popen([sys.executable, "-m", "toy_plugin", "train", "toy/points", *args], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    whole = start("--out", str(tmp_path / "whole"), *sets)
    assert whole.wait(timeout=300) == 0, whole.stderr.read()
    out, rng, kills = tmp_path / "storm", random.Random(0), 0
    last = out / "checkpoints" / "last.safetensors"
    proc = start("--out", str(out), *sets)
    while True:
        written = last.stat().st_mtime_ns if last.exists() else 0
        deadline = time.time() + 120
        while proc.poll() is None and (not last.exists() or last.stat().st_mtime_ns == written):
            assert time.time() < deadline, "no checkpoint was written"
            time.sleep(0.005)  # until this process has written a checkpoint of its own
        time.sleep(rng.uniform(0.0, 0.01))
        if kills == 6:
            assert proc.wait(timeout=300) == 0, proc.stderr.read()
        if proc.poll() is not None:
            assert proc.returncode == 0, proc.stderr.read()
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        state = checkpoint.load(last)  # the latest checkpoint always loads, with finite weights
        assert all(torch.isfinite(t).all() for t in state["model"].values())
        proc = start("--resume", str(out))
    assert kills >= 3, f"only {kills} kills landed before the run finished"
    a = checkpoint.load(tmp_path / "whole" / "checkpoints" / "last.safetensors")["model"]
    b = checkpoint.load(last)["model"]
    for key in a:
        assert torch.equal(a[key], b[key]), key
