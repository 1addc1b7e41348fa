"""nlp/report-qa against its two baselines on the same test reports, decided by a paired bootstrap.

Baselines: keyword rules with negation cues (zoo_nlp.questions.keyword_answer), and the most common answer per
question type in training. Exact match and token F1 per question; the difference's 95% interval over 2,000
resamples of the test questions decides win, tie or loss; then exact match by question type.
Set QA_BENCH_SETS=max_steps=2,... for a smoke test (its figures mean nothing).
"""
from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_nlp import test_outputs  # noqa: E402
from recipes import train_defaults  # noqa: E402
from paired import paired_bootstrap, verdict  # noqa: E402

from zoo_nlp import data, questions  # noqa: E402


def main() -> None:
    out, seconds, summary = train_defaults("nlp/report-qa", "QA_BENCH_SETS")

    train_items, _, test_items = data.question_splits()
    common = questions.most_common_answers([k for *_, k in train_items], [a for _, _, a, _ in train_items])
    systems = {"nlp/report-qa": test_outputs(out),
               "keyword rules": [questions.keyword_answer(k, c, common) for c, _, _, k in test_items],
               "most common answer per question type": [common.get(k, "no") for *_, k in test_items]}
    answers = [a for _, _, a, _ in test_items]
    scores = {name: {"exact_match": [questions.exact_match(p, a) for p, a in zip(outs, answers)],
                     "f1": [questions.token_f1(p, a) for p, a in zip(outs, answers)]} for name, outs in systems.items()}

    contexts = [c for c, *_ in test_items]
    reports = len(set(contexts))
    print("## nlp: questions about a chest X-ray report (`nlp/report-qa`)\n")
    print(f"Test: {len(test_items):,} questions about {reports:,} reports never seen in training (the test reports of "
          f"nlp/report-classify); answers from the reports' MeSH tags. `nlp/report-qa`: {summary['epochs']} epochs "
          f"in {seconds / 60:.1f} min with one torch thread, greedy decoding.\n")
    print("| system | exact match | F1 |\n|---|---|---|")
    for name, s in scores.items():
        print(f"| {name} | {np.mean(s['exact_match']):.4f} | {np.mean(s['f1']):.4f} |")
    print("\n| comparison (test, per question) | metric | mean difference | 95% interval | result |\n|---|---|---|---|---|")
    for base in list(systems)[1:]:
        for metric in ("exact_match", "f1"):
            mean, low, high = paired_bootstrap(scores["nlp/report-qa"][metric], scores[base][metric], groups=contexts)
            print(f"| nlp/report-qa - {base} | {metric} | {mean:+.4f} | [{low:+.4f}, {high:+.4f}] | "
                  f"**{verdict(low, high)}** |")
    by_kind: dict[str, list[int]] = defaultdict(list)
    for i, (*_, kind) in enumerate(test_items):
        by_kind[kind].append(i)
    print("\nExact match by question type:\n")
    print("| question | n | " + " | ".join(systems) + " |\n|---|---|" + "---|" * len(systems))
    for kind, idx in sorted(by_kind.items(), key=lambda kv: -len(kv[1])):
        question = next(q for _, q, _, k in test_items if k == kind)
        cells = " | ".join(f"{np.mean([scores[name]['exact_match'][i] for i in idx]):.3f}" for name in systems)
        print(f"| {question} | {len(idx)} | {cells} |")
    print("\nPaired bootstrap over the test reports (2,000 resamples; a resampled report brings all its questions, "
          "since questions about one report are not independent); `tie`: the interval contains zero. "
          "The keyword rules are hand-written (zoo_nlp/questions.py): a finding is present when its pattern matches a "
          "sentence with no negation cue before it; side and region words of those sentences answer where.")


if __name__ == "__main__":
    main()
