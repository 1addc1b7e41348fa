"""Two processes with gloo on CPU under torchrun match one process with the same global batch."""
import os
import subprocess
import sys
from pathlib import Path

import torch

from zoo.train import checkpoint

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
