"""Reranking document search (recsys/doc-search-rerank): the hybrid's top-k pages rescored by a trained reranker.

First stage: a recsys/doc-search run (the dual encoder, BM25 and their hybrid), given as data.first_stage=RUN or,
without it, trained by this recipe's data factory through the shared Trainer at data.first_stage_epochs. Its weights
are copied into the reranker as a frozen submodule, so the reranker's run directory alone answers `zoo predict RUN
"query"`.

Second stage, for the first stage's top data.candidates pages of a query: a late-interaction scorer in the manner of
K-NRM (Xiong et al. 2017) with ColBERT's MaxSim (Khattab & Zaharia 2020). Every word of the query and of the page is
read as the first stage's (frozen) word + trigram vector (with model.dim > 0, also projected and put in context by a
trained width-3 convolution: that overfits the 700 training queries); the cosine of every query word with every page
word gives, per query word, soft match counts in 10 Gaussian kernels, the count of exact matches of its word and its
best cosine (MaxSim), over the whole page and again over its first 32 words (where the page says what it is:
SYNOPSIS, the start of DESCRIPTION); the query words' features are pooled with learned weights (from the word's
vector and its inverse document frequency) and an MLP gives the interaction score. The page's score is that, plus a
trained weight times the first stage's z-scored BM25 score, plus a dense weight times its z-scored dense score. That
last weight is not trained: the first stage trained on the training queries, so its dense scores are better on them
than on new queries (MRR@10 0.63 against 0.44 on the valid split); the valid evaluation picks it from a grid
instead, and the checkpoint keeps it. Untrained, the reranker orders the candidates as the hybrid does.

The page's name is a field of its own (data.name_field): per query word, whether a word of the page's id (open(2) ->
open, 2; for your folder, the file's path) is that word, and its best cosine with them. The id is the file's name,
not the NAME section, which stays out of everything the models read.

Training is listwise: a softmax over one query's candidates (cross-entropy on its relevant pages), the negatives
being the first stage's own hard negatives. A relevant page the first stage missed replaces the last candidate
(data.insert_missed; without it such a list teaches nothing). Training queries: the training split's, plus
(data.leads) the first sentence after DESCRIPTION of every page, as the dual encoder's pseudo-queries are; the held-
out NAME lines are never read.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from zoo import ZooError
from zoo.config import Range
from zoo.data import DataBundle
from zoo.tasks import Task

from .dense import QUERY_WORDS, TOP, DualEncoder, pad_texts, zscore
from .docsearch import NGRAMS, Vocabulary, describe, load_folder, load_manpages, words

FIRST = "recsys/doc-search"
KERNELS = (0.9, 0.7, 0.5, 0.3, 0.1, -0.1, -0.3, -0.5, -0.7, -0.9)  # soft-match kernel centres (cosine)
SIGMA = 0.1
HEAD = 32  # the page's opening words (SYNOPSIS, the start of DESCRIPTION) get features of their own
NAME_WORDS = 4  # words of a page's name (its id: "open(2)" -> open, 2), a field of its own


# -- data ------------------------------------------------------------------------------------------------------------
class Lists(Dataset):
    """One item per query: its tokens, the first stage's candidates (K,), their (K, 2) z-scored dense and BM25
    scores, and (target) which candidates are relevant. `queries`/`relevant` serve the whole-split evaluation."""

    def __init__(self, items: list[tuple], queries=None, relevant=None):
        self.items, self.queries, self.relevant = items, queries or [], relevant or []

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        ids, grams, candidates, features, target = self.items[i]
        return {"words": ids, "ngrams": grams, "candidates": candidates, "features": features}, target


def collate_lists(batch):
    xs, targets = zip(*batch)
    x = pad_texts(list(xs))
    x["candidates"] = torch.stack([item["candidates"] for item in xs])
    x["features"] = torch.stack([item["features"] for item in xs])
    return x, torch.stack(targets)


def lead_queries(texts: list[str]) -> list[tuple[str, int]]:
    """Each page's first sentence after DESCRIPTION (up to 20 words), as the dual encoder's pseudo-queries."""
    out = []
    for d, text in enumerate(texts):
        at = text.find("DESCRIPTION")
        if at >= 0:
            lead = words(text[at + len("DESCRIPTION"):].split(". ")[0])[:20]
            if len(lead) >= 3:
                out.append((" ".join(lead), d))
    return out


def first_stage_run(path: str, data: str | None, epochs: int, steps: int, settings: dict[str, str]):
    """(DualEncoder in eval mode, its run's info): the run at `path`, or one trained now into a temporary folder."""
    import zoo
    from zoo.rundir import read_config
    from zoo.runs import train

    with tempfile.TemporaryDirectory() as tmp:
        if not path:
            sets = {"epochs": str(epochs), "grad_stats_every": "0", **settings}
            if steps:  # a quick first stage (the registry's one-step test): evaluated on a few queries only
                sets.update({"max_steps": str(steps), "eval_limit": "1", "task.eval_budget": "4"})
            path = str(train(FIRST, data=data, sets=sets, out=f"{tmp}/first-stage", callbacks=[]))
        try:
            saved = read_config(path)
        except ZooError as exc:
            raise ZooError(f"--set data.first_stage={path}: {exc}") from None
        if saved.get("recipe") != FIRST:
            raise ZooError(f"--set data.first_stage={path}: a {saved.get('recipe')} run; expected a {FIRST} run")
        net = zoo.load(path, device="cpu").module.eval()
    return net, saved["info"], dict(saved.get("model_args", {})), dict(saved["config"])


@torch.no_grad()
def shortlist(first: DualEncoder, ids: torch.Tensor, grams: torch.Tensor, weight: float, k: int,
                docs: torch.Tensor | None = None):
    """The hybrid's top k pages of each query: (B, k) indices, (B, k, 2) z-scored dense and BM25 scores, and the
    (B, N) z-scores themselves."""
    docs = first.all_docs() if docs is None else docs
    dense, bm25 = zscore(first.encode(ids, grams) @ docs.T), zscore(first.bm25(ids).float())
    top = (weight * dense + (1 - weight) * bm25).topk(min(k, dense.shape[1])).indices
    return top, torch.stack([dense.gather(1, top), bm25.gather(1, top)], -1), dense, bm25


def make_lists(first: DualEncoder, encoded: list[tuple[torch.Tensor, torch.Tensor]], relevant: list[list[int]],
               weight: float, k: int, insert: bool) -> list[tuple]:
    """Items of `Lists`; with `insert`, a relevant page outside the top k replaces the last candidate."""
    items = []
    docs = first.all_docs()
    for start in range(0, len(encoded), 64):
        part = encoded[start:start + 64]
        batch = pad_texts([{"words": i, "ngrams": g} for i, g in part])
        top, features, dense, bm25 = shortlist(first, batch["words"], batch["ngrams"], weight, k, docs)
        for row, ((ids, grams), rel) in enumerate(zip(part, relevant[start:start + 64])):
            cand, feat = top[row].clone(), features[row].clone()
            if insert and not set(rel) & set(cand.tolist()):
                d = rel[0]
                cand[-1] = d
                feat[-1] = torch.stack([dense[row, d], bm25[row, d]])
            target = torch.tensor([float(c in rel) for c in cand.tolist()])
            items.append((ids, grams, cand, feat, target))
    return items


def cross_fitted(first: DualEncoder, config: dict[str, Any], data: str | None, epochs: int, steps: int,
                 encoded: list, relevant: list, judged: int, weight: float, k: int, insert: bool) -> list[tuple]:
    """Training lists whose dense scores come from a first stage that did not train on their query: two more
    first stages (the given one's settings), each trained on half of the training queries, mine the other half.
    The pseudo-queries (which every first stage trained on) get the full first stage's candidates and a dense
    score of 0, so that they say nothing about its weight."""
    keep = ("epochs", "lr", "batch_size", "weight_decay", "schedule", "warmup", "seed", "threads")
    base = {key: str(v) for key, v in config.items() if key.startswith(("model.", "data.")) or key in keep}
    items = []
    for half in (0, 1):
        other, *_ = first_stage_run("", data, epochs, steps, {**base, "data.train_part": f"{1 - half}/2"})
        mine = [j for j in range(judged) if j % 2 == half]
        items += make_lists(other, [encoded[j] for j in mine], [relevant[j] for j in mine], weight, k, insert)
    for item in make_lists(first, encoded[judged:], relevant[judged:], weight, k, insert):
        item[3][:, 0] = 0
        items.append(item)
    return items


def doc_rerank(data: str | None = None, seed: int = 0, first_stage: str = "",
               first_stage_epochs: Annotated[int, Range(1)] = 4, first_stage_steps: Annotated[int, Range(0)] = 0,
               candidates: Annotated[int, Range(TOP)] = 24, doc_words: Annotated[int, Range(8)] = 128,
               leads: bool = True, insert_missed: bool = True, name_field: bool = True, cross_fit: bool = False, test_sections: str = "2",
               valid_sections: str = "7") -> DataBundle:
    """The manual pages (or your folder) as ranked candidate lists of a recsys/doc-search first stage."""
    corpus = load_folder(Path(data)) if data else load_manpages(test_sections, valid_sections)
    vocab = Vocabulary.build(corpus.texts)
    settings = {} if data else {"data.test_sections": test_sections, "data.valid_sections": valid_sections}
    first, info, first_args, first_config = first_stage_run(first_stage, data, first_stage_epochs, first_stage_steps,
                                                            settings)
    if info.get("doc_ids") != corpus.doc_ids or info.get("vocab") != vocab.words:
        raise ZooError(f"--set data.first_stage={first_stage}: that run searched another corpus than "
                       f"{corpus.source} (its pages or words differ)")
    weight = float(info.get("hybrid_weight", 0.5))
    encode = lambda text: vocab.encode(text, QUERY_WORDS)  # noqa: E731
    splits: dict[str, Lists] = {}
    for split in ("train", "valid", "test"):
        rows = [i for i, s in enumerate(corpus.split) if s == split]
        encoded, relevant = [encode(corpus.queries[i]) for i in rows], [corpus.relevant[i] for i in rows]
        queries, judged = list(encoded), list(relevant)
        if split == "train" and leads:
            extra = lead_queries(corpus.texts)
            encoded += [encode(text) for text, _ in extra]
            relevant += [[d] for _, d in extra]
        if split == "train" and cross_fit:
            splits[split] = Lists(cross_fitted(first, first_config, data, first_stage_epochs, first_stage_steps,
                                               encoded, relevant, len(queries), weight, candidates, insert_missed),
                                  queries, judged)
            continue
        splits[split] = Lists(make_lists(first, encoded, relevant, weight, candidates,
                                         split == "train" and insert_missed),
                              queries, judged)
    if not splits["train"].items or not splits["valid"].queries:
        raise ZooError(f"{corpus.source}: no training or validation queries")
    doc_tokens = torch.zeros(len(corpus.texts), doc_words, dtype=torch.int32)
    counts = torch.zeros(len(vocab.words))
    for d, text in enumerate(corpus.texts):
        ids = [vocab.index.get(w, 1) for w in words(text)]
        doc_tokens[d, :min(len(ids), doc_words)] = torch.tensor(ids[:doc_words], dtype=torch.int32)
        counts[sorted(set(ids))] += 1
    n = len(corpus.texts)
    idf = torch.log1p((n - counts + 0.5) / (counts + 0.5))  # BM25's inverse document frequency of every word
    first_hits = {s: float(np.mean([t.any().item() for *_, t in splits[s].items])) if splits[s].items else 0.0
                  for s in ("valid", "test")}
    bundle = DataBundle(
        train=splits["train"], valid=splits["valid"], test=splits["test"] if splits["test"].queries else None,
        collate=collate_lists,
        model_args={"vocab_size": len(vocab.words), "num_docs": n, "doc_words": doc_words,
                    "first_dim": int(first_args.get("dim", first.words.embedding_dim)),
                    "first_doc_words": int(first.doc_tokens.shape[1]), "hybrid_weight": weight,
                    "candidates": candidates, "dense_trained": cross_fit},
        info={"dataset": "recsys/doc-search-rerank", "source": corpus.source, "queries": describe(corpus),
              "lists": {"train": len(splits["train"]), "leads": len(splits["train"]) - len(splits["train"].queries)},
              "first_stage": first_stage or f"trained by this run ({first_stage_epochs} epochs)",
              "first_stage_recall": first_hits, "documents": n, "hybrid_weight": weight,
              "doc_ids": corpus.doc_ids, "titles": corpus.titles, "vocab": vocab.words})
    names = torch.zeros(n, NAME_WORDS, dtype=torch.long)
    name_grams = torch.zeros(n, NAME_WORDS, NGRAMS, dtype=torch.long)
    if name_field:
        for d, doc_id in enumerate(corpus.doc_ids):
            ids, grams = vocab.encode(doc_id, NAME_WORDS)
            names[d, :len(ids)], name_grams[d, :len(ids)] = ids, grams
    bundle.attachments = {"first_state": first.state_dict(), "doc_tokens": doc_tokens,  # type: ignore[attr-defined]
                          "idf": idf, "names": names, "name_grams": name_grams}
    return bundle


# -- the model -------------------------------------------------------------------------------------------------------
class Reranker(nn.Module):
    def __init__(self, vocab_size: int, num_docs: int, doc_words: int = 256, first_dim: int = 128,
                 first_doc_words: int = 256, hybrid_weight: float = 0.5, candidates: Annotated[int, Range(1)] = 24,
                 dim: Annotated[int, Range(0)] = 0, hidden: Annotated[int, Range(1)] = 32,
                 dropout: Annotated[float, Range(0, 1, high_open=True)] = 0.1, dense_trained: bool = False):
        super().__init__()
        self.dense_trained = dense_trained  # cross-fitted training lists: the dense score's weight is trained
        self.weight, self.candidates = hybrid_weight, candidates
        self.first = DualEncoder(vocab_size, num_docs, first_doc_words, first_dim)
        self.first.requires_grad_(False)
        # dim 0: the first stage's word vectors as they are (only the pooling and the head are trained)
        self.project = nn.Linear(first_dim, dim) if dim else nn.Identity()
        self.context = nn.Conv1d(dim, dim, 3, padding=1) if dim else None
        self.gate = nn.Linear((dim or first_dim) + 1, 1)
        self.head = nn.Sequential(nn.Linear(2 * (len(KERNELS) + 2) + 2, hidden), nn.GELU(), nn.Dropout(dropout),
                                  nn.Linear(hidden, 1))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)
        self.bm25 = nn.Parameter(torch.tensor(4.0 * (1 - hybrid_weight)))  # times the z-scored BM25 score
        # times the z-scored dense score: not trained (the first stage trained on the training queries, so its
        # dense scores are better there than on new queries) but picked on the valid split at each evaluation
        self.register_buffer("dense_weight", torch.tensor(0.0 if dense_trained else 4.0 * hybrid_weight))
        self.dense = nn.Parameter(torch.tensor(4.0 * hybrid_weight)) if dense_trained else None
        self.register_buffer("mu", torch.tensor(KERNELS))
        self.register_buffer("doc_tokens", torch.zeros(num_docs, doc_words, dtype=torch.int32))
        self.register_buffer("idf", torch.zeros(vocab_size))
        self.register_buffer("names", torch.zeros(num_docs, NAME_WORDS, dtype=torch.long))
        self.register_buffer("name_grams", torch.zeros(num_docs, NAME_WORDS, NGRAMS, dtype=torch.long))
        self._table: torch.Tensor | None = None  # the frozen word vectors of the vocabulary, made on first use
        self.register_load_state_dict_pre_hook(lambda *args: setattr(self, "_table", None))

    def train(self, mode: bool = True):
        super().train(mode)
        self.first.eval()  # frozen: no dropout in the first stage
        return self

    def attach(self, first_state: dict[str, torch.Tensor], **tensors: torch.Tensor) -> None:
        self.first.load_state_dict(first_state)
        for name, value in tensors.items():
            setattr(self, name, value.to(getattr(self, name).device))
        self._table = None

    def table(self) -> torch.Tensor:
        """(V, first_dim): every word's vector as the first stage reads it (word + mean of its trigram vectors)."""
        if self._table is None or self._table.device != self.idf.device:
            with torch.no_grad():
                first = self.first
                self._table = first.words.weight + torch.cat([
                    first.grams(first.word_ngrams[i:i + 8192].long()) for i in range(0, len(first.word_ngrams), 8192)])
        return self._table

    def tokens(self, vectors: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(N, L, first_dim) frozen vectors -> (N, L, dim) unit vectors in context (padding zero)."""
        x = self.project(vectors)
        if self.context is not None:
            x = x + self.context(x.transpose(1, 2)).transpose(1, 2)
        return F.normalize(x, dim=-1) * mask.unsqueeze(-1)

    def score(self, words: torch.Tensor, ngrams: torch.Tensor, candidates: torch.Tensor,
              features: torch.Tensor) -> torch.Tensor:
        """(B, Lq) query words, (B, Lq, G) trigrams, (B, K) candidate pages, (B, K, 2) first-stage z-scores
        -> (B, K) scores, without the dense term (what training fits)."""
        b, k = candidates.shape
        qmask = words > 0
        q = self.first.words(words) + self.first.grams(ngrams.reshape(-1, ngrams.shape[-1])).view(*words.shape, -1)
        q = self.tokens(q, qmask.float())  # (B, Lq, dim)
        doc_ids = self.doc_tokens[candidates].long()  # (B, K, Ld)
        dmask = (doc_ids > 0).float()
        d = self.tokens(self.table()[doc_ids.view(b * k, -1)], dmask.view(b * k, -1)).view(b, k, doc_ids.shape[-1], -1)
        sim = torch.einsum("bqe,bkle->bkql", q, d)  # (B, K, Lq, Ld)
        dm = dmask.unsqueeze(2)  # (B, K, 1, Ld)
        soft = torch.exp(-(sim.unsqueeze(-1) - self.mu) ** 2 / (2 * SIGMA ** 2)) * dm.unsqueeze(-1)
        exact = ((words[:, None, :, None] == doc_ids[:, :, None, :]) & (words[:, None, :, None] > 1)).float()
        best = sim.masked_fill(dm == 0, -1)
        per_word = torch.cat([torch.log1p(soft.sum(3)), torch.log1p(exact.sum(-1, keepdim=True)),  # (B, K, Lq, .)
                              best.amax(-1, keepdim=True),  # MaxSim
                              torch.log1p(soft[:, :, :, :HEAD].sum(3)),  # the same in the page's opening words
                              torch.log1p(exact[..., :HEAD].sum(-1, keepdim=True)),
                              best[..., :HEAD].amax(-1, keepdim=True), *self.name_match(words, q, candidates)], -1)
        gate = self.gate(torch.cat([q, self.idf[words].unsqueeze(-1)], -1)).squeeze(-1).masked_fill(~qmask, -1e4)
        pooled = (torch.softmax(gate, -1)[:, None, :, None] * per_word).sum(2)  # (B, K, features)
        out = self.head(pooled).squeeze(-1) + self.bm25 * features[..., 1].float()
        return out + self.dense * features[..., 0].float() if self.dense is not None else out

    def name_match(self, words: torch.Tensor, q: torch.Tensor, candidates: torch.Tensor) -> list[torch.Tensor]:
        """Per query word, whether a word of the page's name is the same word, and its best cosine with them:
        (B, K, Lq, 1) each."""
        b, k = candidates.shape
        ids, grams = self.names[candidates], self.name_grams[candidates]  # (B, K, N), (B, K, N, G)
        mask = (ids > 0) | (grams[..., 0] > 0)
        vectors = self.first.words(ids) + self.first.grams(grams.reshape(-1, grams.shape[-1])).view(*ids.shape, -1)
        n = F.normalize(self.project(vectors), dim=-1) * mask.unsqueeze(-1)
        sim = torch.einsum("bqe,bkne->bkqn", q, n).masked_fill(~mask[:, :, None, :], -1)
        same = ((words[:, None, :, None] == ids[:, :, None, :]) & (words[:, None, :, None] > 1)).any(-1)
        return [same.float().unsqueeze(-1), sim.amax(-1, keepdim=True) * mask.any(-1)[:, :, None, None]]

    def forward(self, words: torch.Tensor, ngrams: torch.Tensor, candidates: torch.Tensor | None = None,
                features: torch.Tensor | None = None):
        """With candidates: their (B, K) scores (training). Without: the first stage picks them from the corpus;
        {"candidates": (B, K) pages, "scores": (B, K) reranker scores, "hybrid": (B, K) first-stage scores}."""
        if candidates is not None:
            return self.score(words, ngrams, candidates, features)
        top, feats, _, _ = shortlist(self.first, words, ngrams, self.weight, self.candidates)
        hybrid = self.weight * feats[..., 0] + (1 - self.weight) * feats[..., 1]
        scores = self.score(words, ngrams, top, feats) + self.dense_weight * feats[..., 0]
        return {"candidates": top, "scores": scores, "hybrid": hybrid}


def reranker(vocab_size: int, num_docs: int, dim: Annotated[int, Range(0)] = 0, hidden: Annotated[int, Range(1)] = 32,
             dropout: Annotated[float, Range(0, 1, high_open=True)] = 0.1, **kwargs: Any) -> Reranker:
    """model.dim 0 reads the first stage's word vectors as they are (no projection, no convolution)."""
    return Reranker(vocab_size, num_docs, dim=dim, hidden=hidden, dropout=dropout, **kwargs)


def example():
    """A tiny reranker and one batch of two queries with 5 candidates each (the registry's forward test)."""
    torch.manual_seed(0)
    kwargs = {"vocab_size": 50, "num_docs": 12, "doc_words": 16, "first_dim": 16, "first_doc_words": 16,
              "candidates": 5, "dim": 8}
    model = Reranker(**kwargs)
    model.attach(model.first.state_dict(), doc_tokens=torch.randint(0, 50, (12, 16), dtype=torch.int32),
                 idf=torch.rand(50))
    with torch.no_grad():
        model.first.word_ngrams.copy_(torch.randint(0, 1000, model.first.word_ngrams.shape))
        model.head[-1].weight.normal_(std=0.1)  # the interaction head starts at zero; give the test a gradient path
    x = {"words": torch.randint(1, 50, (2, 4)), "ngrams": torch.randint(0, 1000, (2, 4, 8)),
         "candidates": torch.randint(0, 12, (2, 5)), "features": torch.randn(2, 5, 2)}
    return kwargs, x


# -- ranking ---------------------------------------------------------------------------------------------------------
def list_ranks(candidates: torch.Tensor, scores: torch.Tensor, relevant: list[list[int]],
               k: int = TOP) -> tuple[list[float], list[float]]:
    """Per query: 1/rank of its first relevant page in the top k of `scores` over its candidates (0 if none there)
    and the share of its relevant pages in that top k. Ties count against the relevant page."""
    rr, recall = [], []
    for cand, row, rel in zip(candidates.tolist(), scores, relevant):
        mask = torch.tensor([c in rel for c in cand], dtype=torch.bool)
        if not mask.any():
            rr.append(0.0)
            recall.append(0.0)
            continue
        first = int(((row >= row[mask].max()) & ~mask).sum()) + 1
        rr.append(1.0 / first if first <= k else 0.0)
        top = set(np.asarray(cand)[row.topk(min(k, len(row))).indices.numpy()].tolist())
        recall.append(len(top & set(rel)) / len(rel))
    return rr, recall


DENSE_WEIGHTS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0)  # the grid model.dense_weight is picked from


@torch.no_grad()
def rank_lists(model: Reranker, dataset: Lists, device, limit: int | None = None,
               dense_weights: tuple[float, ...] = ()) -> dict[Any, dict[str, list]]:
    """Per-query MRR@10 and Recall@10 terms of the first stage ("hybrid") and of the reranker ("reranked", at the
    model's dense weight; and at each of `dense_weights`, keyed by the weight) on one split."""
    model.eval()
    names = ("hybrid", "reranked", *dense_weights)
    out: dict[Any, dict[str, list[float]]] = {s: {"rr": [], "recall": []} for s in names}
    n = len(dataset.queries) if limit is None else min(limit, len(dataset.queries))
    docs = model.first.all_docs()
    for start in range(0, n, 32):
        batch = pad_texts([{"words": i, "ngrams": g} for i, g in dataset.queries[start:min(n, start + 32)]])
        ids, grams = batch["words"].to(device), batch["ngrams"].to(device)
        top, feats, _, _ = shortlist(model.first, ids, grams, model.weight, model.candidates, docs)
        own, dense = model.score(ids, grams, top, feats).cpu(), feats[..., 0].cpu()
        scores = {"hybrid": (model.weight * feats[..., 0] + (1 - model.weight) * feats[..., 1]).cpu(),
                  "reranked": own + float(model.dense_weight) * dense, **{w: own + w * dense for w in dense_weights}}
        relevant = dataset.relevant[start:min(n, start + 32)]
        for name in names:
            rr, recall = list_ranks(top.cpu(), scores[name], relevant)
            out[name]["rr"] += rr
            out[name]["recall"] += recall
    return out


class RerankTask(Task):
    """Listwise training over the first stage's candidates; evaluation reranks each query's top k of the corpus."""

    name = "doc-search-rerank"
    monitor = "mrr@10"
    directions = {f"{p}{m}@{TOP}": "max" for p in ("", "hybrid_") for m in ("mrr", "recall")}

    def forward(self, model, x: Any) -> Any:
        return model(**x)

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the softmax over each query's candidates on its relevant ones (lists without one
        count nothing)."""
        logp = torch.log_softmax(output.float(), -1)
        has = target.sum(-1) > 0
        picked = torch.logsumexp(logp.masked_fill(target <= 0, -1e4), -1)
        return -(picked * has).sum() / has.sum().clamp_min(1)

    def evaluate_model(self, model, dataset, split: str, budget: int, device) -> dict[str, float]:
        if not isinstance(dataset, Lists) or not dataset.queries:
            return {}
        was_training = model.training
        pick = split == "valid" and not model.dense_trained
        per = rank_lists(model, dataset, device, budget, DENSE_WEIGHTS if pick else ())
        if pick:  # the weight of the first stage's dense score: the best on the valid queries
            best = max(DENSE_WEIGHTS, key=lambda w: (np.mean(per[w]["rr"]), -abs(w - float(model.dense_weight))))
            model.dense_weight.fill_(best)
            per["reranked"] = per[best]
        model.train(was_training)
        out = {}
        for name, prefix in (("reranked", ""), ("hybrid", "hybrid_")):
            out[f"{prefix}mrr@{TOP}"] = float(np.mean(per[name]["rr"]))
            out[f"{prefix}recall@{TOP}"] = float(np.mean(per[name]["recall"]))
        return out

    def check_batch(self, x: Any, y: Any, dataset: str) -> None:
        if not (isinstance(x, dict) and {"words", "ngrams", "candidates", "features"} <= set(x)):
            raise ZooError(f"{dataset}: a reranking dataset must yield ({{'words', 'ngrams', 'candidates', "
                           "'features'}, relevance of each candidate)")

    # -- `zoo predict RUN "how do I list open files"` ----------------------------------------------------------------
    def collate(self, items: list[Any]) -> Any:
        return pad_texts(items)

    def predict(self, output: Any) -> list[dict[str, Any]]:
        if not isinstance(output, dict):
            raise ZooError("document search needs a query as input: zoo predict RUN \"how do I list open files\"")
        ids, titles = self.info["doc_ids"], self.info["titles"]
        out = []
        for cand, row in zip(output["candidates"].cpu().tolist(), output["scores"].float().cpu()):
            top = row.topk(min(TOP, len(row)))
            out.append({str(rank): f"{ids[cand[j]]} [{s:.2f}] {titles[cand[j]]}"
                        for rank, (s, j) in enumerate(zip(top.values.tolist(), top.indices.tolist()), 1)})
        return out


__all__ = ["Lists", "RerankTask", "Reranker", "doc_rerank", "rank_lists", "reranker"]
