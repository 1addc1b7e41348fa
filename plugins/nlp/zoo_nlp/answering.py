"""Question answering by reading: [CLS] question [SEP] report [SEP] into one encoder, two kinds of answer.

- a closed answer set, classified from [CLS]: yes, no, SQuAD 2.0's "no answer" (""), and the answers that are
  not a span of their report in training (the IU answers come from MeSH tags: 'bibasilar' is answered
  'bilateral base', 'mildly enlarged' 'mild'); its first class, SPAN, means "the answer is a span of the report";
- a span of the report, where the answer's text occurs in it (start and end logits over the report's tokens).
  Where it occurs several times (a side word, a lobe), every occurrence counts as right: the loss is the
  likelihood of all of them, so the model learns from data which one answers (Clark & Gardner 2018).

Token offsets map a span back to the report's own characters, so an answer keeps the report's spelling.
"""
from __future__ import annotations

import re
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import Dataset

from zoo import ZooError
from zoo.data import DataBundle, split_indices

from . import corpora, questions
from .data import IGNORE, SUMMARY_FRACTIONS, classifier_splits, question_splits, report_texts, REPORT_FRACTIONS
from .tokenization import CLS, PAD, SEP, TruncationWarning, from_info, train_wordpiece

SPAN = "<span>"  # answer class 0: read the answer out of the report
ALWAYS_CLASSES = ("yes", "no", "")  # answers that are a class even where the word occurs in the report
MAX_QUESTION = 48  # question tokens kept (a longer question is cut, with a warning)


# -- encoding ----------------------------------------------------------------------------------
def occurrences(context: str, answer: str) -> list[tuple[int, int]]:
    """(start, end) characters of each whole-word, case-insensitive occurrence of `answer` in `context`."""
    if not answer.strip():
        return []
    pattern = r"(?<!\w)" + re.escape(answer.strip()) + r"(?!\w)"
    return [m.span() for m in re.finditer(pattern, context, flags=re.IGNORECASE)]


def char_to_tokens(offsets: Sequence[tuple[int, int]], start: int, end: int) -> tuple[int, int] | None:
    """The first and last token (indices into `offsets`, the context's tokens) covering characters start:end;
    None when the span lies beyond the tokens kept (a cut context)."""
    first = next((i for i, (s, e) in enumerate(offsets) if e > start), None)
    last = next((i for i in range(len(offsets) - 1, -1, -1) if offsets[i][0] < end), None)
    if first is None or last is None or first > last or offsets[last][1] < end:
        return None
    return first, last


def span_text(context: str, offsets: Sequence[Sequence[int]], first: int, last: int) -> str:
    """The report's own characters from token `first` to token `last` (inclusive)."""
    return context[int(offsets[first][0]):int(offsets[last][1])]


class Encoder:
    """question + context -> ids, token types (question 1, context 0: the pretrained encoder read reports as
    type 0), question matches (1 for a report token that also occurs in the question: DrQA's exact-match
    feature, so a small encoder finds the finding asked about without learning to align it first), and each
    context token's character offsets (-1 for [CLS], question and [SEP])."""

    def __init__(self, tokenizer, max_length: int):
        self.tokenizer, self.max_length = tokenizer, max_length
        self.cls, self.sep = tokenizer.token_to_id(CLS), tokenizer.token_to_id(SEP)
        self.cut = 0

    def __call__(self, context: str, question: str) -> dict[str, Any]:
        q = self.tokenizer.encode(question, add_special_tokens=False).ids
        if len(q) > MAX_QUESTION:
            q, self.cut = q[:MAX_QUESTION], self.cut + 1
        c = self.tokenizer.encode(context, add_special_tokens=False)
        room = self.max_length - len(q) - 3
        if room < 1:
            raise ZooError(f"--set data.max_length={self.max_length} leaves no room for the report after the "
                           f"question ({len(q)} tokens)")
        ids, offsets = c.ids[:room], c.offsets[:room]
        if len(c.ids) > room:
            self.cut += 1
        head, asked = [self.cls, *q, self.sep], set(q)
        return {"input_ids": torch.tensor(head + ids + [self.sep], dtype=torch.long),
                "token_type_ids": torch.tensor([1] * len(head) + [0] * (len(ids) + 1), dtype=torch.long),
                "match_ids": torch.tensor([0] * len(head) + [int(i in asked) for i in ids] + [0], dtype=torch.long),
                "offsets": torch.tensor([(-1, -1)] * len(head) + list(offsets) + [(-1, -1)], dtype=torch.long),
                "context": context}

    def warn(self, what: str) -> None:
        if self.cut:
            warnings.warn(f"{self.cut} {what} were longer than data.max_length={self.max_length} tokens (or their "
                          f"question than {MAX_QUESTION}) and were cut", TruncationWarning, stacklevel=3)
        self.cut = 0


def closed_answers(items: Sequence[tuple[str, str, str, str]], min_count: int) -> list[str]:
    """The answer classes: SPAN, then yes/no/"" where training has them, then the training answers that are
    not a span of their report at least `min_count` times; most frequent first."""
    always, other = Counter(), Counter()
    for context, _, answer, _ in items:
        key = answer.strip().lower()
        if key in ALWAYS_CLASSES:
            always[key] += 1
        elif not occurrences(context, answer):
            other[key] += 1
    return [SPAN] + [a for a, _ in always.most_common()] + [a for a, n in other.most_common() if n >= min_count]


def targets(encoded: dict[str, Any], answer: str, classes: dict[str, int]) -> dict[str, Any]:
    """answer class (SPAN, a closed answer, or -100 when neither can give it), start and end masks (every token
    where an occurrence starts / ends), the answer's text."""
    key = answer.strip().lower()
    length = len(encoded["input_ids"])
    starts, ends = torch.zeros(length, dtype=torch.bool), torch.zeros(length, dtype=torch.bool)
    label = classes.get(key, IGNORE)
    if key not in ALWAYS_CLASSES:
        offsets = encoded["offsets"].tolist()
        first_context = next((i for i, (s, _) in enumerate(offsets) if s >= 0), length)
        context_offsets = [o for o in offsets if o[0] >= 0]
        for start, end in occurrences(encoded["context"], answer):
            span = char_to_tokens(context_offsets, start, end)
            if span is not None:
                starts[first_context + span[0]] = ends[first_context + span[1]] = True
        if starts.any():
            label = 0
    return {"answer_class": label, "starts": starts, "ends": ends, "answer": answer}


class QuestionSet(Dataset):
    """(x, y) items: x = {'input_ids', 'token_type_ids', 'match_ids', 'offsets', 'context'}, y = targets(...)."""

    def __init__(self, items: Sequence[tuple[str, str, str, str]], encoder: Encoder, classes: dict[str, int],
                 what: str):
        self.x, self.y, self.kinds = [], [], []
        for context, question, answer, kind in items:
            encoded = encoder(context, question)
            self.x.append(encoded)
            self.y.append(targets(encoded, answer, classes))
            self.kinds.append(kind)
        encoder.warn(what)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return self.x[i], self.y[i]

    def unreachable(self) -> int:
        """Questions whose answer is neither a span of the report nor a class (the loss skips them)."""
        return sum(y["answer_class"] == IGNORE for y in self.y)


def collate_inputs(xs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Inputs padded to the longest of the batch ([PAD], token type 0, no match, offsets -1)."""
    return {"input_ids": pad_sequence([x["input_ids"] for x in xs], batch_first=True, padding_value=0),
            "token_type_ids": pad_sequence([x["token_type_ids"] for x in xs], batch_first=True, padding_value=0),
            "match_ids": pad_sequence([x["match_ids"] for x in xs], batch_first=True, padding_value=0),
            "offsets": pad_sequence([x["offsets"] for x in xs], batch_first=True, padding_value=-1),
            "context": [x["context"] for x in xs]}


def collate(batch):
    xs, ys = zip(*batch)
    y = {"answer_class": torch.tensor([t["answer_class"] for t in ys], dtype=torch.long),
         "starts": pad_sequence([t["starts"] for t in ys], batch_first=True, padding_value=False),
         "ends": pad_sequence([t["ends"] for t in ys], batch_first=True, padding_value=False),
         "answer": [t["answer"] for t in ys]}
    return collate_inputs(xs), y


# -- the dataset factory -----------------------------------------------------------------------
def _user_splits(data: str) -> list[list[tuple[str, str, str, str]]]:
    triples, skipped = corpora.read_questions(Path(data))
    for message in skipped[:5]:
        warnings.warn(message, stacklevel=3)
    if len(skipped) > 5:
        warnings.warn(f"{data}: {len(skipped)} records left out in all (answers not in their context)", stacklevel=3)
    contexts = list(dict.fromkeys(c for c, _, _ in triples))
    if len(contexts) < 3:
        raise ZooError(f"{data}: {len(contexts)} distinct context(s); at least 3 are needed for three splits "
                       "(questions are split by their context)")
    where = {}
    for split, idx in enumerate(split_indices(len(contexts), list(SUMMARY_FRACTIONS), seed=0)):
        where.update((contexts[i], split) for i in idx)
    splits: list[list[tuple[str, str, str, str]]] = [[], [], []]
    for c, q, a in triples:
        splits[where[c]].append((c, q, a, "question"))
    return splits


def iu_questions(data: str | None = None, seed: int = 0, vocab_size: int = 6000, max_length: int = 256,
                 max_answer_length: int = 16, min_answer_count: int = 2, limit: int = 0,
                 train_negatives: int = 0) -> DataBundle:
    """Questions about the IU reports answered from their MeSH tags, or a user's SQuAD-like file (--data).

    The IU reports use nlp/iu-xray-reports' tokenizer (fitted to the same training reports with the same
    data.vocab_size and data.limit), so an encoder pretrained by nlp/report-mlm fits with init_from; a user's
    file gets a tokenizer fitted to its training contexts and questions."""
    if max_answer_length < 1 or min_answer_count < 1:
        raise ZooError(f"--set data.max_answer_length={max_answer_length}, data.min_answer_count="
                       f"{min_answer_count}: both must be at least 1")
    if train_negatives < 0:
        raise ZooError(f"--set data.train_negatives={train_negatives}: must be 0 (as valid and test ask) or more")
    if data is not None:
        if train_negatives:
            raise ZooError(f"--set data.train_negatives={train_negatives}: the IU questions' setting; a file given "
                           "with --data asks its own questions")
        splits = _user_splits(data)
        train = splits[0]
        tokenizer = train_wordpiece([f"{q} {c}" for c, q, _, _ in train], vocab_size)
    else:
        splits = question_splits(limit, train_negatives)
        texts, labels = report_texts(limit)
        train_reports = classifier_splits(labels, REPORT_FRACTIONS)[0]
        tokenizer = train_wordpiece([texts[i] for i in train_reports], vocab_size)  # nlp/iu-xray-reports' own
    answers = closed_answers(splits[0], min_answer_count)
    classes = {a: i for i, a in enumerate(answers)}
    encoder = Encoder(tokenizer, max_length)
    parts = [QuestionSet(items, encoder, classes, f"{name} questions with their reports")
             for items, name in zip(splits, ("training", "validation", "test"))]
    pad = tokenizer.token_to_id(PAD)
    info = {"dataset": "nlp/iu-xray-questions" if data is None else str(data), "tokenizer": tokenizer.to_str(),
            "pad_id": pad, "max_length": max_length, "max_answer_length": max_answer_length, "answers": answers,
            "unreachable": {name: p.unreachable() for name, p in zip(("train", "valid", "test"), parts)},
            "target_name": "answer", "limit": limit}
    return DataBundle(train=parts[0], valid=parts[1], test=parts[2], collate=collate,
                      model_args={"num_answers": len(answers), "vocab_size": tokenizer.get_vocab_size(),
                                  "pad_id": pad, "max_length": max_length}, info=info)


def question_input(context: str, question: str, info: dict[str, Any]) -> dict[str, Any]:
    """One `zoo predict` input, padded to the run's max_length ([PAD], offsets -1) so that inputs stack."""
    encoder = Encoder(from_info(info), int(info["max_length"]))
    x = encoder(context, question)
    encoder.warn("inputs")
    room = int(info["max_length"]) - len(x["input_ids"])
    pad = int(info.get("pad_id", 0))
    return {"input_ids": torch.cat([x["input_ids"], torch.full((room,), pad, dtype=torch.long)]),
            "token_type_ids": torch.cat([x["token_type_ids"], torch.zeros(room, dtype=torch.long)]),
            "match_ids": torch.cat([x["match_ids"], torch.zeros(room, dtype=torch.long)]),
            "offsets": torch.cat([x["offsets"], torch.full((room, 2), -1, dtype=torch.long)]),
            "context": context, "question": question}


# -- decoding ----------------------------------------------------------------------------------
def best_spans(start: torch.Tensor, end: torch.Tensor, allowed: torch.Tensor, longest: int) -> torch.Tensor:
    """N x 2 (first, last) token of the span with the highest start + end logit, first <= last < first + longest,
    both where `allowed` (the report's tokens)."""
    low = torch.finfo(torch.float32).min / 4
    start = start.float().masked_fill(~allowed, low)
    end = end.float().masked_fill(~allowed, low)
    length = start.shape[1]
    band = torch.ones(length, length, dtype=torch.bool, device=start.device).triu().tril(longest - 1)
    scores = (start[:, :, None] + end[:, None, :]).masked_fill(~band, 2 * low)
    flat = scores.flatten(1).argmax(1)
    return torch.stack([flat // length, flat % length], 1)


def answers_of(output: dict[str, Any], classes: Sequence[str], longest: int) -> list[str]:
    """The answers a batch's output gives: the class's text, or the span's text in the report."""
    chosen = output["answer_logits"].argmax(-1).tolist()
    allowed = output["offsets"][..., 0] >= 0
    spans = best_spans(output["start_logits"], output["end_logits"], allowed, longest).tolist()
    offsets = output["offsets"].tolist()
    return [span_text(context, offs, *span) if c == 0 else classes[c]
            for c, span, offs, context in zip(chosen, spans, offsets, output["context"])]
