"""recsys/doc-search: the man-page reader, the folder / queries / TREC qrels loaders, BM25, learning and prediction."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from zoo import ZooError
from zoo_recsys.docsearch import (Vocabulary, bm25_index, bm25_scores, load_folder, parse_manpage, read_qrels,
                                  read_queries)

TINY = {"epochs": "8", "batch_size": "16", "eval_batch_size": "32", "lr": "5e-3", "grad_stats_every": "0",
        "threads": "1", "device": "cpu", "model.dim": "32", "data.doc_words": "24", "data.ict": "4", "warmup": "0",
        "weight_decay": "0"}

PAGE = r""".\" Copyright and a comment
.TH cp 1 2023-01-01 "Linux man-pages"
.SH NAME
cp \- copy files and directories
.SH SYNOPSIS
.B cp
[\fIOPTION\fR]... \fISOURCE\fP \fIDEST\fP
.SH DESCRIPTION
.PP
Copy \fBSOURCE\fR to \fIDEST\fR, or multiple \(aqSOURCE\(aq(s) to
.IR DIRECTORY .
.SS Options
.TP
.B \-r
copy directories recursively
"""


def test_manpage_reader_splits_name_from_page():
    names, description, text = parse_manpage(PAGE)
    assert names == "cp" and description == "copy files and directories"
    assert "copy files and directories" not in text and "NAME" not in text  # the query is not in its document
    assert "Copy SOURCE to DEST, or multiple 'SOURCE'(s) to" in text and "DIRECTORY ." in text
    assert "-r" in text and "Options" in text and "Copyright" not in text and "\\f" not in text


TOPICS = ["kernel memory page allocate", "network socket packet address", "file directory path rename",
          "signal process handler interrupt", "time clock timer seconds", "user group password login",
          "terminal screen cursor colour", "thread mutex lock wait"]


def write_folder(root, docs_per_topic=6, seed=0):
    """Documents about 8 topics; each query names two of its document's topic words and its own word."""
    rng = np.random.default_rng(seed)
    (root / "docs" / "sub").mkdir(parents=True)
    queries, qrels = [], []
    filler = "the a of and to in is for with on this that it".split()
    for t, topic in enumerate(TOPICS):
        words = topic.split()
        for k in range(docs_per_topic):
            name = f"t{t}d{k}"
            own = f"word{t}x{k}"
            body = " ".join(rng.choice(words + filler + [own] * 2, size=30))
            if k % 3 == 0:
                (root / "docs" / "sub" / f"{name}.html").write_text(
                    f"<html><head><style>p {{}}</style></head><body><h1>{name}</h1><p>{body}</p></body></html>")
            else:
                (root / "docs" / f"{name}.md").write_text(f"# {name}\n\n{body}\n")
            doc_id = f"sub/{name}" if k % 3 == 0 else name
            query = " ".join([*rng.choice(words, 2, replace=False), own])
            queries.append(f"q{t}_{k}\t{query}")
            qrels.append(f"q{t}_{k} 0 {doc_id} 1")
    (root / "queries.tsv").write_text("\n".join(queries) + "\n")
    (root / "qrels.txt").write_text("\n".join(qrels) + "\n")
    return root


def test_folder_loader_reads_html_markdown_queries_and_qrels(tmp_path):
    corpus = load_folder(write_folder(tmp_path))
    assert len(corpus.doc_ids) == 48 and "sub/t0d0" in corpus.doc_ids and "t0d1" in corpus.doc_ids
    html_doc = corpus.texts[corpus.doc_ids.index("sub/t0d0")]
    assert "<p>" not in html_doc and "p {}" not in html_doc and "t0d0" in html_doc
    assert sorted(corpus.split) == sorted(["test"] * 7 + ["valid"] * 7 + ["train"] * 34)
    q = corpus.query_ids.index("q0_1")
    assert corpus.relevant[q] == [corpus.doc_ids.index("t0d1")]


@pytest.mark.parametrize("line, why", [
    ("q1 0 d1", "line 2: expected 4 columns"),
    ("q1 0 d1 high", "line 2: relevance 'high' is not a whole number"),
    ("q9 0 d1 1", "line 2: query 'q9' is not in queries.tsv"),
    ("q1 0 nowhere 1", "line 2: document 'nowhere' is not in the corpus"),
])
def test_qrels_reader_names_the_bad_line(tmp_path, line, why):
    path = tmp_path / "qrels.txt"
    path.write_text(f"q1 0 d2 1\n{line}\n")
    with pytest.raises(ZooError) as err:
        read_qrels(path, {"q1": "a query"}, {"d1": 0, "d2": 1})
    assert why in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_queries_reader_names_the_bad_line(tmp_path):
    path = tmp_path / "queries.tsv"
    path.write_text("q1\tcopy files\nq2 no tab here\n")
    with pytest.raises(ZooError, match=r"queries.tsv line 2: expected 'qid<TAB>query text'"):
        read_queries(path)


def test_bm25_buffers_give_bm25s_scores():
    import bm25s

    texts = ["copy files and directories", "list directory contents", "open and possibly create a file",
             "remove files or directories", "files files everywhere but not a drop"]
    vocab = Vocabulary.build(texts)
    index = bm25_index(vocab, texts)
    query = vocab.encode("remove directory files", 10)[0][None]
    ours = bm25_scores(index["bm25_indptr"], index["bm25_docs"], index["bm25_weights"], query, len(texts))[0]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", token_pattern=r"[a-z0-9_]+", show_progress=False),
                    show_progress=False)
    docs, scores = retriever.retrieve(bm25s.tokenize(["remove directory files"], stopwords="en",
                                                     token_pattern=r"[a-z0-9_]+", show_progress=False),
                                      k=len(texts), show_progress=False)
    theirs = torch.zeros(len(texts))
    theirs[torch.from_numpy(docs[0].astype(np.int64))] = torch.from_numpy(scores[0].astype(np.float32))
    assert torch.allclose(ours, theirs, atol=1e-5) and ours.max() > 0


def test_dual_encoder_learns_and_searches(tmp_path):
    from zoo.runs import train
    import zoo
    from zoo_recsys.dense import DocSearchTask, search

    data = write_folder(tmp_path / "corpus")
    out = train("recsys/doc-search", data=str(data), sets=TINY, out=str(tmp_path / "run"), callbacks=[])
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    summary = json.loads((out / "summary.json").read_text())
    assert rows[-1]["train_loss"] < 0.7 * rows[0]["train_loss"]
    chance = sum(1 / r for r in range(1, 11)) / 48  # MRR@10 of a random order of the 48 documents
    assert summary["test"]["mrr@10"] > chance + 0.2, summary["test"]  # the dense encoder alone
    config = json.loads((out / "config.json").read_text())
    net = zoo.load(str(out), device="cpu").module
    task = DocSearchTask(None, config["info"])
    [found] = search(net, task, ["thread mutex word7x4"], config["info"])
    assert len(found) == 10 and found["1"].startswith("t7d4 [")
    with pytest.raises(ZooError, match="at least one word"):
        search(net, task, ["?!"], config["info"])
    from zoo.tasks import Task

    if not hasattr(Task, "records"):  # the `zoo predict` CLI needs a core with the collate hook
        return
    from zoo.testing import run_zoo

    result = run_zoo("predict", str(out), "thread mutex word7x4")
    assert result.code == 0, result.err
    assert "1=t7d4 [" in result.out
