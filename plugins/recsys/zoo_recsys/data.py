"""Dataset factories: interactions -> splits for the rating and the ranking protocols.

rating: each user's interactions are split at random (80/10/10 by default, at least one kept for
    training); items are ({"users", "items"}, rating).
ranking: implicit feedback with the NCF leave-one-out protocol: each user's latest interaction is
    the test item, the one before it the validation item, the rest trains. Training items are
    ({"users", "items": [positive, k sampled negatives]}, [1, 0...]); evaluation items are one user each,
    ({"users"}, codes over every item) -- see CODES -- so one pass scores the 99-negative protocol and
    full ranking together.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from zoo import ZooError
from zoo.data import DataBundle

from .interactions import (
    ITEM_COLUMNS, USER_COLUMNS, Interactions, load_insteval, load_movielens, merge_duplicates, read_features,
    read_interactions,
)

# Codes of the evaluation targets, one per item.
HELD_OUT, SAMPLED_NEGATIVE, UNSEEN, KNOWN = 1, 0, -1, -2  # KNOWN: the user's other interactions, never ranked
PROTOCOLS = ("rating", "ranking")
POPULAR = 50  # items kept for the popularity fallback of unknown users


class Ratings(Dataset):
    """(user, item) -> rating, kept as Python lists: reading an item costs next to nothing, collate builds tensors."""

    def __init__(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray):
        self.users, self.items, self.ratings = users.tolist(), items.tolist(), ratings.astype(np.float32).tolist()

    def __len__(self) -> int:
        return len(self.users)

    def __getitem__(self, i: int) -> tuple[int, int, float]:
        return self.users[i], self.items[i], self.ratings[i]


def collate_ratings(batch: list[tuple[int, int, float]]):
    users, items, ratings = zip(*batch)
    return {"users": torch.tensor(users), "items": torch.tensor(items)}, torch.tensor(ratings)


class History:
    """Each user's items as a CSR structure (indptr, sorted items), with fast membership tests."""

    def __init__(self, users: np.ndarray, items: np.ndarray, num_users: int):
        order = np.lexsort((items, users))
        self.items = items[order]
        self.indptr = np.zeros(num_users + 1, dtype=np.int64)
        np.add.at(self.indptr, users + 1, 1)
        self.indptr = np.cumsum(self.indptr)

    def of(self, user: int) -> np.ndarray:
        return self.items[self.indptr[user]:self.indptr[user + 1]]

    def sample_unseen(self, user: int, k: int, num_items: int, rng: np.random.Generator) -> np.ndarray:
        """k distinct items the user never interacted with (fewer when fewer exist)."""
        pool = np.setdiff1d(np.arange(num_items), self.of(user), assume_unique=True)
        return rng.choice(pool, size=min(k, len(pool)), replace=False)


class Positives(Dataset):
    """Training for ranking: the positive (user, item) pairs; RankingCollate adds the sampled negatives."""

    def __init__(self, users: np.ndarray, items: np.ndarray):
        self.users, self.items = users.tolist(), items.tolist()

    def __len__(self) -> int:
        return len(self.users)

    def __getitem__(self, i: int) -> tuple[int, int]:
        return self.users[i], self.items[i]


class RankingCollate:
    """Batches of ranking data: training pairs get `negatives` items each that their user never touched
    (NCF's sampling, redrawn every epoch); evaluation items (user, codes) are stacked.

    Negatives are drawn for the whole batch at once from torch's global generator, which the trainer
    seeds and saves in checkpoints, so runs repeat and resume exactly.
    """

    def __init__(self, history: History, num_items: int, negatives: int):
        self.num_items, self.negatives = num_items, negatives
        users = np.repeat(np.arange(len(history.indptr) - 1), np.diff(history.indptr))
        self.known = np.sort(users * num_items + history.items)  # (user, item) keys, for vectorized membership
        self.full = np.diff(history.indptr) >= num_items  # users who have every item: no negative exists

    def _known(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        keys = users * self.num_items + items
        pos = np.searchsorted(self.known, keys).clip(max=len(self.known) - 1)
        return self.known[pos] == keys if len(self.known) else np.zeros(keys.shape, dtype=bool)

    def __call__(self, batch: list):
        if isinstance(batch[0][1], torch.Tensor):  # evaluation: one user and their codes each
            users, codes = zip(*batch)
            return {"users": torch.tensor(users)}, torch.stack(codes)
        users, positives = (np.array(column, dtype=np.int64) for column in zip(*batch))
        users_k = np.repeat(users[:, None], self.negatives, 1)
        negatives = torch.randint(self.num_items, users_k.shape).numpy()
        for _ in range(50):  # rejection: a few redraws, since most items are unseen by most users
            hit = self._known(users_k, negatives) & ~self.full[users_k]
            if not hit.any():
                break
            negatives[hit] = torch.randint(self.num_items, (int(hit.sum()),)).numpy()
        items = np.concatenate([positives[:, None], negatives], 1)
        target = torch.zeros(items.shape)
        target[:, 0] = 1.0
        return {"users": torch.from_numpy(users), "items": torch.from_numpy(items)}, target


class HeldOut(Dataset):
    """Evaluation for ranking: one user, their held-out item and fixed sampled negatives, coded over all items."""

    def __init__(self, users: np.ndarray, held_out: np.ndarray, negatives: list[np.ndarray], known: History,
                 num_items: int):
        self.users, self.held_out, self.negatives, self.known, self.num_items = users, held_out, negatives, known, num_items

    def __len__(self) -> int:
        return len(self.users)

    def __getitem__(self, i: int):
        user = int(self.users[i])
        codes = torch.full((self.num_items,), UNSEEN, dtype=torch.int8)
        codes[torch.from_numpy(self.known.of(user))] = KNOWN
        codes[torch.from_numpy(self.negatives[i])] = SAMPLED_NEGATIVE
        codes[int(self.held_out[i])] = HELD_OUT
        return user, codes


# -- side features -------------------------------------------------------------------------
def token_table(tokens: list[list[str]] | None, rows: int) -> tuple[torch.Tensor, int]:
    """Per-row token lists -> a padded LongTensor (0 pads; ids from 1) and the vocabulary size + 1."""
    if not tokens:
        return torch.zeros(rows, 0, dtype=torch.long), 1
    vocab = {t: i + 1 for i, t in enumerate(sorted({t for row in tokens for t in row}))}
    width = max((len(row) for row in tokens), default=0)
    table = torch.zeros(rows, width, dtype=torch.long)
    for r, row in enumerate(tokens):
        if row:
            table[r, :len(row)] = torch.tensor([vocab[t] for t in row])
    return table, len(vocab) + 1


# -- splits --------------------------------------------------------------------------------
def split_per_user(inter: Interactions, fractions: tuple[float, float], seed: int) -> np.ndarray:
    """0/1/2 (train/valid/test) per row: a random split inside each user, at least one row kept for training."""
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(inter)), inter.users))
    counts = np.bincount(inter.users, minlength=inter.num_users)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    rank = np.arange(len(order)) - starts[inter.users[order]]
    n = counts[inter.users[order]]
    train_end = np.maximum(1, np.ceil(n * (1 - sum(fractions))))
    valid_end = np.maximum(train_end, np.ceil(n * (1 - fractions[1])))
    part = np.where(rank < train_end, 0, np.where(rank < valid_end, 1, 2))
    out = np.empty(len(inter), dtype=np.int8)
    out[order] = part
    return out


def leave_one_out(inter: Interactions) -> np.ndarray:
    """0/1/2 per row: each user's latest interaction is test, the one before valid (when the user keeps one to train)."""
    order = np.lexsort((np.arange(len(inter)), inter.times, inter.users))
    counts = np.bincount(inter.users, minlength=inter.num_users)
    ends = np.cumsum(counts)
    rank_from_end = ends[inter.users[order]] - 1 - np.arange(len(order))
    n = counts[inter.users[order]]
    part = np.zeros(len(order), dtype=np.int8)
    part[(rank_from_end == 0) & (n >= 2)] = 2
    part[(rank_from_end == 1) & (n >= 3)] = 1
    out = np.empty(len(inter), dtype=np.int8)
    out[order] = part
    return out


# -- bundles -------------------------------------------------------------------------------
def bundle(inter: Interactions, name: str, protocol: str = "rating", negatives: int = 4,
           eval_negatives: int = 99, valid_fraction: float = 0.1, test_fraction: float = 0.1) -> DataBundle:
    """The splits of one interaction table under a protocol, plus what the model and `zoo predict` need."""
    if protocol not in PROTOCOLS:
        raise ZooError(f"--set data.protocol: expected rating or ranking, got {protocol!r}")
    if protocol == "rating" and not inter.explicit:
        raise ZooError(f"{name}: the rating protocol needs a rating column; this data is implicit feedback "
                       "(use a ranking recipe)")
    if inter.num_items < 2:
        raise ZooError(f"{name}: only one item; a recommender needs at least two")
    split_seed = 0  # the same split for every run, so test figures compare
    if protocol == "rating":
        part = split_per_user(inter, (valid_fraction, test_fraction), split_seed)
        train, valid, test = (Ratings(inter.users[part == k], inter.items[part == k], inter.ratings[part == k])
                              for k in range(3))
        global_mean = float(inter.ratings[part == 0].mean())
        collate = collate_ratings
    else:
        inter = merge_duplicates(inter, "last", name)
        part = leave_one_out(inter)
        train = Positives(inter.users[part == 0], inter.items[part == 0])
        collate = RankingCollate(History(inter.users[part == 0], inter.items[part == 0], inter.num_users),
                                 inter.num_items, negatives)
        everything = History(inter.users, inter.items, inter.num_users)
        rng = np.random.default_rng(split_seed)
        valid, test = (_held_out(inter, part, k, everything, eval_negatives, rng) for k in (1, 2))
        global_mean = 0.0
    if len(train) == 0 or len(valid) == 0:
        raise ZooError(f"{name}: too few interactions per user to hold out a validation split "
                       f"({len(inter)} interactions of {inter.num_users} users)")
    counts = np.bincount(inter.items[part == 0], minlength=inter.num_items)
    popular = np.argsort(-counts, kind="stable")[:POPULAR]
    user_table, user_vocab = token_table(inter.user_features, inter.num_users)
    item_table, item_vocab = token_table(inter.item_features, inter.num_items)
    info: dict[str, Any] = {
        "dataset": name, "protocol": protocol, "num_users": inter.num_users, "num_items": inter.num_items,
        "scale": list(inter.scale) if inter.scale else None, "user_ids": inter.user_ids, "item_ids": inter.item_ids,
        "titles": inter.titles or inter.item_ids,
        "popular": [[int(i), int(counts[i])] for i in popular],
        "split": {"train": int((part == 0).sum()), "valid": int((part == 1).sum()), "test": int((part == 2).sum())},
    }
    result = DataBundle(train=train, valid=valid, test=test if len(test) else None, info=info, collate=collate,
                        model_args={"num_users": inter.num_users, "num_items": inter.num_items,
                                    "global_mean": round(global_mean, 6), "user_vocab": user_vocab,
                                    "item_vocab": item_vocab})
    # Not JSON, so not in info: the recipe builder hands these to the model, whose checkpoint keeps them.
    result.attachments = {"history": History(inter.users, inter.items, inter.num_users),  # type: ignore[attr-defined]
                          "user_tokens": user_table, "item_tokens": item_table}
    if protocol == "rating":  # for models that read ratings as input (AutoRec): the training split's only
        train_rows = part == 0
        result.attachments["train_ratings"] = (inter.users[train_rows], inter.items[train_rows],  # type: ignore[attr-defined]
                                               inter.ratings[train_rows])
    return result


def _held_out(inter: Interactions, part: np.ndarray, split: int, everything: History, k: int, rng) -> HeldOut:
    rows = np.flatnonzero(part == split)
    rows = rows[np.argsort(inter.users[rows], kind="stable")]
    users, items = inter.users[rows], inter.items[rows]
    # NCF: k distinct items the user never interacted with (fewer when the catalogue is small)
    negatives = [everything.sample_unseen(int(u), k, inter.num_items, rng) for u in users]
    known = History(inter.users[part != split], inter.items[part != split], inter.num_users)  # never ranked
    return HeldOut(users, items, negatives, known, inter.num_items)


# -- factories -----------------------------------------------------------------------------
def movielens_100k(data: str | None = None, seed: int = 0, protocol: str = "rating", negatives: int = 4,
                   eval_negatives: int = 99) -> DataBundle:
    """MovieLens-100k; --data may name a folder holding recbole's ml-100k.inter/.item/.user files."""
    return bundle(load_movielens(data), "recsys/movielens-100k", protocol, negatives, eval_negatives)


def insteval(data: str | None = None, seed: int = 0, protocol: str = "rating", negatives: int = 4,
             eval_negatives: int = 99) -> DataBundle:
    if data is not None:
        raise ZooError("recsys/insteval has no --data; use recsys/interactions for your own CSV")
    return bundle(load_insteval(), "recsys/insteval", protocol, negatives, eval_negatives)


def interactions_csv(data: str | None = None, seed: int = 0, protocol: str = "rating", negatives: int = 4,
                     eval_negatives: int = 99, rating_scale: str = "1,5", duplicates: str = "last",
                     items: str = "", users: str = "") -> DataBundle:
    """A user's interactions.csv (user,item[,rating][,timestamp]); optional item and user feature tables.

    --data may be the CSV itself or a folder holding interactions.csv and optionally items.csv and
    users.csv. Without --data, MovieLens-100k is exported to such a folder (a documented default).
    """
    root = Path(data) if data else export_movielens_csv()
    path = root / "interactions.csv" if root.is_dir() else root
    if root.is_dir() and not path.is_file():
        raise ZooError(f"{root}: no interactions.csv in this folder")
    inter = read_interactions(path, rating_scale if protocol == "rating" else "", duplicates)
    folder = path.parent
    items_path = Path(items) if items else folder / "items.csv"
    users_path = Path(users) if users else folder / "users.csv"
    if items and not items_path.is_file():
        raise ZooError(f"--set data.items: {items}: no such file")
    if users and not users_path.is_file():
        raise ZooError(f"--set data.users: {users}: no such file")
    if items_path.is_file():
        inter.item_features, titles = read_features(items_path, inter.item_ids, ITEM_COLUMNS, "item", with_titles=True)
        inter.titles = titles or inter.item_ids
    if users_path.is_file():
        inter.user_features, _ = read_features(users_path, inter.user_ids, USER_COLUMNS, "user")
    return bundle(inter, "recsys/interactions", protocol, negatives, eval_negatives)


def export_movielens_csv() -> Path:
    """The default of recsys/interactions: MovieLens-100k written as interactions/items/users CSV files."""
    from zoo.paths import cache_dir
    import csv

    root = cache_dir("recsys", "ml-100k-csv")
    if (root / ".complete").exists():
        return root
    inter = load_movielens()
    with open(root / "interactions.csv", "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["user", "item", "rating", "timestamp"])
        for u, i, r, t in zip(inter.users, inter.items, inter.ratings, inter.times):
            out.writerow([inter.user_ids[u], inter.item_ids[i], f"{r:g}", f"{t:.0f}"])
    for name, ids, tokens, titles in (("items.csv", inter.item_ids, inter.item_features, inter.titles),
                                      ("users.csv", inter.user_ids, inter.user_features, None)):
        columns = sorted({t.split("=", 1)[0] for row in tokens or [] for t in row})
        with open(root / name, "w", newline="") as fh:
            out = csv.writer(fh)
            out.writerow([name[:-5]] + (["title"] if titles else []) + columns)
            for k, ident in enumerate(ids):
                values = {c: "|".join(t.split("=", 1)[1] for t in tokens[k] if t.startswith(c + "=")) for c in columns}
                out.writerow([ident] + ([titles[k]] if titles else []) + [values[c] for c in columns])
    (root / ".complete").touch()
    return root


# -- `zoo predict` -------------------------------------------------------------------------
def read_user(text: str, info: dict[str, Any]) -> torch.Tensor:
    """`zoo predict RUN user=196` (or just `196`): the user's index, -1 for a user the run never saw."""
    ident = text.split("=", 1)[1].strip() if text.lower().startswith(("user=", "user:")) else text.strip()
    if not ident:
        raise ZooError(f"{text!r}: expected a user id, e.g. user=196")
    try:
        return torch.tensor(info["user_ids"].index(ident))
    except ValueError:
        return torch.tensor(-1)
