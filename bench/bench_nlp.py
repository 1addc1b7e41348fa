"""zoo-nlp: each recipe against a classical baseline on the same fixed test split, measured in one run.

Classifiers: TF-IDF + logistic regression. Summarization: the first sentence of the findings, and
retrieval (the impression of the nearest training findings). Prints a Markdown section.
Set NLP_BENCH_RECIPES=nlp/report-classify,... to run some recipes only.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

from zoo.runs import train
from zoo_nlp import baselines, data

RECIPES = ["nlp/report-classify", "nlp/gloss-topic", "nlp/report-summarize"]


def train_recipe(name: str, root: Path) -> tuple[dict[str, float], float, int]:
    started = time.perf_counter()
    out = root / name.replace("/", "-")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(name, sets={"grad_stats_every": "0"}, out=str(out), callbacks=[])
    summary = json.loads((out / "summary.json").read_text())
    return summary["test"], time.perf_counter() - started, summary["epochs"]


def classifier_baseline(texts, labels, fractions, cs) -> tuple[dict[str, float], float]:
    started = time.perf_counter()
    parts = data.classifier_splits(labels, fractions)
    pick = lambda idx: ([texts[i] for i in idx], [labels[i] for i in idx])  # noqa: E731
    return baselines.tfidf_logreg(*map(pick, parts), cs=cs), time.perf_counter() - started


def main() -> None:
    chosen = os.environ.get("NLP_BENCH_RECIPES", ",".join(RECIPES)).split(",")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in chosen:
            print(f"training {name}", file=sys.stderr, flush=True)
            test, seconds, epochs = train_recipe(name, Path(tmp))
            if name == "nlp/report-classify":
                base, base_s = classifier_baseline(*data.report_texts(), data.REPORT_FRACTIONS, (1.0, 10.0, 100.0))
                rows += [(name, "TF-IDF + logistic regression", m, test[m], base[m], seconds, base_s, epochs)
                         for m in ("accuracy", "f1_macro")]
            elif name.startswith("nlp/gloss-topic"):
                # one C (10, best on valid in a trial run): a 45-class lbfgs fit on 94k texts takes minutes each
                base, base_s = classifier_baseline(*data.gloss_texts(), data.GLOSS_FRACTIONS, (10.0,))
                rows += [(name, "TF-IDF + logistic regression", m, test[m], base[m], seconds, base_s, epochs)
                         for m in ("accuracy", "f1_macro")]
            elif name == "nlp/report-summarize":
                sources, targets, (tr, _, te) = data.summary_pairs()
                started = time.perf_counter()
                lead = baselines.lead_baseline([sources[i] for i in te], [targets[i] for i in te])
                lead_s = time.perf_counter() - started
                started = time.perf_counter()
                near = baselines.retrieval_baseline([sources[i] for i in tr], [targets[i] for i in tr],
                                                    [sources[i] for i in te], [targets[i] for i in te])
                near_s = time.perf_counter() - started
                for m in ("rouge1", "rouge2", "rougeL"):
                    rows.append((name, "first sentence of findings", m, test[m], lead[m], seconds, lead_s, epochs))
                    rows.append((name, "retrieval (nearest training findings)", m, test[m], near[m], seconds, near_s,
                                 epochs))

    print("## nlp: recipes against classical baselines (same fixed test split)\n")
    print("| recipe | metric | recipe (test) | baseline | baseline (test) | recipe wins | recipe train s (epochs) "
          "| baseline s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, base, metric, ours, theirs, seconds, base_s, epochs in rows:
        print(f"| {name} | {metric} | {ours:.4f} | {base} | {theirs:.4f} | {'yes' if ours > theirs else 'no'} "
              f"| {seconds:.0f} ({epochs}) | {base_s:.1f} |")
    print("\nRecipes ran with their defaults on CPU (`zoo train NAME`); the baselines were fitted on the same "
          "training split. Summaries use beam search (4 beams); ROUGE F-measures without stemming.")


if __name__ == "__main__":
    main()
