"""Sequences: FASTA files read with biopython, checked against an alphabet, and encoded for the models.

Bad records never stop a file: each gets one line (`warning: FILE, record ID: why`) and is left out, and the
rest of the file is kept. A file that is not FASTA at all, or that keeps no record, is a `ZooError`.
"""
from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from dataclasses import dataclass, field
from pathlib import Path

from zoo import ZooError

DNA = "ACGT"  # one-hot channel order: the reverse complement is a flip of both axes
PROTEIN = "ACDEFGHIKLMNPQRSTVWY"  # the 20 standard amino acids
UNKNOWN = {"dna": "N", "protein": "X"}  # read as "any letter": N for DNA, X for proteins
ALPHABETS = {"dna": DNA, "protein": PROTEIN}


def warn(message: str) -> None:
    """One line on stderr, as the trainer writes its warnings."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


@dataclass
class Record:
    id: str
    seq: str
    label: str | None = None
    where: str = ""  # "FILE, record ID": what messages name


@dataclass
class Checked:
    """The records a file kept and one line for each it left out."""

    records: list[Record] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def check_sequence(seq: str, kind: str, where: str) -> str:
    """Upper-case letters of the alphabet (soft-masked lowercase DNA included); raise ZooError otherwise."""
    seq = "".join(seq.split()).upper()
    if not seq:
        raise ZooError(f"{where}: empty sequence")
    allowed = set(ALPHABETS[kind]) | {UNKNOWN[kind]}
    bad = sorted(set(seq) - allowed)
    if bad:
        first = min(seq.index(b) for b in bad)
        raise ZooError(f"{where}: letter {seq[first]!r} at position {first + 1} is not in the {kind} alphabet "
                       f"({ALPHABETS[kind]}, {UNKNOWN[kind]} for unknown)")
    return seq


def parse_fasta_text(text: str, name: str) -> list[tuple[str, str, str]]:
    """(id, description, sequence) of each record, by biopython; a file that is not FASTA is a ZooError."""
    from Bio import SeqIO

    stripped = text.lstrip()
    if not stripped:
        raise ZooError(f"{name}: empty file (expected FASTA records, each starting with '>')")
    if not stripped.startswith(">"):
        line = text[: len(text) - len(stripped)].count("\n") + 1
        raise ZooError(f"{name}, line {line}: not FASTA (a record starts with '>ID'; got {stripped.splitlines()[0][:40]!r})")
    try:
        return [(r.id, r.description, str(r.seq)) for r in SeqIO.parse(io.StringIO(text), "fasta")]
    except ValueError as exc:  # biopython's own word on a malformed file, first line only
        raise ZooError(f"{name}: malformed FASTA ({str(exc).splitlines()[0]})") from None


def read_text(path: Path) -> str:
    try:
        return path.read_text()
    except UnicodeDecodeError:
        raise ZooError(f"{path}: not a text file (FASTA is plain text)") from None
    except OSError as exc:
        raise ZooError(f"{path}: cannot read it ({exc.strerror or exc})") from None


def header_label(description: str) -> str | None:
    """The label a header carries: `>ID label=VALUE ...`."""
    for word in description.split()[1:]:
        if word.lower().startswith("label="):
            return word.split("=", 1)[1] or None
    return None


def read_labels_csv(path: str | Path) -> dict[str, str]:
    """id -> label from a CSV with `id` and `label` columns; a repeated id or a missing column is an error."""
    path = Path(path)
    if not path.is_file():
        raise ZooError(f"--set data.labels={path}: no such file")
    rows = csv.DictReader(io.StringIO(read_text(path)))
    if not rows.fieldnames or not {"id", "label"} <= set(rows.fieldnames):
        raise ZooError(f"{path}: expected a header with columns id,label, got {rows.fieldnames}")
    labels: dict[str, str] = {}
    for n, row in enumerate(rows, start=2):
        key, label = (row["id"] or "").strip(), (row["label"] or "").strip()
        if not key or not label:
            raise ZooError(f"{path}, row {n}: empty id or label")
        if key in labels:
            raise ZooError(f"{path}, row {n}: id {key!r} appears twice")
        labels[key] = label
    return labels


def iter_fasta(path: str | Path, kind: str, max_length: int = 0, crop: str = "start",
               labels: dict[str, str] | None = None, need_labels: bool = False,
               report: Callable[[str], None] | None = warn) -> Iterator[Record | str]:
    """Each record of a FASTA file in order: a Record, or the one line that says why it is left out.

    Letters outside the alphabet (but N in DNA, X in proteins), empty records, records without an id or
    without a label (when `need_labels`) and repeated ids are left out; sequences longer than `max_length`
    are cropped (`crop`: start or centre) with a line that says so.
    """
    path = Path(path)
    seen: set[str] = set()
    for n, (rid, description, seq) in enumerate(parse_fasta_text(read_text(path), str(path)), start=1):
        where = f"{path}, record {rid or '#' + str(n)}"
        try:
            if not rid:
                raise ZooError(f"{path}, record #{n}: header without an id")
            if rid in seen:
                raise ZooError(f"{where}: id repeated (the first record with it is kept)")
            seen.add(rid)
            seq = check_sequence(seq, kind, where)
            label = None
            if need_labels:
                label = labels.get(rid) if labels is not None else header_label(description)
                if label is None:
                    how = "the labels CSV" if labels is not None else "its header (>ID label=VALUE)"
                    raise ZooError(f"{where}: no label in {how}")
            if max_length and len(seq) > max_length:
                if report:
                    report(f"{where}: cropped to {max_length} of its {len(seq)} letters (at the {crop}; the "
                           f"model's window is {max_length})")
                seq = crop_to(seq, max_length, crop)
            yield Record(rid, seq, label, where)
        except ZooError as exc:
            if report:
                report(f"{exc}; record left out")
            yield str(exc)


def read_fasta(path: str | Path, kind: str, max_length: int = 0, crop: str = "start",
               labels: dict[str, str] | None = None, need_labels: bool = False,
               report: Callable[[str], None] | None = warn) -> Checked:
    """The valid records of a FASTA file, and a line for each left out (see iter_fasta); none kept is an error."""
    checked = Checked()
    for item in iter_fasta(path, kind, max_length, crop, labels, need_labels, report):
        (checked.problems if isinstance(item, str) else checked.records).append(item)
    if not checked.records:
        raise ZooError(f"{path}: no usable record" + (f" ({checked.problems[0]})" if checked.problems else ""))
    return checked


def crop_to(seq: str, length: int, where: str = "start") -> str:
    if len(seq) <= length:
        return seq
    if where == "centre":
        start = (len(seq) - length) // 2
        return seq[start:start + length]
    return seq[:length]


FASTA_SUFFIXES = {".fa", ".fasta", ".fna", ".faa", ".fas", ".txt"}


# -- `zoo predict` arguments ----------------------------------------------------------------------
def unnamed(exc: ZooError, name: str) -> ZooError:
    """The error of a whole argument without the argument's name in front (the Predictor names it)."""
    message = str(exc)
    for prefix in (f"{name}: ", f"{name}, "):
        if message.startswith(prefix):
            return ZooError(message[len(prefix):])
    return exc


def bad_record(message: str) -> tuple[str, ZooError]:
    """A record of a file that cannot be scored: 'FILE, record ID: why' -> (its name, the error); the file's other
    records are still scored."""
    where, _, why = message.partition(": ")
    return where, ZooError(why or message)


def degenerate(seq: str, kind: str, where: str) -> None:
    """A warning for a sequence of unknown letters only (all N, all X): the model's score tells nothing about it."""
    unknown = UNKNOWN[kind]
    if set(seq) == {unknown}:
        warn(f"{where}: only unknown letters ({len(seq)} x {unknown}); its score means nothing")


def sequence_records(item: Any, kind: str, max_length: int, crop: str) -> Iterable[tuple[str, Any]]:
    """A `zoo predict` argument of a sequence model: a FASTA file (each record, named FILE:ID; a bad record is
    named and the others kept) or a bare sequence (named by its first 40 letters). A file cut inside its last
    record (no final newline) gets a warning naming it."""
    text = str(item)
    path = Path(text)
    if path.is_file() or path.suffix.lower() in FASTA_SUFFIXES:
        if not path.is_file():
            raise ZooError("no such file")
        try:
            found = list(iter_fasta(path, kind, max_length, crop, report=crops_only))
        except ZooError as exc:
            raise unnamed(exc, text) from None
        for record in found:
            if isinstance(record, str):
                yield bad_record(record)
                continue
            degenerate(record.seq, kind, record.where)
            yield f"{path.name}:{record.id}", record.seq
        if found and not isinstance(found[-1], str) and not read_text(path).endswith("\n"):
            warn(f"{found[-1].where}: the file ends inside this record, without a newline (truncated?); scored as it "
                 "is")
        return
    where = f"sequence {text[:20]}{'...' if len(text) > 20 else ''}"
    try:
        seq = check_sequence(text, kind, where)
    except ZooError as exc:
        raise unnamed(exc, where) from None
    degenerate(seq, kind, where)
    if max_length and len(seq) > max_length:
        warn(f"{where}: cropped to {max_length} of its {len(seq)} letters (the model's window)")
        seq = crop_to(seq, max_length, crop)
    yield text[:40], seq


def crops_only(message: str) -> None:
    """iter_fasta's lines at prediction: a crop is a warning; a record left out is the record's error (the CLI
    prints it once)."""
    if not message.endswith("; record left out"):
        warn(message)


# -- encodings -----------------------------------------------------------------------------------
PROTEIN_INDEX = {a: i + 2 for i, a in enumerate(PROTEIN)}  # 0: padding, 1: unknown (X)


def protein_ids(seq: str) -> list[int]:
    return [PROTEIN_INDEX.get(a, 1) for a in seq]


_DNA_CODES = None


def one_hot_dna(seq: str, window: int):
    """4 x window float tensor (A, C, G, T); N and the padding of shorter sequences are 0.25 each; centred."""
    import numpy as np
    import torch

    global _DNA_CODES
    if _DNA_CODES is None:
        codes = np.full(256, 4, dtype=np.int64)  # 4: unknown (N)
        for i, a in enumerate(DNA):
            codes[ord(a)] = i
        _DNA_CODES = codes
    seq = crop_to(seq, window, "centre")
    start = (window - len(seq)) // 2
    index = np.full(window, 4, dtype=np.int64)
    index[start:start + len(seq)] = _DNA_CODES[np.frombuffer(seq.encode("ascii"), dtype=np.uint8)]
    table = np.vstack([np.eye(4, dtype=np.float32), np.full((1, 4), 0.25, dtype=np.float32)])
    return torch.from_numpy(np.ascontiguousarray(table[index].T))


def revcomp(x):
    """Reverse complement of one-hot DNA batches (N x 4 x L, channels A, C, G, T)."""
    return x.flip(-1).flip(-2)
