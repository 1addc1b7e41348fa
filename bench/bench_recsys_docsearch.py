"""recsys/doc-search: the dual encoder, BM25 (bm25s), their hybrid, and the hybrid's top 24 reranked
(recsys/doc-search-rerank) on the Linux manual pages, section 2 held out.

Trains recsys/doc-search at its defaults, then recsys/doc-search-rerank on that run (data.first_stage), and ranks
the whole corpus for every valid (section 7) and test (section 2) query with each system; MRR@10 and Recall@10 per
query, paired bootstrap over queries (bench/paired.py). The hybrid is reported at the recipe's weight (0.5) and at
the weight the valid split picks. Prints a Markdown section for bench/RESULTS.md. BENCH_DOC_EPOCHS and
BENCH_RERANK_EPOCHS make a smaller run.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
torch.set_num_threads(1)

from paired import paired_bootstrap, verdict  # noqa: E402

RECIPE = "recsys/doc-search"
RERANK = "recsys/doc-search-rerank"
WEIGHTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def main() -> None:
    import zoo
    from zoo.runs import train
    from zoo_recsys.dense import doc_search, rank_split
    from zoo_recsys.rerank import doc_rerank, rank_lists

    epochs, rerank_epochs = os.environ.get("BENCH_DOC_EPOCHS"), os.environ.get("BENCH_RERANK_EPOCHS")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.time()
        sets = {"grad_stats_every": "0", "threads": "1", **({"epochs": epochs} if epochs else {})}
        train(RECIPE, sets=sets, out=f"{tmp}/run", callbacks=[])
        took = time.time() - started
        net = zoo.load(f"{tmp}/run", device="cpu").module.eval()
        started = time.time()
        sets = {"grad_stats_every": "0", "threads": "1", "data.first_stage": f"{tmp}/run",
                **({"epochs": rerank_epochs} if rerank_epochs else {})}
        train(RERANK, sets=sets, out=f"{tmp}/rerank", callbacks=[])
        rerank_took = time.time() - started
        reranker = zoo.load(f"{tmp}/rerank", device="cpu").module.eval()
        lists = doc_rerank(first_stage=f"{tmp}/run")
    data = doc_search()
    valid = {w: rank_split(net, data.valid, w, "cpu") for w in WEIGHTS}
    picked = max(WEIGHTS, key=lambda w: np.mean(valid[w]["hybrid"]["rr"]))
    test = rank_split(net, data.test, 0.5, "cpu")
    test_picked = rank_split(net, data.test, picked, "cpu")
    reranked, reranked_valid = rank_lists(reranker, lists.test, "cpu"), rank_lists(reranker, lists.valid, "cpu")
    rerank_name = f"hybrid + reranker (top {reranker.candidates} reranked)"
    systems = {"BM25 (bm25s, k1 1.5, b 0.75)": test["bm25"], "dual encoder alone": test["dense"],
               "hybrid, weight 0.5 (recipe)": test["hybrid"], f"hybrid, weight {picked} (picked on valid)":
               test_picked["hybrid"], rerank_name: reranked["reranked"]}
    v = valid[0.5]
    n_valid, n_test = len(data.valid.queries), len(data.test.queries)
    print("## recsys: searching the Linux manual pages (`recsys/doc-search`)\n")
    print(f"{data.info['documents']:,} pages of Debian's manpages + manpages-dev; the query is a page's NAME line, the "
          f"document the page without it. Test: the {n_test} pages of section 2 (system calls); valid: the {n_valid} "
          "of section 7; every query is searched against all pages. The dual encoder trained from scratch "
          f"({took / 60:.1f} min with one thread on a shared 2-core machine"
          + (f", **{epochs} epochs: a smaller run (BENCH_DOC_EPOCHS)**" if epochs else ", recipe defaults") +
          "); BM25 and the hybrid use its run's buffers. The reranker (`recsys/doc-search-rerank`, trained on that run: "
          f"{rerank_took / 60:.1f} min" + (f", **{rerank_epochs} epochs: a smaller run (BENCH_RERANK_EPOCHS)**"
                                           if rerank_epochs else ", recipe defaults") +
          f") rescores the hybrid's top {reranker.candidates} of each query; its weight on the first stage's dense "
          f"score, picked on valid, is {float(reranker.dense_weight):g} (BM25's, trained: "
          f"{float(reranker.bm25):.2f}). Intervals: paired bootstrap over test queries, 95%.\n")
    print("| system | test MRR@10 | test Recall@10 | valid MRR@10 | valid Recall@10 |\n|---|---|---|---|---|")
    valid_of = {"BM25 (bm25s, k1 1.5, b 0.75)": v["bm25"], "dual encoder alone": v["dense"],
                "hybrid, weight 0.5 (recipe)": v["hybrid"], rerank_name: reranked_valid["reranked"]}
    for name, per in systems.items():
        vv = valid_of.get(name, valid[picked]["hybrid"])
        print(f"| {name} | {np.mean(per['rr']):.4f} | {np.mean(per['recall']):.4f} | {np.mean(vv['rr']):.4f} | "
              f"{np.mean(vv['recall']):.4f} |")
    print("\n| comparison (test, per query) | MRR@10 difference [95%] | verdict | Recall@10 difference [95%] | verdict |"
          "\n|---|---|---|---|---|")
    bm25 = systems["BM25 (bm25s, k1 1.5, b 0.75)"]
    for name in list(systems)[1:]:
        cells = []
        for key in ("rr", "recall"):
            mean, low, high = paired_bootstrap(systems[name][key], bm25[key])
            cells += [f"{mean:+.4f} [{low:+.4f}, {high:+.4f}]", verdict(low, high)]
        print(f"| {name} - BM25 | " + " | ".join(cells) + " |")
    cells = []
    for key in ("rr", "recall"):  # against the hybrid as the reranker's run scores it (the same, but for ties)
        mean, low, high = paired_bootstrap(reranked["reranked"][key], reranked["hybrid"][key])
        cells += [f"{mean:+.4f} [{low:+.4f}, {high:+.4f}]", verdict(low, high)]
    print(f"| {rerank_name} - hybrid, weight 0.5 | " + " | ".join(cells) + " |")
    differ = int(np.sum(~np.isclose(reranked["hybrid"]["rr"], test["hybrid"]["rr"])))
    if differ:
        print(f"\n{differ} test queries rank their page differently in the reranker's hybrid (ties).")
    print("\nValid MRR@10 of the hybrid by weight: " + ", ".join(
        f"{w}: {np.mean(valid[w]['hybrid']['rr']):.4f}" for w in WEIGHTS) + ".")


if __name__ == "__main__":
    sys.exit(main())
