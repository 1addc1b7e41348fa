"""Device choice, mixed precision, seeding and the processes of a torchrun job."""
from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch

from ..errors import ZooError


def pick_device(name: str = "auto") -> torch.device:
    """cuda when present (and asked for or 'auto'), else cpu; each process of a job takes its own GPU."""
    if name not in ("auto", "cpu", "cuda") and not name.startswith("cuda:"):
        raise ZooError(f"--device: expected auto, cpu or cuda, got {name!r}")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ZooError("--device cuda: no CUDA device is available here")
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if name == "cuda" or name == "auto":
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device(name)


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX), where oneDNN's bf16 convolutions and matmuls
    beat fp32; elsewhere bf16 is emulated and slower."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(device: torch.device, requested: str, warn) -> str:
    """'bf16' or 'fp32' for this device. auto: bf16 on a CUDA device that has it, fp32 elsewhere. bf16 asked for:
    on a CUDA device that has it, or on a CPU with native bf16 (a recipe that measured it faster asks for it);
    elsewhere it falls back to fp32 with a warning."""
    if requested not in ("auto", "bf16", "fp32"):
        raise ZooError(f"--set precision: expected auto, bf16 or fp32, got {requested!r}")
    if device.type == "cuda":
        has_bf16 = torch.cuda.is_bf16_supported()
        missing = "this GPU has no bf16"
    else:
        has_bf16 = requested == "bf16" and cpu_has_bf16()
        missing = "no CUDA device and this CPU has no native bf16"
    if requested == "bf16" and not has_bf16:
        warn(f"precision=bf16: {missing}; training in fp32 instead")
    return "bf16" if requested in ("auto", "bf16") and has_bf16 else "fp32"


def autocast(device: torch.device, precision: str = "auto"):
    """bf16 autocast where the precision says so: 'auto' or 'bf16' on CUDA, 'bf16' (as resolve_precision returns
    it) on a CPU; plain fp32 otherwise."""
    if device.type == "cuda" and precision in ("auto", "bf16"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if device.type == "cpu" and precision == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def loader_workers(device: torch.device, setting: str) -> int:
    """DataLoader worker processes: `auto` is 4 beside a CUDA device (the GPU waits otherwise), 0 on CPU."""
    if setting == "auto":
        return min(4, os.cpu_count() or 1) if device.type == "cuda" else 0
    try:
        workers = int(setting)
    except ValueError:
        raise ZooError(f"--set num_workers: expected auto or a number, got {setting!r}") from None
    if workers < 0:
        raise ZooError(f"--set num_workers: must not be negative, got {workers}")
    return workers


def seed_everything(seed: int, deterministic: bool = False) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def rng_state() -> dict:
    """Every RNG state, as tensors and JSON values (no pickling)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(list(state["cuda"]))


# -- torchrun ------------------------------------------------------------------------------
def world() -> tuple[int, int]:
    """(rank, world size) of this process; (0, 1) outside torchrun."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def init_distributed(device: torch.device) -> bool:
    """Join the torchrun job when there is one: gloo on CPU, NCCL on CUDA."""
    rank, size = world()
    if size <= 1:
        return False
    import torch.distributed as dist
    if not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return True


def is_main() -> bool:
    return world()[0] == 0


def broadcast_tree(tree: dict | None, device: torch.device, src: int = 0) -> dict:
    """Send nested tensors and JSON values from rank `src` to every process (others pass None).

    Tensors travel as tensors and the rest as JSON bytes: nothing is pickled, as in checkpoints.
    """
    import json

    import torch.distributed as dist

    from .checkpoint import flatten, unflatten

    comm = device if device.type == "cuda" else torch.device("cpu")  # NCCL moves CUDA tensors only
    tensors: dict[str, torch.Tensor] = {}
    if dist.get_rank() == src:
        skeleton = flatten(tree, "", tensors)
        header = {"tree": skeleton, "tensors": {k: [list(t.shape), str(t.dtype).removeprefix("torch.")]
                                                for k, t in tensors.items()}}
        payload = torch.frombuffer(bytearray(json.dumps(header).encode()), dtype=torch.uint8).to(comm)
        size = torch.tensor([payload.numel()], dtype=torch.int64, device=comm)
    else:
        size = torch.zeros(1, dtype=torch.int64, device=comm)
    dist.broadcast(size, src)
    if dist.get_rank() != src:
        payload = torch.empty(int(size), dtype=torch.uint8, device=comm)
    dist.broadcast(payload, src)
    header = json.loads(bytes(payload.cpu().tolist()).decode())
    received = {}
    for key, (shape, dtype) in header["tensors"].items():
        t = tensors[key].to(comm) if key in tensors else torch.empty(shape, dtype=getattr(torch, dtype), device=comm)
        dist.broadcast(t, src)
        received[key] = t.cpu()
    return unflatten(header["tree"], received)
