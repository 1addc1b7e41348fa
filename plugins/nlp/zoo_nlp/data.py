"""Text datasets as token ids: IU X-ray reports (classify, summarize), WordNet glosses, a user's labelled text.

Items are (ids, label) for classifiers and (source ids, target ids) for summarization. Batches are
padded to their longest member only (collate functions below), never to a global maximum.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import Dataset

from zoo import ZooError
from zoo.data import DataBundle, class_counts, split_indices, stratified_split
from zoo.paths import cache_dir

from . import corpora, questions, retrieval
from .tokenization import PAD, SEP, encode, from_info, published_tokenizer, train_wordpiece

IGNORE = -100  # target positions the loss skips (padding)
REPORT_FRACTIONS, GLOSS_FRACTIONS, SUMMARY_FRACTIONS = (0.7, 0.1, 0.2), (0.8, 0.1, 0.1), (0.8, 0.1, 0.1)


class TokenSequences(Dataset):
    """Token-id lists with one target each: an integer class, or another token-id list (seq2seq)."""

    def __init__(self, ids: Sequence[Sequence[int]], targets: Sequence[Any]):
        self.ids, self.targets = list(ids), list(targets)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int):
        target = self.targets[i]
        y = torch.tensor(target, dtype=torch.long)
        return torch.tensor(self.ids[i], dtype=torch.long), y


def collate_classify(batch):
    """Pad ids with 0 ([PAD]) to the longest text of this batch."""
    xs, ys = zip(*batch)
    return pad_sequence(xs, batch_first=True, padding_value=0), torch.stack(ys)


def collate_seq2seq(batch):
    """Sources padded with [PAD]; targets padded with -100 so the loss ignores them. Teacher forcing needs
    the targets inside x as well, since a task's forward sees only x."""
    xs, ys = zip(*batch)
    labels = pad_sequence(ys, batch_first=True, padding_value=IGNORE)
    return {"input_ids": pad_sequence(xs, batch_first=True, padding_value=0), "labels": labels}, labels


# -- shared plumbing -------------------------------------------------------------------------
def _subsample(n: int, limit: int, labels: Sequence[int] | None = None) -> list[int]:
    """A fixed random subset of about `limit` items for quick experiments (all of them when limit is 0).

    With labels, every class keeps its share but at least 3 items, so that each split still sees it.
    """
    if not 0 < limit < n:
        return list(range(n))
    order = split_indices(n, [1.0], seed=0)[0]
    if labels is None:
        return sorted(order[:limit])
    quota: dict[int, int] = {}
    for y in labels:
        quota[y] = quota.get(y, 0) + 1
    quota = {y: max(3, round(count * limit / n)) for y, count in quota.items()}
    keep = []
    for i in order:
        if quota[labels[i]] > 0:
            quota[labels[i]] -= 1
            keep.append(i)
    return sorted(keep)


def _classifier_bundle(name: str, texts: list[str], labels: list[int], classes: list[str], vocab_size: int,
                       max_length: int, fractions: Sequence[float] = REPORT_FRACTIONS,
                       published: str = "") -> DataBundle:
    """Stratified fixed split (the test set is the same for every seed), tokenizer fitted to train only,
    or the published vocabulary of a pretrained encoder (data.tokenizer=minilm)."""
    counts = [labels.count(c) for c in range(len(classes))]
    if min(counts) < 3:
        rare = classes[counts.index(min(counts))]
        raise ZooError(f"{name}: class {rare!r} has {min(counts)} example(s); every class needs at least 3 "
                       "(one each for train, valid and test)")
    train, valid, test = classifier_splits(labels, fractions)
    tokenizer = published_tokenizer(published) if published else train_wordpiece([texts[i] for i in train], vocab_size)
    ids = encode(tokenizer, texts, max_length, what=f"{name} texts")
    split = lambda idx: TokenSequences([ids[i] for i in idx], [labels[i] for i in idx])  # noqa: E731
    info = {"dataset": name, "classes": classes, "num_classes": len(classes), "max_length": max_length,
            "class_counts": class_counts(labels, train, len(classes)),
            "tokenizer": tokenizer.to_str(), "pad_id": tokenizer.token_to_id(PAD)}
    return DataBundle(train=split(train), valid=split(valid), test=split(test), collate=collate_classify,
                      model_args={"num_classes": len(classes), "vocab_size": tokenizer.get_vocab_size(),
                                  "pad_id": info["pad_id"], "max_length": max_length},
                      info=info)


def _no_data(name: str, data: str | None, instead: str) -> None:
    if data is not None:
        raise ZooError(f"{name} has no --data; use {instead} for your own text")


# -- raw text and fixed splits (shared with the benchmark's classical baselines) ------------------
def _text_reports(limit: int = 0) -> list[corpora.Report]:
    """The IU reports with text (28 hold none), a fixed class-stratified subset when limit > 0."""
    reports = [r for r in corpora.iu_reports() if r.findings or r.impression]
    return [reports[i] for i in _subsample(len(reports), limit, [int(not r.normal) for r in reports])]


def report_texts(limit: int = 0) -> tuple[list[str], list[int]]:
    """Findings + impression of each IU report with text, 0 = normal, 1 = abnormal."""
    reports = _text_reports(limit)
    return [r.text for r in reports], [int(not r.normal) for r in reports]


def gloss_texts(limit: int = 0) -> tuple[list[str], list[int]]:
    texts, labels = corpora.wordnet_glosses()
    keep = _subsample(len(texts), limit, labels)
    return [texts[i] for i in keep], [labels[i] for i in keep]


def summary_pairs(limit: int = 0) -> tuple[list[str], list[str], list[list[int]]]:
    """Findings, impressions, and the fixed train/valid/test indices."""
    reports = [r for r in corpora.iu_reports() if r.findings and r.impression]
    reports = [reports[i] for i in _subsample(len(reports), limit)]
    return ([r.findings for r in reports], [r.impression for r in reports],
            split_indices(len(reports), list(SUMMARY_FRACTIONS), seed=0))


def classifier_splits(labels: Sequence[int], fractions: Sequence[float]) -> list[list[int]]:
    """Stratified and fixed (seed 0), so the test set is the same for every run and every baseline."""
    return stratified_split(labels, list(fractions), seed=0)


# -- dataset factories -------------------------------------------------------------------------
def iu_reports(data: str | None = None, seed: int = 0, vocab_size: int = 6000, max_length: int = 256,
               limit: int = 0, tokenizer: str = "") -> DataBundle:
    """IU chest X-ray reports (findings + impression) labelled normal / abnormal by their MeSH tags."""
    _no_data("nlp/iu-xray-reports", data, "nlp/text-folder")
    texts, labels = report_texts(limit)
    return _classifier_bundle("nlp/iu-xray-reports", texts, labels, ["normal", "abnormal"], vocab_size, max_length,
                              REPORT_FRACTIONS, tokenizer)


def iu_reports_mlm(data: str | None = None, seed: int = 0, vocab_size: int = 6000, max_length: int = 256,
                   limit: int = 0, mask_rate: float = 0.15) -> DataBundle:
    """The IU reports' training texts for masked-language-model pretraining: the same split and tokenizer as
    nlp/iu-xray-reports (so nlp/report-classify can start from the weights with init_from), labels unused.

    Training batches are masked afresh each time (DataBundle.augment moves the targets with the inputs: a
    masked token's label is the token, the others' is ignored); valid and test are masked once, seeded.
    """
    bundle = iu_reports(data, seed, vocab_size, max_length, limit)
    masking = Masking(mask_rate, int(bundle.model_args["vocab_size"]))
    texts = lambda split: [split[i][0] for i in range(len(split))]  # noqa: E731

    def fixed(split, offset: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        g = torch.Generator().manual_seed(seed + offset)
        return [masking.one(ids, g) for ids in texts(split)]

    bundle.train = TokenSequences([t.tolist() for t in texts(bundle.train)], [t.tolist() for t in texts(bundle.train)])
    bundle.valid, bundle.test = fixed(bundle.valid, 1), fixed(bundle.test, 2)
    bundle.collate, bundle.augment = collate_mlm, masking
    bundle.info = {**bundle.info, "mask_rate": mask_rate, "mask_id": MASK_ID,
                   "vocab_size": bundle.model_args["vocab_size"]}
    bundle.model_args = {k: v for k, v in bundle.model_args.items() if k != "num_classes"}
    return bundle


MASK_ID = 2  # [CLS]: never in these inputs (no special tokens are added), so it serves as [MASK]


class Masking:
    """BERT's masking: `rate` of the real tokens are predicted; of those 80% become [MASK], 10% a random
    token, 10% stay. Called on a training batch as augment(x, y); `one` masks a single text with a generator."""

    def __init__(self, rate: float, vocab_size: int):
        if not 0 < rate < 1:
            raise ZooError(f"--set data.mask_rate: expected a share between 0 and 1, got {rate}")
        self.rate, self.vocab_size = rate, vocab_size

    def __call__(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None):
        real = x >= len(SPECIAL_IDS)  # not padding or a special token
        u = torch.rand(x.shape, generator=generator, device="cpu").to(x.device)
        chosen = real & (u < self.rate)
        swap = torch.randint(len(SPECIAL_IDS), self.vocab_size, x.shape, generator=generator, device="cpu").to(x.device)
        masked = torch.where(chosen & (u < self.rate * 0.8), torch.full_like(x, MASK_ID), x)
        masked = torch.where(chosen & (u >= self.rate * 0.8) & (u < self.rate * 0.9), swap, masked)
        return masked, torch.where(chosen, y, torch.full_like(y, IGNORE))

    def one(self, ids: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self(ids[None], ids[None], generator)
        return x[0], y[0]


SPECIAL_IDS = range(4)


def collate_mlm(batch):
    """Inputs padded with [PAD], targets with -100."""
    xs, ys = zip(*batch)
    return pad_sequence(xs, batch_first=True, padding_value=0), pad_sequence(ys, batch_first=True, padding_value=IGNORE)


def wordnet_glosses(data: str | None = None, seed: int = 0, vocab_size: int = 16000, max_length: int = 64,
                    limit: int = 0) -> DataBundle:
    """117,659 WordNet definitions, each labelled with its lexicographer category (45 classes)."""
    _no_data("nlp/wordnet-glosses", data, "nlp/text-folder")
    texts, labels = gloss_texts(limit)
    return _classifier_bundle("nlp/wordnet-glosses", texts, labels, corpora.LEXNAMES, vocab_size, max_length,
                              GLOSS_FRACTIONS)


def text_folder(data: str | None = None, seed: int = 0, text_column: str = "text", label_column: str = "label",
                vocab_size: int = 8000, max_length: int = 256, limit: int = 0, tokenizer: str = "") -> DataBundle:
    """A user's labelled text (CSV, JSONL, or DIR/<class>/*.txt); by default the IU reports exported as .txt."""
    root = Path(data) if data else corpora.export_reports_folder(cache_dir("nlp", "iu-reports-folder"))
    texts, names = corpora.read_labelled(root, text_column, label_column)
    classes = sorted(set(names))
    keep = _subsample(len(texts), limit, [classes.index(n) for n in names])
    texts, names = [texts[i] for i in keep], [names[i] for i in keep]
    index = {c: i for i, c in enumerate(classes)}
    return _classifier_bundle(str(root), texts, [index[n] for n in names], classes, vocab_size, max_length,
                              published=tokenizer)


def iu_summaries(data: str | None = None, seed: int = 0, vocab_size: int = 6000, max_source_length: int = 256,
                 max_target_length: int = 64, num_beams: int = 4, retrieve: int = 0, mbr: bool = False,
                 limit: int = 0, source_column: str = "source", summary_column: str = "summary") -> DataBundle:
    """3,419 findings -> impression pairs; a fixed 80/10/10 split; one tokenizer for both sides.

    With `retrieve` = k > 0, each source starts with the impressions of the k nearest training findings,
    each followed by [SEP], then the findings: the model learns when to copy one and when to edit or
    write its own. A training pair never retrieves itself (leave-one-out), so it cannot copy its answer.
    With `mbr`, the summary is the one among the beams and retrieved impressions that agrees most with
    the others (minimum Bayes risk by ROUGE-L) instead of the most likely beam.
    """
    if retrieve < 0:
        raise ZooError(f"--set data.retrieve={retrieve}: expected 0 (off) or a number of retrieved impressions")
    if data is not None:  # the user's own (source, summary) pairs
        sources, targets = corpora.read_pairs(Path(data), source_column, summary_column)
        keep = _subsample(len(sources), limit)
        sources, targets = [sources[i] for i in keep], [targets[i] for i in keep]
        if len(sources) < 10:
            raise ZooError(f"{data}: {len(sources)} pairs; at least 10 are needed for three splits")
        train, valid, test = split_indices(len(sources), list(SUMMARY_FRACTIONS), seed=0)
    else:
        sources, targets, (train, valid, test) = summary_pairs(limit)
    tokenizer = train_wordpiece([sources[i] for i in train] + [targets[i] for i in train], vocab_size)
    if retrieve:
        bank = [sources[i] for i in train]
        picked = dict(zip(train, retrieval.nearest(bank, bank, retrieve, leave_one_out=True)))
        rest = valid + test
        picked.update(zip(rest, retrieval.nearest(bank, [sources[i] for i in rest], retrieve)))
        sources = [_with_context([targets[train[j]] for j in picked[i]], s) for i, s in enumerate(sources)]
    src = encode(tokenizer, sources, max_source_length, what="findings", setting="data.max_source_length")
    tgt = encode(tokenizer, targets, max_target_length, add_eos=True, what="impressions",
                 setting="data.max_target_length")
    split = lambda idx: TokenSequences([src[i] for i in idx], [tgt[i] for i in idx])  # noqa: E731
    pad, eos = tokenizer.token_to_id(PAD), tokenizer.token_to_id(SEP)
    info = {"dataset": "nlp/iu-xray-summaries", "tokenizer": tokenizer.to_str(), "pad_id": pad, "eos_id": eos,
            "max_length": max_source_length, "max_target_length": max_target_length, "num_beams": num_beams,
            "target_name": "impression" if data is None else "summary", "retrieve": retrieve, "mbr": mbr, "limit": limit}
    return DataBundle(train=split(train), valid=split(valid), test=split(test), collate=collate_seq2seq,
                      model_args={"vocab_size": tokenizer.get_vocab_size(), "pad_id": pad, "eos_id": eos},
                      info=info)


def _with_context(impressions: list[str], findings: str) -> str:
    """Retrieved impressions first, so that truncating a long source cuts findings, not the context."""
    return "".join(f"{text} {SEP} " for text in impressions) + findings


@lru_cache(maxsize=2)
def _summary_bank(limit: int) -> tuple[list[str], list[str]]:
    sources, targets, (train, _, _) = summary_pairs(limit)
    return [sources[i] for i in train], [targets[i] for i in train]


def question_splits(limit: int = 0, train_negatives: int = 0) -> list[list[tuple[str, str, str, str]]]:
    """(context, question, answer, question type) of the IU reports' questions for train, valid and test.

    Reports, not questions, are split, exactly as nlp/iu-xray-reports splits them: the test reports are the
    classifier's test reports, and no report has questions on both sides. Each report asks "no" of as many
    absent findings as it has present ones; train_negatives=k asks k of them in training instead (10: every
    finding), so that the model meets "no effusion" on every report that says it. Valid and test never change.
    """
    reports = _text_reports(limit)
    parts = classifier_splits([int(not r.normal) for r in reports], REPORT_FRACTIONS)
    return [[(reports[i].text, q.question, q.answer, q.kind) for i in idx
             for q in questions.report_questions(reports[i].id, reports[i].tags,
                                                 negatives=train_negatives if split == 0 and train_negatives else None)]
            for split, idx in enumerate(parts)]


# -- `zoo predict` ---------------------------------------------------------------------------
def input_text(text: str) -> str:
    """A `zoo predict` argument as text: the contents of the UTF-8 text file it names (a file that is not text
    is an error naming it, never taken as the text itself), or itself."""
    path = Path(text)
    if len(text) < 4096 and "\n" not in text and path.is_file():
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ZooError(f"{path}: cannot read it ({exc.strerror or exc})") from None
        text = corpora._decode(raw, path)
        if not text.strip():
            raise ZooError(f"{path}: empty file (no text)")
        return text
    if not text.strip():
        raise ZooError("empty text")
    return text


def read_text(text: str, info: dict[str, Any]) -> torch.Tensor:
    """One input (text, or a path to a UTF-8 .txt file) as ids padded to the run's max_length.

    Padded to a fixed length because `zoo predict` stacks inputs without the dataset's collate function.
    """
    text = input_text(text)
    if info.get("retrieve"):  # a summarizer trained with retrieved context: retrieve from the same bank
        bank, impressions = _summary_bank(int(info.get("limit", 0)))
        [near] = retrieval.nearest(bank, [text], int(info["retrieve"]))
        text = _with_context([impressions[j] for j in near], text)
    return _padded_ids(text, info)


def _padded_ids(text: str, info: dict[str, Any]) -> torch.Tensor:
    """Ids of one text padded to the run's max_length: `zoo predict` stacks inputs without a collate function."""
    max_length = int(info["max_length"])
    ids = encode(from_info(info), [text], max_length, what="inputs")[0]
    return torch.tensor(ids + [int(info.get("pad_id", 0))] * (max_length - len(ids)), dtype=torch.long)
