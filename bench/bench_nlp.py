"""zoo-nlp: each recipe against its classical baselines on the same fixed test split, decided by a test that can tell.

Classifiers: TF-IDF + logistic regression. Summarization: the first sentence of the findings, and
retrieval (the impression of the nearest training findings). A recipe beats a baseline on a metric when the
paired bootstrap interval (2,000 resamples of the test examples, 95%) of the difference lies above zero:
per-example correctness for accuracy, per-example ROUGE F for ROUGE, the metric recomputed on each resample
for macro-F1. Inside the interval is a tie. Prints a Markdown section.
Recipes train one after another with one torch thread (the cores are shared); the baselines fit in the
same process. Set NLP_BENCH_RECIPES=nlp/report-classify,... to run some recipes only, and
NLP_BENCH_SETS=max_steps=2,... for a smoke test (its figures mean nothing).
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from paired import macro_f1, paired_bootstrap, paired_bootstrap_metric, verdict  # noqa: E402

from zoo.data import to_device  # noqa: E402
from zoo.reopen import open_run
from zoo.runs import train  # noqa: E402
from zoo_nlp import baselines, data  # noqa: E402
from zoo_nlp.retrieval import nearest  # noqa: E402

RECIPES = ["nlp/report-classify", "nlp/gloss-topic", "nlp/report-summarize", "nlp/report-classify-minilm"]
ROUGE = ("rouge1", "rouge2", "rougeL")


def train_recipe(name: str, root: Path) -> tuple[Path, float, int]:
    started = time.perf_counter()
    out = root / name.replace("/", "-")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        extra = dict(item.split("=", 1) for item in os.environ.get("NLP_BENCH_SETS", "").split(",") if item)
        train(name, sets={"grad_stats_every": "0", "threads": "1", **extra}, out=str(out), callbacks=[])
    summary = json.loads((out / "summary.json").read_text())
    return out, time.perf_counter() - started, summary["epochs"]


@torch.no_grad()
def test_outputs(run_dir: Path) -> list:
    """The chosen checkpoint's output for each test example, in the split's order: a class, or a summary."""
    trainer = open_run(run_dir, device="cpu").trainer(with_data=True)
    model, task = trainer.eval_model().eval(), trainer.task
    out: list = []
    for x, _ in trainer._loader(trainer.data.test, 32):
        x = to_device(x, trainer.device)
        if isinstance(x, dict):  # seq2seq: generate from the sources alone
            out += task.texts(task.forward(model, x["input_ids"])["generated"])
        else:
            out += task.scores(task.forward(model, x)).argmax(-1).tolist()
    return out


def per_example_rouge(predictions: list[str], references: list[str]) -> dict[str, list[float]]:
    scores = {k: [] for k in ROUGE}
    for p, r in zip(predictions, references):
        for k, v in baselines.rouge([p], [r]).items():
            scores[k].append(v)
    return scores


def classifier_baseline(texts, labels, fractions, cs):
    """(name, test predictions, seconds) of TF-IDF + LR fitted on the recipe's own training split; the truth."""
    started = time.perf_counter()
    parts = data.classifier_splits(labels, fractions)
    pick = lambda idx: ([texts[i] for i in idx], [labels[i] for i in idx])  # noqa: E731
    fitted = baselines.tfidf_logreg(*map(pick, parts), cs=cs, predictions=True)
    return [("TF-IDF + logistic regression", fitted["predicted"], time.perf_counter() - started)], \
        [labels[i] for i in parts[2]]


def compare_classifier(name: str, ours: list[int]) -> tuple[list, list]:
    if name.startswith("nlp/report-classify"):
        found, truth = classifier_baseline(*data.report_texts(), data.REPORT_FRACTIONS, (1.0, 10.0, 100.0))
    else:  # one C (10, best on valid in a trial run): a 45-class lbfgs fit on 94k texts takes minutes each
        found, truth = classifier_baseline(*data.gloss_texts(), data.GLOSS_FRACTIONS, (10.0,))
    truth = np.asarray(truth)
    ours = np.asarray(ours)
    rows = []
    for base, theirs, base_s in found:
        theirs = np.asarray(theirs)
        rows.append(("accuracy", base, float(np.mean(ours == truth)), float(np.mean(theirs == truth)),
                     paired_bootstrap(ours == truth, theirs == truth), base_s))
        rows.append(("f1_macro", base, macro_f1(ours, truth), macro_f1(theirs, truth),
                     paired_bootstrap_metric(macro_f1, truth, ours, theirs), base_s))
    return rows, truth.tolist()


def compare_summaries(ours: list[str]) -> list:
    sources, targets, (train_idx, _, test_idx) = data.summary_pairs()
    pick = lambda seq, idx: [seq[i] for i in idx]  # noqa: E731
    references = pick(targets, test_idx)
    started = time.perf_counter()
    lead = [baselines.first_sentence(s) for s in pick(sources, test_idx)]
    lead_s = time.perf_counter() - started
    started = time.perf_counter()
    train_targets = pick(targets, train_idx)
    near = [train_targets[i] for [i] in nearest(pick(sources, train_idx), pick(sources, test_idx))]
    near_s = time.perf_counter() - started
    mine = per_example_rouge(ours, references)
    rows = []
    for base, outputs, base_s in (("first sentence of findings", lead, lead_s),
                                  ("retrieval (nearest training findings)", near, near_s)):
        theirs = per_example_rouge(outputs, references)
        for metric in ROUGE:
            rows.append((metric, base, float(np.mean(mine[metric])), float(np.mean(theirs[metric])),
                         paired_bootstrap(mine[metric], theirs[metric]), base_s))
    return rows


def main() -> None:
    chosen = os.environ.get("NLP_BENCH_RECIPES", ",".join(RECIPES)).split(",")
    rows, verdicts, sizes = [], [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in chosen:  # one at a time: parallel trainings would only fight over the shared cores
            run_dir, seconds, epochs = train_recipe(name, Path(tmp))
            print(f"trained {name} in {seconds:.0f} s", file=sys.stderr, flush=True)
            ours = test_outputs(run_dir)
            sizes[name] = len(ours)
            found = compare_summaries(ours) if name == "nlp/report-summarize" else compare_classifier(name, ours)[0]
            results = []
            for metric, base, mine, theirs, (diff, low, high), base_s in found:
                result = verdict(low, high)
                results.append((base, metric, result))
                rows.append((name, metric, mine, base, theirs, diff, low, high, result, seconds, epochs, base_s))
            verdicts.append(f"- `{name}`: " + "; ".join(
                f"{result} against {base} on {metric}" for base, metric, result in results))

    print("## nlp: recipes against classical baselines (same fixed test split, paired bootstrap)\n")
    print("| recipe | metric | recipe (test) | baseline | baseline (test) | difference [95% interval] | result "
          "| recipe train s (epochs) | baseline s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, metric, mine, base, theirs, diff, low, high, result, seconds, epochs, base_s in rows:
        print(f"| {name} | {metric} | {mine:.4f} | {base} | {theirs:.4f} | {diff:+.4f} [{low:+.4f}, {high:+.4f}] "
              f"| **{result}** | {seconds:.0f} ({epochs}) | {base_s:.1f} |")
    print("\nA recipe beats a baseline when the paired bootstrap interval of the difference (2,000 resamples of the "
          "test examples, 95%) lies above zero: `win`; below zero: `loss`; containing zero: `tie` (the test split "
          "cannot tell them apart). Per-example correctness for accuracy, per-example ROUGE F for ROUGE, macro-F1 "
          "recomputed on each resample. Test examples: " + ", ".join(f"{n} {k:,}" for n, k in sizes.items()) + ".\n")
    print("\n".join(verdicts))
    print("\nRecipes ran with their defaults on CPU, one after another with one torch thread (`zoo train NAME "
          "--set threads=1`); the figures are those of the checkpoint the validation split picked, recomputed here "
          "on the test split for the pairing. The baselines were fitted on the same training splits (TF-IDF + "
          "logistic regression with C chosen on the validation split). Summaries use beam search and MBR selection "
          "(`data.mbr`); ROUGE F-measures without stemming, against the impressions as written. Other jobs may "
          "share the 2 cores: times are indicative.")


if __name__ == "__main__":
    main()
