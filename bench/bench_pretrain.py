"""Pretraining as a recipe: nlp/report-mlm, then nlp/report-classify started from it with init_from.

In one run, one after another with one torch thread: the masked-LM pretraining on the training reports,
report-classify from scratch, report-classify from the pretrained encoder (same seed and settings), and the
TF-IDF + logistic-regression baseline. Each pair is compared on the test split by a paired bootstrap of the
per-report difference in correctness (2,000 resamples, 95%): inside the interval is a tie.
Set PRETRAIN_BENCH_SETS=max_steps=2,... for a smoke test (its figures mean nothing).
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from paired import paired_bootstrap, verdict  # noqa: E402

from zoo.reopen import open_run
from zoo.runs import train  # noqa: E402
from zoo_nlp import baselines, data  # noqa: E402


def run(name: str, out: Path, **sets: str) -> tuple[Path, float]:
    extra = dict(item.split("=", 1) for item in os.environ.get("PRETRAIN_BENCH_SETS", "").split(",") if item)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(name, sets={"grad_stats_every": "0", "threads": "1", **sets, **extra}, out=str(out), callbacks=[])
    print(f"trained {name} in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return out, time.perf_counter() - started


@torch.no_grad()
def correct(run_dir: Path) -> list[int]:
    """1 for each test report the run's chosen checkpoint classifies right, in the split's order."""
    trainer = open_run(run_dir, device="cpu").trainer(with_data=True)
    model, task = trainer.eval_model().eval(), trainer.task
    out = []
    for x, y in trainer._loader(trainer.data.test, 64):
        predicted = task.scores(task.forward(model, x)).argmax(-1)
        out += (predicted == y).int().tolist()
    return out


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-pretrain-"))
    mlm, mlm_s = run("nlp/report-mlm", root / "mlm")
    scratch, scratch_s = run("nlp/report-classify", root / "scratch")
    tuned, tuned_s = run("nlp/report-classify", root / "tuned", init_from=str(mlm))
    texts, labels = data.report_texts()
    parts = data.classifier_splits(labels, data.REPORT_FRACTIONS)
    pick = lambda idx: ([texts[i] for i in idx], [labels[i] for i in idx])  # noqa: E731
    tfidf = baselines.tfidf_logreg(*map(pick, parts), predictions=True)
    truth = [labels[i] for i in parts[2]]
    results = {"from scratch": correct(scratch), "pretrained (init_from nlp/report-mlm)": correct(tuned),
               "TF-IDF + logistic regression": [int(p == t) for p, t in zip(tfidf["predicted"], truth)]}
    mlm_summary = json.loads((mlm / "summary.json").read_text())

    print("## Pretraining as a recipe: nlp/report-mlm then nlp/report-classify with init_from\n")
    print(f"Masked-LM pretraining on the {len(parts[0]):,} training reports: {mlm_summary['epochs']} epochs in "
          f"{mlm_s / 60:.1f} min, masked-token accuracy {mlm_summary['test']['accuracy']:.3f} on the test reports "
          "(15% of tokens predicted).\n")
    print("| report-classify | test accuracy | train s |\n|---|---|---|")
    seconds = {"from scratch": scratch_s, "pretrained (init_from nlp/report-mlm)": tuned_s}
    for name, hits in results.items():
        took = f"{seconds[name]:.0f}" if name in seconds else ""
        print(f"| {name} | {sum(hits) / len(hits):.4f} ({sum(hits)}/{len(hits)}) | {took} |")
    print("\n| comparison (test, per-report correctness) | mean difference | 95% interval | result |\n|---|---|---|---|")
    names = list(results)
    for a, b in ((names[1], names[0]), (names[1], names[2]), (names[0], names[2])):
        mean, low, high = paired_bootstrap(results[a], results[b])
        print(f"| {a} - {b} | {mean:+.4f} | [{low:+.4f}, {high:+.4f}] | {verdict(low, high)} |")
    print("\nPaired bootstrap, 2,000 resamples of the test reports; `tie`: the interval contains zero. Same seed and "
          "settings for both report-classify runs; one torch thread; the cores may be shared, so times are indicative.")


if __name__ == "__main__":
    main()
