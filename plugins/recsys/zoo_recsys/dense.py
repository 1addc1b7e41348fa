"""Document search (recsys/doc-search): a dual encoder from scratch, BM25 and their hybrid, MRR@10 and Recall@10.

The encoder reads a text as word embeddings plus the mean of its words' hashed character-trigram embeddings
(DSSM's word hashing, so unseen words still say something), pools the words with learned attention weights and
projects the result to a unit vector (the same encoder for queries and documents); a query's score for a document
is their cosine / temperature. Training is contrastive with in-batch negatives (each query against the other
queries' documents; a document that appears twice in a batch is not its own negative). The training pairs are the
training split's (query, relevant document) pairs plus `data.ict` pseudo-queries per document: spans of 4-12 words
cut from the document (the inverse cloze task, Lee et al. 2019), from every document of the corpus, since the corpus
is what is searched; the held-out queries are never seen.

BM25 (bm25s) weights live in the model as buffers, so a run directory alone answers `zoo predict RUN "query"`.
The hybrid: each query's dense and BM25 scores over the corpus are standardised (z-scores), then mixed as
w * dense + (1 - w) * BM25 with w = data.hybrid_weight (0.5).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from zoo import ZooError
from zoo.data import DataBundle
from zoo.tasks import Task

from .docsearch import (BUCKETS, NGRAMS, Corpus, Vocabulary, bm25_index, bm25_scores, describe, load_folder,
                        load_manpages, words)

TOP = 10
QUERY_WORDS = 32


# -- data ------------------------------------------------------------------------------------------------------------
class Pairs(Dataset):
    """(query tokens, document index) pairs; `queries`/`relevant` (of this split's judged queries) for ranking."""

    def __init__(self, items: list[tuple[torch.Tensor, torch.Tensor, int]], queries=None, relevant=None):
        self.items, self.queries, self.relevant = items, queries or [], relevant or []

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        ids, grams, doc = self.items[i]
        return {"words": ids, "ngrams": grams}, doc


def pad_texts(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    width = max(int(x["words"].shape[0]) for x in items)
    ids = torch.zeros(len(items), width, dtype=torch.long)
    grams = torch.zeros(len(items), width, NGRAMS, dtype=torch.long)
    for k, x in enumerate(items):
        n = x["words"].shape[0]
        ids[k, :n], grams[k, :n] = x["words"], x["ngrams"]
    return {"words": ids, "ngrams": grams}


def collate_pairs(batch):
    xs, docs = zip(*batch)
    x = pad_texts(list(xs))
    x["docs"] = torch.tensor(docs)
    return x, x["docs"]


def ict_spans(corpus: Corpus, per_doc: int, rng: np.random.Generator) -> list[tuple[str, int]]:
    """Pseudo-queries cut from each document: the first sentence after DESCRIPTION (man pages open it with what
    the page does), then `per_doc` random spans of 4-12 words."""
    out = []
    for d, text in enumerate(corpus.texts):
        tokens = words(text)
        at = text.find("DESCRIPTION")
        if at >= 0:
            lead = words(text[at + len("DESCRIPTION"):].split(". ")[0])[:20]
            if len(lead) >= 3:
                out.append((" ".join(lead), d))
        for _ in range(per_doc if len(tokens) >= 8 else 0):
            n = int(rng.integers(4, 13))
            start = int(rng.integers(0, max(1, len(tokens) - n)))
            out.append((" ".join(tokens[start:start + n]), d))
    return out


def doc_search(data: str | None = None, seed: int = 0, test_sections: str = "2", valid_sections: str = "7",
               ict: int = 2, doc_words: int = 256, hybrid_weight: float = 0.5, train_part: str = "") -> DataBundle:
    """The manual pages (or your folder: docs/, queries.tsv, qrels.txt) as contrastive pairs and ranking splits.
    train_part "k/n" keeps the training queries whose place in the split is k mod n (for cross-fitting a second
    stage, recsys/doc-search-rerank); the pseudo-queries are kept whole."""
    corpus = load_folder(Path(data)) if data else load_manpages(test_sections, valid_sections)
    if not 0 <= hybrid_weight <= 1:
        raise ZooError(f"--set data.hybrid_weight={hybrid_weight}: expected a number in [0, 1]")
    vocab = Vocabulary.build(corpus.texts)
    encode = lambda text: vocab.encode(text, QUERY_WORDS)  # noqa: E731
    splits: dict[str, Pairs] = {}
    part, parts = parse_part(train_part)
    for split in ("train", "valid", "test"):
        rows = [i for i, s in enumerate(corpus.split) if s == split]
        if split == "train":
            rows = [i for j, i in enumerate(rows) if j % parts == part]
        items = []
        for i in rows:
            ids, grams = encode(corpus.queries[i])
            items += [(ids, grams, d) for d in corpus.relevant[i]]
        splits[split] = Pairs(items, [encode(corpus.queries[i]) for i in rows], [corpus.relevant[i] for i in rows])
    if not splits["train"].items or not splits["valid"].items:
        raise ZooError(f"{corpus.source}: no training or validation queries")
    rng = np.random.default_rng(0)  # the same pseudo-queries in every run
    splits["train"].items += [(*encode(text), d) for text, d in ict_spans(corpus, ict, rng)]
    doc_tokens = torch.zeros(len(corpus.texts), doc_words, dtype=torch.int32)
    for d, text in enumerate(corpus.texts):
        ids = torch.tensor([vocab.index.get(w, 1) for w in words(text)[:doc_words]], dtype=torch.int32)
        doc_tokens[d, :len(ids)] = ids
    bundle = DataBundle(
        train=splits["train"], valid=splits["valid"], test=splits["test"] if splits["test"].items else None,
        collate=collate_pairs,
        model_args={"vocab_size": len(vocab.words), "num_docs": len(corpus.texts), "doc_words": doc_words},
        info={"dataset": "recsys/doc-search", "source": corpus.source, "queries": describe(corpus),
              "pairs": {"train": len(splits["train"]), "ict": len(splits["train"]) - sum(
                  len(r) for r in splits["train"].relevant)},
              "documents": len(corpus.texts), "hybrid_weight": hybrid_weight,
              "doc_ids": corpus.doc_ids, "titles": corpus.titles, "vocab": vocab.words})
    bundle.attachments = {"doc_tokens": doc_tokens, "word_ngrams": vocab.ngram_table(),  # type: ignore[attr-defined]
                          "word_init": lsa_words(vocab, corpus.texts), **bm25_index(vocab, corpus.texts)}
    return bundle


def parse_part(text: str) -> tuple[int, int]:
    if not text:
        return 0, 1
    k, sep, n = text.partition("/")
    if not (sep and k.isdigit() and n.isdigit() and 0 <= int(k) < int(n)):
        raise ZooError(f"--set data.train_part={text}: expected k/n with 0 <= k < n, e.g. 0/2")
    return int(k), int(n)


def lsa_words(vocab: Vocabulary, texts: list[str], dim: int = 128) -> torch.Tensor:
    """Word vectors from the corpus alone (latent semantic analysis: a truncated SVD of the TF-IDF document-word
    matrix, scikit-learn): the encoder's words start where words used in the same pages lie close, which is what
    lets it match a query to a page in words the training queries never used. Unit-free: scaled to std 0.1."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer(vocabulary={w: i for i, w in enumerate(vocab.words)}, token_pattern=r"[a-z0-9_]+",
                            sublinear_tf=True, dtype=np.float32).fit_transform(texts)
    k = max(1, min(dim, min(tfidf.shape) - 1))
    vectors = TruncatedSVD(k, random_state=0).fit(tfidf).components_.T  # (V, k)
    out = np.zeros((len(vocab.words), dim), dtype=np.float32)
    out[:, :k] = vectors
    out /= max(float(out[2:].std()), 1e-8) / 0.1
    out[:2] = 0
    return torch.from_numpy(out)


# -- the model -------------------------------------------------------------------------------------------------------
class DualEncoder(nn.Module):
    def __init__(self, vocab_size: int, num_docs: int, doc_words: int = 256, dim: int = 128,
                 temperature: float = 0.05, dropout: float = 0.1):
        super().__init__()
        self.num_docs, self.temperature = num_docs, temperature
        self.words = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.grams = nn.EmbeddingBag(BUCKETS, dim, mode="mean", padding_idx=0)
        nn.init.normal_(self.words.weight, std=0.1)
        nn.init.normal_(self.grams.weight, std=0.1)
        self.attend = nn.Linear(dim, 1)
        self.mix = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim), nn.GELU(), nn.Dropout(dropout))
        self.out = nn.Linear(dim, dim)  # one projection for queries and documents (siamese): on little data, a
        # query and a document that share words start out close
        self.register_buffer("doc_tokens", torch.zeros(num_docs, doc_words, dtype=torch.int32))
        self.register_buffer("word_ngrams", torch.zeros(vocab_size, NGRAMS, dtype=torch.int32))
        for name in ("bm25_indptr", "bm25_docs"):
            self.register_buffer(name, torch.zeros(1 if name == "bm25_docs" else vocab_size + 1, dtype=torch.long))
        self.register_buffer("bm25_weights", torch.zeros(1))
        self.register_load_state_dict_pre_hook(self._resize)

    def _resize(self, module, state_dict, prefix, *args) -> None:
        for name in ("bm25_docs", "bm25_weights"):  # sizes depend on the corpus' postings
            if prefix + name in state_dict:
                setattr(self, name, torch.empty_like(state_dict[prefix + name], device=getattr(self, name).device))

    def attach(self, word_init: torch.Tensor | None = None, **tensors: torch.Tensor) -> None:
        """The corpus' buffers (document tokens, trigrams, BM25 postings) and the LSA start of the word vectors."""
        if word_init is not None:
            with torch.no_grad():
                width = min(word_init.shape[1], self.words.embedding_dim)
                self.words.weight[:, :width] = word_init[:, :width].to(self.words.weight)
        for name, value in tensors.items():
            setattr(self, name, value.to(getattr(self, name).device))

    def encode(self, ids: torch.Tensor, grams: torch.Tensor) -> torch.Tensor:
        """(B, L) word ids and (B, L, G) trigram ids -> (B, dim) unit vectors."""
        b, length = ids.shape
        tokens = self.words(ids) + self.grams(grams.reshape(b * length, -1)).view(b, length, -1)
        weights = self.attend(torch.tanh(tokens)).squeeze(-1).masked_fill(ids == 0, -1e4)
        pooled = (torch.softmax(weights, -1).unsqueeze(-1) * tokens).sum(1)
        return F.normalize(self.out(pooled + self.mix(pooled)), dim=-1)

    def encode_docs(self, index: torch.Tensor) -> torch.Tensor:
        ids = self.doc_tokens[index].long()
        return self.encode(ids, self.word_ngrams[ids].long())

    def all_docs(self, chunk: int = 64) -> torch.Tensor:
        every = torch.arange(self.num_docs, device=self.doc_tokens.device)
        return torch.cat([self.encode_docs(every[i:i + chunk]) for i in range(0, self.num_docs, chunk)])

    def forward(self, words: torch.Tensor, ngrams: torch.Tensor, docs: torch.Tensor | None = None):
        """With docs (B,): the (B, B) logits of each query against the batch's documents (training). Without:
        {"dense": cosine (B, num_docs), "bm25": (B, num_docs)} against the whole corpus."""
        q = self.encode(words, ngrams)
        if docs is not None:
            return q @ self.encode_docs(docs).T / self.temperature
        return {"dense": q @ self.all_docs().T, "bm25": self.bm25(words)}

    def bm25(self, words: torch.Tensor) -> torch.Tensor:
        return bm25_scores(self.bm25_indptr, self.bm25_docs, self.bm25_weights, words, self.num_docs)


def dual_encoder(vocab_size: int, num_docs: int, **kwargs: Any) -> DualEncoder:
    return DualEncoder(vocab_size, num_docs, **kwargs)


# -- ranking ---------------------------------------------------------------------------------------------------------
def zscore(scores: torch.Tensor) -> torch.Tensor:
    return (scores - scores.mean(-1, keepdim=True)) / scores.std(-1, keepdim=True).clamp_min(1e-6)


def hybrid(dense: torch.Tensor, bm25: torch.Tensor, weight: float) -> torch.Tensor:
    return weight * zscore(dense.float()) + (1 - weight) * zscore(bm25.float())


def reciprocal_ranks(scores: torch.Tensor, relevant: list[list[int]], k: int = TOP) -> tuple[list[float], list[float]]:
    """Per query: 1/rank of the first relevant document in the top k (0 if none) and the share of its relevant
    documents in the top k. Ties count against the relevant document."""
    rr, recall = [], []
    for row, rel in zip(scores, relevant):
        mask = torch.zeros(len(row), dtype=torch.bool, device=row.device)
        mask[rel] = True
        first = int(((row >= row[mask].max()) & ~mask).sum()) + 1
        rr.append(1.0 / first if first <= k else 0.0)
        top = set(row.topk(min(k, len(row))).indices.tolist())
        recall.append(len(top & set(rel)) / len(rel))
    return rr, recall


@torch.no_grad()
def rank_split(model: DualEncoder, dataset: Pairs, weight: float, device) -> dict[str, dict[str, list[float]]]:
    """Per-query MRR@10 and Recall@10 terms of the dense model, BM25 and the hybrid on one split."""
    model.eval()
    docs = model.all_docs()
    out: dict[str, dict[str, list[float]]] = {s: {"rr": [], "recall": []} for s in ("dense", "bm25", "hybrid")}
    for start in range(0, len(dataset.queries), 64):
        batch = pad_texts([{"words": i, "ngrams": g} for i, g in dataset.queries[start:start + 64]])
        ids, grams = batch["words"].to(device), batch["ngrams"].to(device)
        dense = model.encode(ids, grams) @ docs.T
        bm25 = model.bm25(ids)
        relevant = dataset.relevant[start:start + 64]
        for name, scores in (("dense", dense), ("bm25", bm25), ("hybrid", hybrid(dense, bm25, weight))):
            rr, recall = reciprocal_ranks(scores, relevant)
            out[name]["rr"] += rr
            out[name]["recall"] += recall
    return out


class DocSearchTask(Task):
    """Contrastive training of the dual encoder; evaluation ranks the whole corpus for each query of the split."""

    name = "doc-search"
    monitor = "hybrid_mrr@10"
    directions = {f"{p}{m}@{TOP}": "max" for p in ("", "bm25_", "hybrid_") for m in ("mrr", "recall")}

    def forward(self, model, x: Any) -> Any:
        return model(**x)

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        same = target[:, None] == target[None, :]
        eye = torch.eye(len(target), dtype=torch.bool, device=target.device)
        logits = output.float().masked_fill(same & ~eye, -1e4)
        return F.cross_entropy(logits, torch.arange(len(target), device=target.device))

    def evaluate_model(self, model, dataset, split: str, budget: int, device) -> dict[str, float]:
        if not isinstance(dataset, Pairs) or not dataset.queries:
            return {}
        was_training = model.training
        per = rank_split(model, dataset, float(self.info.get("hybrid_weight", 0.5)), device)
        model.train(was_training)
        out = {}
        for name, prefix in (("dense", ""), ("bm25", "bm25_"), ("hybrid", "hybrid_")):
            out[f"{prefix}mrr@{TOP}"] = float(np.mean(per[name]["rr"]))
            out[f"{prefix}recall@{TOP}"] = float(np.mean(per[name]["recall"]))
        return out

    def check_batch(self, x: Any, y: Any, dataset: str) -> None:
        if not (isinstance(x, dict) and {"words", "ngrams"} <= set(x)):
            raise ZooError(f"{dataset}: a document-search dataset must yield ({{'words', 'ngrams'}}, document)")

    # -- `zoo predict RUN "how do I list open files"` ----------------------------------------------------------------
    def collate(self, items: list[Any]) -> Any:
        return pad_texts(items)

    def predict(self, output: Any) -> list[dict[str, Any]]:
        if not isinstance(output, dict):
            raise ZooError("document search needs a query as input: zoo predict RUN \"how do I list open files\"")
        scores = hybrid(output["dense"], output["bm25"], float(self.info.get("hybrid_weight", 0.5)))
        ids, titles = self.info["doc_ids"], self.info["titles"]
        out = []
        for row in scores.cpu():
            top = row.topk(min(TOP, len(row)))
            out.append({str(rank): f"{ids[d]} [{s:.2f}] {titles[d]}"
                        for rank, (s, d) in enumerate(zip(top.values.tolist(), top.indices.tolist()), 1)})
        return out


def read_query(text: str, info: dict[str, Any]) -> dict[str, torch.Tensor]:
    """A typed query -> its word and trigram ids under the run's vocabulary."""
    if not words(text):
        raise ZooError(f"{text!r}: a query needs at least one word")
    vocab = Vocabulary(info["vocab"])
    ids, grams = vocab.encode(text, QUERY_WORDS)
    return {"words": ids, "ngrams": grams}


def search(model: DualEncoder, task: DocSearchTask, queries: list[str], info: dict[str, Any]) -> list[dict]:
    """The prediction path without the CLI (reader -> collate -> forward -> predict)."""
    model.eval()
    with torch.no_grad():
        return task.predict(task.forward(model, task.collate([read_query(q, info) for q in queries])))


__all__ = ["DocSearchTask", "DualEncoder", "Pairs", "doc_search", "dual_encoder", "hybrid", "rank_split",
           "read_query", "reciprocal_ranks", "search"]
