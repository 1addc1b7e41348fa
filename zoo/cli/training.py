"""`zoo train`, `zoo eval`, `zoo predict` and `zoo lr-find`. torch is imported inside each command."""
from __future__ import annotations

import json

import click

from ..config import parse_sets

DEVICES = click.Choice(["auto", "cpu", "cuda"])


@click.command()
@click.argument("name")
@click.option("--data", type=str, help="Your own data (file or folder); see `zoo info NAME`.")
@click.option("--epochs", type=click.IntRange(min=1), help="Override the recipe's epochs.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override any setting (repeatable).")
@click.option("--out", type=str, help="Run directory (default runs/<domain>/<name>/<timestamp>).")
@click.option("--resume", type=str,
              help="Continue the run in this directory from its last checkpoint, on its own data.")
@click.option("--seed", type=int, help="Seed of every random generator.")
@click.option("--device", type=DEVICES, help="Where to train (default: cuda when present).")
def train(name, data, epochs, sets, out, resume, seed, device) -> None:
    """Train recipe NAME and write a run directory."""
    from ..runs import train as run_training
    from ..training.device import is_main

    run_dir = run_training(name, data=data, sets=parse_sets(sets), out=out, resume=resume,
                           epochs=epochs, seed=seed, device=device)
    if is_main() and (run_dir / "summary.json").exists():  # under torchrun, rank 0 reports
        summary = json.loads((run_dir / "summary.json").read_text())
        final = summary.get("test") or summary["valid"]["final"]
        split = "test" if "test" in summary else "valid"
        shown = "  ".join(f"{k} {v:.4f}" for k, v in final.items())
        click.echo(f"{split}: {shown}")
        if "test_tta" in summary:
            click.echo("test with TTA: " + "  ".join(f"{k} {v:.4f}" for k, v in summary["test_tta"].items()))
        click.echo(f"run directory: {run_dir}")


@click.command("eval")
@click.argument("run_dir", type=str)
@click.option("--data", type=str, help="Evaluate on this data instead of the run's own.")
@click.option("--tta", is_flag=True, help="Average predictions over the recipe's test-time views.")
@click.option("--device", type=DEVICES, default="auto")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def evaluate(run_dir, data, tta, device, as_json) -> None:
    """Evaluate a trained run on its validation and test splits."""
    from ..reopen import open_run

    result = open_run(run_dir, data=data, device=device).evaluate(tta=tta)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for split, metrics in result.items():
        click.echo(f"{split}: " + "  ".join(f"{k} {v:.4f}" for k, v in metrics.items()))


@click.command()
@click.argument("run_dir", type=str)
@click.argument("inputs", nargs=-1)
@click.option("--out", type=str, help="Also write each input's result into this folder (images, maps, games...).")
@click.option("--device", type=DEVICES, default="auto")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True,
              help="Inputs the network sees at once.")
@click.option("--tta", is_flag=True, help="Average over the recipe's test-time views.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per input.")
def predict(run_dir, inputs, out, device, batch_size, tta, as_json, **options) -> None:
    """Predict with a trained run: one line per INPUT (a file, a folder of files, a glob, or text for text models).

    A bad input among many is named on stderr and the others are still predicted (exit code 2 at the end).
    Plugins add options of their own (`zoo predict --help` lists those installed); their values reach the
    recipe's task, which refuses those that do not apply to it.
    """
    from ..reopen import open_run

    results = open_run(run_dir, device=device).predict(list(inputs), out=out, batch_size=batch_size, tta=tta,
                                                        progress=True, **options)
    bad = 0
    for pred in results:
        name = pred.pop("input", "")
        if "error" in pred:
            bad += 1
            click.echo(f"error: {name}: {pred['error']}", err=True)
        elif as_json:
            click.echo(json.dumps({"input": name, **pred}))
        else:
            shown = {k: (",".join(v) if k == "files" else ("yes" if v else "no") if isinstance(v, bool) else v)
                     for k, v in pred.items()}
            click.echo(f"{name}\t" + "\t".join(f"{k}={v}" for k, v in shown.items()))
    if bad:
        raise SystemExit(2)  # the bad inputs are named above, one line each


@click.command("lr-find")
@click.argument("name")
@click.option("--data", type=str)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE")
@click.option("--out", type=str, default="lr_find.png", show_default=True, help="Where to save the plot.")
@click.option("--steps", type=click.IntRange(min=10), default=100, show_default=True)
@click.option("--device", type=DEVICES)
def lr_find(name, data, sets, out, steps, device) -> None:
    """Sweep the learning rate on recipe NAME, save a plot and suggest a value."""
    from ..runs import find_lr

    suggestion = find_lr(name, data=data, sets=parse_sets(sets), out=out, steps=steps, device=device)
    click.echo(f"suggested lr: {suggestion:.3g}  (plot: {out}; use --set lr={suggestion:.3g})")


@click.command("export")
@click.argument("run_dir", type=str)
@click.option("--format", "fmt", type=click.Choice(["safetensors", "onnx", "torchscript"]), required=True)
@click.option("--out", type=str, required=True, help="The file to write.")
def export(run_dir, fmt, out) -> None:
    """Write a run's network as safetensors weights, an ONNX or a TorchScript program (checked against torch)."""
    from ..export import export as write

    result = write(run_dir, fmt, out)
    check = f"; max abs difference from torch {result['max_abs_difference']:.1e}" if "max_abs_difference" in result else ""
    click.echo(f"wrote {result['file']} ({fmt}{check})")


COMMANDS = (train, evaluate, predict, lr_find, export)
