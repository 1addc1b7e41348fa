"""`zoo export`: a run's trained network as a file other tools read (safetensors, ONNX, TorchScript).

The weights are those `zoo eval` uses (the moving average when the run kept one). ONNX and TorchScript
files are checked after writing: the exported program runs on an example batch of the run's own data and
must agree with torch's output to 1e-4.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import ZooError

FORMATS = ("safetensors", "onnx", "torchscript")
TOLERANCE = 1e-4


def export(run_dir: str | Path, fmt: str, out: str | Path) -> dict[str, Any]:
    """Write the run's network to `out` in `fmt`; returns what was written and, for programs, the check."""
    from .reopen import load

    if fmt not in FORMATS:
        raise ZooError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    out = Path(out)
    if out.parent.exists() and not out.parent.is_dir():
        raise ZooError(f"--out {out}: {out.parent} is a file, not a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    run = load(run_dir, device="cpu")
    module = run.module
    if fmt == "safetensors":
        from safetensors.torch import save_model

        meta = {"recipe": run.recipe.name, "model": run.recipe.model, "model_args": json.dumps(run.saved["model_args"]),
                "config": json.dumps(run.config)}
        save_model(module, str(out), metadata=meta)
        return {"format": fmt, "file": str(out), "tensors": len(module.state_dict())}
    if getattr(getattr(module, "config", None), "is_encoder_decoder", False):  # transformers' seq2seq models
        raise ZooError(f"{run.recipe.model} cannot be exported to {fmt}: it writes text by generate(), a search loop "
                       "in Python that a traced program does not hold; --format safetensors writes its weights")
    example = example_input(run)
    expected = flat(module(**example) if isinstance(example, dict) else module(example))
    if fmt == "onnx":
        got = to_onnx(run, module, example, out)
    else:
        got = to_torchscript(run, module, example, out)
    if len(got) != len(expected):
        raise ZooError(f"{run.recipe.model}: the exported program gives {len(got)} outputs, torch gives {len(expected)}")
    diff = max(float((g - e).abs().max()) for g, e in zip(got, expected)) if expected else 0.0
    if diff > TOLERANCE:
        out.unlink(missing_ok=True)
        raise ZooError(f"{run.recipe.model}: the {fmt} program differs from torch by {diff:.2e} (> {TOLERANCE}); "
                       "nothing was written")
    return {"format": fmt, "file": str(out), "max_abs_difference": diff}


def checked_destination(out: Path) -> Path:
    """The file to write, checked before any work: its folder is made (or refused, under a file) and must be
    writable; an existing folder of that name is refused."""
    import os

    for part in out.parents:
        if part.exists() and not part.is_dir():
            raise ZooError(f"--out {out}: {part} is a file, not a folder")
    if out.is_dir():
        raise ZooError(f"--out {out}: a folder; give the file to write")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ZooError(f"--out {out}: cannot make its folder ({exc.strerror})") from None
    if not os.access(out.parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise ZooError(f"--out {out}: not writable")
    return out


def example_input(run) -> Any:
    """The first few items of the run's validation (or test) split, collated as the model sees them."""
    trainer = run.trainer(with_data=True)
    dataset = trainer.data.valid if trainer.data.valid is not None else trainer.data.test
    if dataset is None:
        raise ZooError(f"{run.recipe.name}: no validation or test data to trace the network with (its data is made "
                       "while training); --format safetensors writes its weights")
    x, _ = next(iter(trainer._loader(dataset, min(2, len(dataset)))))
    return x


def flat(output: Any) -> list[Any]:
    """Every tensor of a model's output, in order (dict outputs by key order)."""
    import torch

    if isinstance(output, torch.Tensor):
        return [output.detach()]
    if isinstance(output, dict):
        return [t for v in output.values() for t in flat(v)]
    if isinstance(output, (list, tuple)):
        return [t for v in output for t in flat(v)]
    if hasattr(output, "to_tuple"):  # transformers' ModelOutput
        return flat(output.to_tuple())
    return []


def to_onnx(run, module, example: Any, out: Path) -> list[Any]:
    import torch
    try:
        import onnxruntime
    except ImportError:
        raise ZooError("--format onnx needs onnx, onnxscript and onnxruntime: pip install 'zoo[export]'") from None
    names = list(example) if isinstance(example, dict) else ["input"]
    args, kwargs = ((), example) if isinstance(example, dict) else ((example,), None)
    try:
        torch.onnx.export(module, args, str(out), kwargs=kwargs, input_names=names, dynamo=False,
                          dynamic_axes={n: {0: "batch"} for n in names})
    except Exception as exc:  # noqa: BLE001 - the exporter's failures are many; name the model and the first line
        out.unlink(missing_ok=True)
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise ZooError(f"{run.recipe.model} cannot be exported to ONNX: {reason}") from None
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    feeds = {i.name: (example[i.name] if isinstance(example, dict) else example).numpy()
             for i in session.get_inputs()}
    return [torch.from_numpy(a) for a in session.run(None, feeds)]


def to_torchscript(run, module, example: Any, out: Path) -> list[Any]:
    import torch

    try:
        traced = torch.jit.trace(module, example_kwarg_inputs=example, strict=False) if isinstance(example, dict) \
            else torch.jit.trace(module, example, strict=False)
        traced.save(str(out))
    except Exception as exc:  # noqa: BLE001
        out.unlink(missing_ok=True)
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise ZooError(f"{run.recipe.model} cannot be exported to TorchScript: {reason}") from None
    loaded = torch.jit.load(str(out))
    return flat(loaded(**example) if isinstance(example, dict) else loaded(example))
