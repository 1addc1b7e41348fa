"""recsys/doc-search-rerank: the listwise loss, the first-stage checks, learning what the first stage cannot see,
and `zoo predict` printing the reranked pages."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from zoo import ZooError

FIRST_TINY = {"epochs": "3", "batch_size": "8", "eval_batch_size": "16", "lr": "5e-3", "grad_stats_every": "0",
              "threads": "1", "device": "cpu", "model.dim": "16", "data.doc_words": "64", "data.ict": "1",
              "warmup": "0", "weight_decay": "0"}
TINY = {"epochs": "15", "batch_size": "8", "eval_batch_size": "8", "lr": "1e-2", "grad_stats_every": "0",
        "threads": "1", "device": "cpu", "warmup": "0", "weight_decay": "0",
        "data.doc_words": "64", "data.candidates": "10", "data.leads": "false",
        "data.name_field": "false"}  # the pages are named page0, page1...: nothing to read there


def write_positions(root, n=40, seed=0):
    """Pages whose query words open the relevant page once, while three other pages repeat them further down:
    BM25 and a bag-of-words encoder prefer those; where the words stand is what tells the relevant page."""
    rng = np.random.default_rng(seed)
    keys = [f"key{i}" for i in range(16)]
    pairs = [(a, b) for i, a in enumerate(keys) for b in keys[i + 1:]]
    chosen = [pairs[i] for i in rng.permutation(len(pairs))[:n]]
    filler = [f"fill{i}" for i in range(40)]
    (root / "docs").mkdir(parents=True)
    queries, qrels = [], []
    for d, (a, b) in enumerate(chosen):
        opening = [a, b, *rng.choice(filler, 30)]
        rest = list(rng.choice(filler, 12))
        for other in (1, 2, 3):
            rest += [*chosen[(d + other) % n]] * 2 + list(rng.choice(filler, 2))
        (root / "docs" / f"page{d}.txt").write_text(" ".join(opening + rest) + "\n")
        queries.append(f"q{d}\t{a} {b}")
        qrels.append(f"q{d} 0 page{d} 1")
    (root / "queries.tsv").write_text("\n".join(queries) + "\n")
    (root / "qrels.txt").write_text("\n".join(qrels) + "\n")
    return root


def test_listwise_loss_is_cross_entropy_on_the_relevant_candidates():
    from zoo_recsys.rerank import RerankTask

    task = RerankTask(None, {})
    scores = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.1, 0.3], [1.0, 2.0, 3.0]], requires_grad=True)
    target = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])  # the last list has none
    loss = task.loss(scores, target)
    logp = torch.log_softmax(scores.detach(), -1)
    expected = -(logp[0, 1] + torch.logsumexp(logp[1, [0, 2]], 0)) / 2
    assert torch.isclose(loss, expected, atol=1e-5)
    loss.backward()
    assert scores.grad[2].abs().sum() == 0  # a list without a relevant page teaches nothing


def test_first_stage_must_be_a_doc_search_run_over_the_same_corpus(tmp_path):
    from zoo_recsys.rerank import first_stage_run

    from zoo.rundir import FIELDS

    (tmp_path / "other").mkdir()
    config = {field: {} if kind is dict else "" for field, (kind, _) in FIELDS.items()}
    (tmp_path / "other" / "config.json").write_text(json.dumps({**config, "recipe": "recsys/web-search"}))
    with pytest.raises(ZooError, match="a recsys/web-search run; expected a recsys/doc-search run"):
        first_stage_run(str(tmp_path / "other"), None, 1, 0, {})
    with pytest.raises(ZooError, match=r"data.first_stage=.*nowhere: .*not a run directory"):
        first_stage_run(str(tmp_path / "nowhere"), None, 1, 0, {})


def test_reranker_learns_where_the_words_stand_and_predict_prints_it(tmp_path):
    from zoo.runs import train
    import zoo
    from zoo_recsys.rerank import Lists, RerankTask, doc_rerank, rank_lists

    data = write_positions(tmp_path / "corpus")
    first = train("recsys/doc-search", data=str(data), sets=FIRST_TINY, out=str(tmp_path / "first"), callbacks=[])
    with pytest.raises(ZooError, match="searched another corpus"):
        doc_rerank(str(write_positions(tmp_path / "other", n=30)), first_stage=str(first), doc_words=64)
    out = train("recsys/doc-search-rerank", data=str(data), sets={**TINY, "data.first_stage": str(first)},
                out=str(tmp_path / "run"), callbacks=[])
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["train_loss"] < 0.5 * rows[0]["train_loss"]
    net = zoo.load(str(out), device="cpu").module
    bundle = doc_rerank(str(data), first_stage=str(first), doc_words=64, candidates=10, leads=False,
                        name_field=False)
    everyone = Lists([], sum((d.queries for d in (bundle.train, bundle.valid, bundle.test)), []),
                     sum((d.relevant for d in (bundle.train, bundle.valid, bundle.test)), []))
    per = rank_lists(net, everyone, "cpu")
    hybrid, reranked = np.mean(per["hybrid"]["rr"]), np.mean(per["reranked"]["rr"])
    assert reranked > hybrid + 0.25 and reranked > 0.7, (hybrid, reranked)
    held_out = rank_lists(net, bundle.test, "cpu")  # queries it never trained on: the rule carries over
    assert np.mean(held_out["reranked"]["rr"]) > np.mean(held_out["hybrid"]["rr"]) + 0.2, held_out

    config = json.loads((out / "config.json").read_text())
    from zoo_recsys.dense import read_query

    task = RerankTask(None, config["info"])
    text = (data / "queries.tsv").read_text().splitlines()[0].split("\t")[1]  # page0's query
    with torch.no_grad():
        [found] = task.predict(task.forward(net.eval(), task.collate([read_query(text, config["info"])])))
    assert len(found) == 10 and found["1"].startswith("page0 [")
    from zoo.testing import run_zoo

    result = run_zoo("predict", str(out), text)
    assert result.code == 0, result.err
    assert "1=page0 [" in result.out and "10=" in result.out


@pytest.mark.parametrize("text", ["1/1", "2", "a/b", "0/0"])
def test_train_part_of_the_first_stage_is_checked(text):
    from zoo_recsys.dense import parse_part

    assert parse_part("") == (0, 1) and parse_part("1/2") == (1, 2)
    with pytest.raises(ZooError, match=f"data.train_part={text}: expected k/n"):
        parse_part(text)
