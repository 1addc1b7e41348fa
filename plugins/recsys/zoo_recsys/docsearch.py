"""Document search data (recsys/doc-search): a corpus, typed queries, relevance judgements, tokens and BM25.

Default corpus: the Linux manual pages of Debian's `manpages` and `manpages-dev` (sections 1-8, about 1,100 pages
once aliases are dropped). A page's query is its one-line NAME description ("open and possibly create a file"); the
relevant document is the page with its NAME section removed. Pages are held out by section: section 2 (system
calls) is the test split, section 7 (overviews) the valid split, the other sections train. Every split's queries
are searched against the whole corpus.

Your data (--data FOLDER): documents under FOLDER/docs/ (.txt, .md, .html; a document's id is its path there
without the suffix), FOLDER/queries.tsv (`qid<TAB>text`) and FOLDER/qrels.txt in TREC qrels format
(`qid iteration docid relevance`, relevance > 0 is relevant). Queries are dealt into train/valid/test (70/15/15) by
a fixed permutation. A bad qrels or queries line is named: `FILE line N: ...`.

Tokens: lowercased words (`[a-z0-9_]+`); the vocabulary is every corpus word (the 60,000 most frequent) plus
1 = unknown; each word also gets up to NGRAMS hashed character trigrams (DSSM's word hashing, crc32, so stable
across runs), which is how the encoder reads words it never trained on. BM25 (bm25s, English stop words removed)
indexes the same word ids, so a query read once serves both.
"""
from __future__ import annotations

import gzip
import html
import re
import zlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zoo import DataMissing, ZooError

WORD = re.compile(r"[a-z0-9_]+")
NGRAMS = 8  # character trigrams kept per word
BUCKETS = 1 << 16  # hashed trigram ids (0 = padding)
MAX_VOCAB = 60000
PAD, UNK = 0, 1
MAN_PACKAGES = ("manpages", "manpages-dev")
DOC_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")


@dataclass
class Corpus:
    """Documents (ids, display titles, texts) and queries with their relevant documents and split."""

    doc_ids: list[str]
    titles: list[str]
    texts: list[str]
    queries: list[str] = field(default_factory=list)
    query_ids: list[str] = field(default_factory=list)
    relevant: list[list[int]] = field(default_factory=list)  # document indices per query
    split: list[str] = field(default_factory=list)  # train / valid / test per query
    source: str = ""


# -- manual pages ------------------------------------------------------------------------------------------------
ESCAPES = [(re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""), (re.compile(r"\\\*(\[[^\]]*\]|\(..|.)"), ""),
           (re.compile(r"\\\(aq"), "'"), (re.compile(r"\\\(dq"), '"'), (re.compile(r"\\\((em|en)"), "-"),
           (re.compile(r"\\\(..|\\\[[^\]]*\]"), " "), (re.compile(r"\\[-]"), "-"), (re.compile(r"\\e"), "\\"),
           (re.compile(r"\\[&%c:]|\\s[-+]?\d"), ""), (re.compile(r"\\[ ~0|^]"), " ")]
LAYOUT = {"PP", "LP", "P", "RS", "RE", "nf", "fi", "sp", "br", "ad", "na", "in", "ti", "TP", "TQ", "ft", "ne", "ta",
          "hy", "nh", "ce", "EX", "EE", "TH", "ds", "de", "if", "ie", "el", "nr", "so", "UE", "ME", "YS", "SY", "ig"}


def clean_roff(text: str) -> str:
    for pattern, repl in ESCAPES:
        text = pattern.sub(lambda _, r=repl: r, text)
    return text


def parse_manpage(source: str) -> tuple[str, str, str]:
    """groff man source -> (names, NAME description, text without the NAME section). A small reader of the man
    macros (not a typesetter): macro arguments are kept as words, layout requests and comments dropped."""
    name_lines, body = [], []
    section = ""
    for line in source.splitlines():
        if line.startswith(('.\\"', "'\\\"", '.\\\\"')) or line.strip() in (".", "'"):
            continue
        if line.startswith((".", "'")):
            macro, _, args = line[1:].strip().partition(" ")
            if macro in ("SH", "SS"):
                section = clean_roff(args).strip().strip('"').upper() if macro == "SH" else section
                if macro == "SS" or section != "NAME":
                    body.append(clean_roff(args).strip('"'))
                continue
            if macro in LAYOUT:
                continue
            line = args.replace('"', "")
        (name_lines if section == "NAME" else body).append(clean_roff(line))
    name = " ".join(name_lines).strip()
    names, sep, description = name.partition(" - ")
    if not sep:
        names, description = "", name
    return names.strip(), " ".join(description.split()), "\n".join(b for b in body if b.strip())


def man_files() -> list[Path]:
    """The real (non-alias) pages of Debian's manpages and manpages-dev, from dpkg's file lists."""
    files: list[Path] = []
    for package in MAN_PACKAGES:
        listing = Path(f"/var/lib/dpkg/info/{package}.list")
        if not listing.is_file():
            raise DataMissing(f"recsys/manpages: the Debian package {package} is not installed "
                              f"(apt-get install -y {' '.join(MAN_PACKAGES)})")
        for line in listing.read_text().splitlines():
            path = Path(line)
            if line.startswith("/usr/share/man/man") and line.endswith(".gz") and path.is_file() \
                    and not path.is_symlink():
                files.append(path)
    return sorted(files)


def load_manpages(test_sections: str = "2", valid_sections: str = "7") -> Corpus:
    test, valid = set(test_sections.split(",")), set(valid_sections.split(","))
    corpus = Corpus([], [], [], source="Debian manpages + manpages-dev")
    seen: set[str] = set()
    for path in man_files():
        source = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
        if source.lstrip().startswith(".so "):
            continue  # an alias of another page
        names, description, text = parse_manpage(source)
        stem, _, section = path.name[:-3].rpartition(".")
        doc_id = f"{stem}({section})"
        if not description or len(WORD.findall(description.lower())) < 2 or doc_id in seen:
            continue
        seen.add(doc_id)
        chapter = section[0]
        corpus.doc_ids.append(doc_id)
        corpus.titles.append(description)
        corpus.texts.append(text)
        corpus.queries.append(description)
        corpus.query_ids.append(doc_id)
        corpus.relevant.append([len(corpus.doc_ids) - 1])
        corpus.split.append("test" if chapter in test else "valid" if chapter in valid else "train")
    return corpus


# -- your folder: documents, queries.tsv, qrels.txt ------------------------------------------------------------
class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self.skip -= tag in ("script", "style") and self.skip > 0

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def document_text(path: Path) -> str:
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() in (".html", ".htm"):
        parser = _Text()
        parser.feed(text)
        return html.unescape(" ".join(parser.parts))
    return text


def read_queries(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        qid, sep, text = line.partition("\t")
        if not sep or not qid.strip() or not text.strip():
            raise ZooError(f"{path} line {number}: expected 'qid<TAB>query text', got {line[:60]!r}")
        if qid.strip() in out:
            raise ZooError(f"{path} line {number}: query {qid.strip()!r} is listed twice")
        out[qid.strip()] = text.strip()
    if not out:
        raise ZooError(f"{path}: no queries (expected lines 'qid<TAB>query text')")
    return out


def read_qrels(path: Path, queries: dict[str, str], docs: dict[str, int]) -> dict[str, list[int]]:
    """TREC qrels (`qid iteration docid relevance`) -> each query's relevant document indices (relevance > 0)."""
    out: dict[str, list[int]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts or line.startswith("#"):
            continue
        where = f"{path} line {number}"
        if len(parts) != 4:
            raise ZooError(f"{where}: expected 4 columns 'qid iteration docid relevance' (TREC qrels), got "
                           f"{len(parts)}: {line[:60]!r}")
        qid, _, doc, rel = parts
        try:
            relevance = int(rel)
        except ValueError:
            raise ZooError(f"{where}: relevance {rel!r} is not a whole number") from None
        if qid not in queries:
            raise ZooError(f"{where}: query {qid!r} is not in queries.tsv")
        if doc not in docs:
            raise ZooError(f"{where}: document {doc!r} is not in the corpus (ids are paths under docs/ without "
                           "their suffix)")
        if relevance > 0:
            out.setdefault(qid, []).append(docs[doc])
    if not out:
        raise ZooError(f"{path}: no relevant judgement (relevance > 0)")
    return out


def load_folder(root: Path, seed: int = 0) -> Corpus:
    docs_dir = root / "docs"
    for need in (docs_dir, root / "queries.tsv", root / "qrels.txt"):
        if not need.exists():
            raise ZooError(f"{root}: no {need.name} (expected docs/, queries.tsv and qrels.txt)")
    files = sorted(p for p in docs_dir.rglob("*") if p.is_file() and p.suffix.lower() in DOC_SUFFIXES)
    if len(files) < 2:
        raise ZooError(f"{docs_dir}: fewer than 2 documents (.txt, .md, .html)")
    corpus = Corpus([], [], [], source=str(root))
    for p in files:
        text = document_text(p)
        corpus.doc_ids.append(p.relative_to(docs_dir).with_suffix("").as_posix())
        corpus.titles.append(next((line.strip("# ").strip() for line in text.splitlines() if line.strip()), "")[:80])
        corpus.texts.append(text)
    queries = read_queries(root / "queries.tsv")
    relevant = read_qrels(root / "qrels.txt", queries, {d: i for i, d in enumerate(corpus.doc_ids)})
    judged = [q for q in queries if q in relevant]
    if len(judged) < 3:
        raise ZooError(f"{root / 'qrels.txt'}: {len(judged)} queries with a relevant document; at least 3 are needed")
    order = np.random.default_rng(seed).permutation(len(judged))
    n_test, n_valid = max(1, round(0.15 * len(judged))), max(1, round(0.15 * len(judged)))
    for rank, i in enumerate(order):
        q = judged[i]
        corpus.query_ids.append(q)
        corpus.queries.append(queries[q])
        corpus.relevant.append(sorted(set(relevant[q])))
        corpus.split.append("test" if rank < n_test else "valid" if rank < n_test + n_valid else "train")
    return corpus


# -- tokens ---------------------------------------------------------------------------------------------------------
def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def trigrams(word: str) -> list[int]:
    marked = f"<{word}>"
    grams = [marked[i:i + 3] for i in range(len(marked) - 2)][:NGRAMS]
    return [1 + zlib.crc32(g.encode()) % (BUCKETS - 1) for g in grams]


class Vocabulary:
    def __init__(self, words_list: list[str]):
        self.words = words_list  # index 0 padding, 1 unknown
        self.index = {w: i for i, w in enumerate(words_list)}

    @classmethod
    def build(cls, texts: list[str]) -> "Vocabulary":
        counts: dict[str, int] = {}
        for text in texts:
            for w in words(text):
                counts[w] = counts.get(w, 0) + 1
        ranked = sorted(counts, key=lambda w: (-counts[w], w))[:MAX_VOCAB]
        return cls(["<pad>", "<unk>"] + ranked)

    def encode(self, text: str, limit: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(L,) word ids and (L, NGRAMS) trigram ids of the first `limit` words (at least one slot)."""
        tokens = words(text)[:limit] or [""]
        ids = torch.tensor([self.index.get(w, UNK) if w else PAD for w in tokens])
        grams = torch.zeros(len(tokens), NGRAMS, dtype=torch.long)
        for k, w in enumerate(tokens):
            g = trigrams(w) if w else []
            grams[k, :len(g)] = torch.tensor(g, dtype=torch.long)
        return ids, grams

    def ngram_table(self) -> torch.Tensor:
        table = torch.zeros(len(self.words), NGRAMS, dtype=torch.int32)
        for i, w in enumerate(self.words[2:], 2):
            g = trigrams(w)
            table[i, :len(g)] = torch.tensor(g, dtype=torch.int32)
        return table


def bm25_index(vocab: Vocabulary, texts: list[str], k1: float = 1.5, b: float = 0.75) -> dict[str, torch.Tensor]:
    """BM25 weights of every (word, document) by bm25s, in its CSC layout over our word ids: the postings of word w
    are indices[indptr[w]:indptr[w+1]] (documents) with weights data[...]. A query's scores are the sum of its
    words' postings. English stop words get no postings."""
    import bm25s
    from bm25s.stopwords import STOPWORDS_EN

    stop = set(STOPWORDS_EN)
    ids = [[vocab.index.get(w, UNK) for w in words(t) if w not in stop] for t in texts]
    tokenized = bm25s.tokenization.Tokenized(ids=ids, vocab={w: i for i, w in enumerate(vocab.words)})
    retriever = bm25s.BM25(k1=k1, b=b)
    retriever.index(tokenized, show_progress=False, create_empty_token=False)
    scores = retriever.scores
    indptr = np.asarray(scores["indptr"], dtype=np.int64)
    if len(indptr) < len(vocab.words) + 1:  # words after the last one that occurs: no postings
        indptr = np.concatenate([indptr, np.full(len(vocab.words) + 1 - len(indptr), indptr[-1])])
    return {"bm25_indptr": torch.from_numpy(indptr),
            "bm25_docs": torch.from_numpy(np.asarray(scores["indices"], dtype=np.int64)),
            "bm25_weights": torch.from_numpy(np.asarray(scores["data"], dtype=np.float32))}


def bm25_scores(indptr: torch.Tensor, docs: torch.Tensor, weights: torch.Tensor, query_ids: torch.Tensor,
                num_docs: int) -> torch.Tensor:
    """(B, L) word ids (0 = padding) -> (B, num_docs) BM25 scores; a word counts once per occurrence, as in bm25s."""
    out = torch.zeros(query_ids.shape[0], num_docs, device=weights.device)
    for row, ids in enumerate(query_ids.tolist()):
        for w in ids:
            if 0 < w < len(indptr) - 1:
                start, end = int(indptr[w]), int(indptr[w + 1])
                out[row].index_add_(0, docs[start:end], weights[start:end])
    return out


def describe(corpus: Corpus) -> dict[str, Any]:
    return {split: sum(1 for s in corpus.split if s == split) for split in ("train", "valid", "test")}
