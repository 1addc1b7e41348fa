"""`zoo export`: which recipes' networks export to ONNX and TorchScript, and how far the programs are from torch.

For one or more recipes per plugin: a run of one training step (the export checks the program, not the
model's quality), then `zoo export --format onnx` and `--format torchscript`, each checked by running the
program on a batch of the run's own data (onnxruntime for ONNX) against torch's output. Set EXPORT_RECIPES to
choose the recipes.
"""
from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

from zoo import ZooError
from zoo.export import export
from zoo.runs import train

RECIPES = ["vision/digits-resnet", "medical/xray-anomaly", "medical/xray-densenet", "nlp/report-classify",
           "nlp/gloss-topic", "nlp/report-summarize", "recsys/ml100k-rating", "recsys/ml100k-ranking",
           "biology/tf-binding", "biology/protein-contacts", "generation/denoise", "generation/super-resolution",
           "games/tictactoe-alphazero", "games/chess-stockfish"]
TINY = {"epochs": "1", "max_steps": "1", "eval_limit": "1", "grad_stats_every": "0", "task.tta": ""}


def main() -> None:
    chosen = os.environ.get("EXPORT_RECIPES", ",".join(RECIPES)).split(",")
    root = Path(tempfile.mkdtemp(prefix="bench-export-"))
    rows = []
    for name in chosen:
        run = root / name.replace("/", "-")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                train(name, sets=TINY, out=str(run), callbacks=[])
            except ZooError as exc:  # e.g. its data is not installed
                rows.append((name, f"not trained: {exc}", ""))
                continue
            cells = []
            for fmt in ("onnx", "torchscript"):
                try:
                    result = export(run, fmt, root / f"{run.name}.{fmt}")
                    cells.append(f"yes, max abs difference {result['max_abs_difference']:.1e}")
                except ZooError as exc:
                    cells.append(f"no: {str(exc).split(': ', 1)[-1][:160]}")
        rows.append((name, *cells))
    print("## zoo export: ONNX and TorchScript, checked against torch\n")
    print("| recipe | ONNX (onnxruntime) | TorchScript |\n|---|---|---|")
    for name, onnx, script in rows:
        print(f"| {name} | {onnx} | {script} |")
    print("\nEach program ran on a batch of the run's own validation data; the tolerance is 1e-4 (a program further "
          "from torch is refused and not written). safetensors export (weights only) works for every network.")


if __name__ == "__main__":
    main()
