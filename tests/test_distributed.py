"""Two processes with gloo on CPU under torchrun match one process with the same global batch."""
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from zoo.training import checkpoint

HERE = Path(__file__).parent


def test_two_processes_match_one_with_the_same_global_batch(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    script = str(HERE / "distributed_run.py")
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port",
                          "29517", script, str(tmp_path / "ddp"), "8"], capture_output=True, text=True, env=env,
                         timeout=300)
    assert ddp.returncode == 0, ddp.stderr[:1500] + "\n...\n" + ddp.stderr[-1500:]  # the cause comes first
    assert "rank 0 of 2 steps 5" in ddp.stdout and "rank 1 of 2 steps 5" in ddp.stdout
    single = subprocess.run([sys.executable, script, str(tmp_path / "one"), "16"], capture_output=True, text=True,
                            env=env, timeout=300)
    assert single.returncode == 0, single.stderr[-2000:]
    a = checkpoint.load(tmp_path / "ddp" / "checkpoints" / "last.safetensors")["model"]
    b = checkpoint.load(tmp_path / "one" / "checkpoints" / "last.safetensors")["model"]
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-5), key
    # only rank 0 wrote: one metrics line for the one epoch
    assert (tmp_path / "ddp" / "metrics.jsonl").read_text().count("\n") == 1


def test_a_rendezvous_job_as_multi_node_writes_resumes_and_logs_once(tmp_path):
    """`torchrun --nnodes 1 --nproc-per-node 2 --rdzv-backend c10d`: the multi-node launch on one machine.
    Only rank 0 writes the run; a resumed job continues it; the lock is released at the end."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    out = tmp_path / "run"

    def torchrun(*args):
        return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2",
                               "--rdzv-backend", "c10d", "--rdzv-endpoint", "localhost:29541", "--rdzv-id", "zoo-test",
                               str(HERE / "toy_plugin.py"), "train", "toy/blobs", *args], capture_output=True,
                              text=True, env=env, timeout=300)

    first = torchrun("--out", str(out), "--epochs", "1")
    assert first.returncode == 0, first.stderr[-3000:]
    assert (out / "metrics.jsonl").read_text().count("\n") == 1
    resumed = torchrun("--resume", str(out), "--epochs", "2")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    state = checkpoint.load(out / "checkpoints" / "last.safetensors")
    assert state["progress"]["epoch"] == 2 and not (out / ".lock").exists()
    assert json.loads((out / "summary.json").read_text())["test"]["accuracy"] > 0.5  # 4 classes: chance 0.25
