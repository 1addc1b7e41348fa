"""Tasks: sequence classifiers that score every record of a FASTA file, DNA with its reverse complement as a
test-time view and its filters as logos, tables, contact maps scored by their top long-range contacts, and
per-residue interface classification."""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torchmetrics import MetricCollection
from torchmetrics.classification import BinaryAUROC, BinaryAveragePrecision

from zoo import ZooError
from zoo.tasks import Task
from zoo.tasks.base import index
from zoo.tasks.classification import BinaryTask, ClassificationTask
from zoo.training.views import View

from .sequences import one_hot_dna, protein_ids, revcomp, sequence_records, unnamed, warn

# -- prediction on inputs of our own (zoo.predictor.Predictor calls the hooks below) ----------------------------
def safe_stem(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:120]


class NamedOutputs:
    """Each input's file is named after the input (a FASTA record 'FILE:ID', a chain 'FILE:A', a table row), so
    the records of one file do not overwrite each other's."""

    def write_output(self, output: Any, prediction: dict[str, Any], stem: Path) -> list[Path]:
        return super().write_output(output, prediction, stem.with_name(safe_stem(prediction["input"])))


def pad_stack(tensors: list[torch.Tensor], value: float) -> torch.Tensor:
    """Tensors of different sizes in one batch, each at the start of its row, the rest `value`."""
    shape = [max(t.shape[d] for t in tensors) for d in range(tensors[0].dim())]
    out = tensors[0].new_full((len(tensors), *shape), value)
    for i, t in enumerate(tensors):
        out[(i, *[slice(0, n) for n in t.shape])] = t
    return out


class ChainInputs:
    """Prediction on chains of different lengths: each chain goes through the network alone (as the task's own
    evaluation runs them), and the outputs are padded into one batch with their lengths. A record is a dict:
    'x' the network's input for one chain, and tensors the predictions need beside the output (a chain's true
    contacts, its residue numbers)."""

    def collate(self, items: list[dict[str, torch.Tensor]]) -> dict[str, Any]:
        return {"chains": [it["x"] for it in items], **{k: [it[k] for it in items] for k in items[0] if k != "x"}}

    def forward(self, model, x: Any) -> Any:
        if not (isinstance(x, dict) and "chains" in x):
            return super().forward(model, x)
        outputs = [model(chain[None])[0].float() for chain in x["chains"]]
        return {"output": pad_stack(outputs, 0.0), "length": torch.tensor([len(c) for c in x["chains"]]),
                **{k: pad_stack(v, -1) for k, v in x.items() if k != "chains"}}


def chain_of(output: dict[str, torch.Tensor], key: str = "output") -> torch.Tensor:
    """One chain's tensor (an indexed output) cropped to the chain's length."""
    length = int(output["length"])
    value = output[key]
    return value[tuple(slice(0, length) for _ in range(value.dim()))]


def chains_of(output: Any) -> list[torch.Tensor]:
    """Each chain's raw output in a batch: padded outputs cropped to their lengths, or a plain batch's rows."""
    if isinstance(output, dict):
        return [chain_of(index(output, i)) for i in range(len(output["length"]))]
    return list(output)


# -- sequences ---------------------------------------------------------------------------------------------
class SequenceBinaryTask(NamedOutputs, BinaryTask):
    """A binary classifier of protein or DNA sequences; `zoo predict RUN_DIR FILE.fasta|SEQUENCE...` prints one
    line per record (its file and id, label and score), and one line naming each record it could not score."""

    def views(self) -> dict[str, list[View]]:
        """Peptides may be read backwards (`task.tta=reverse`: the retro peptide, whose label is taken to be the same)."""
        from .data import reverse_peptides

        return {"reverse": [View("reverse", reverse_peptides, lambda out: out, dims=2)]}

    def encode(self, seqs: list[str]) -> torch.Tensor:
        if self.info["kind"] == "dna":
            return torch.stack([one_hot_dna(s, int(self.info["max_length"])) for s in seqs])
        from torch.nn.utils.rnn import pad_sequence

        return pad_sequence([torch.tensor(protein_ids(s), dtype=torch.long) for s in seqs], batch_first=True)

    def records(self, item, read) -> Iterable[tuple[str, Any]]:
        return sequence_records(item, self.info["kind"], int(self.info["max_length"]), self.info.get("crop", "start"))

    def collate(self, items: list[str]) -> torch.Tensor:
        return self.encode(items)


class DnaBindingTask(SequenceBinaryTask):
    """SequenceBinaryTask on one-hot DNA, with the reverse complement as a test-time view (`task.tta=revcomp`), and
    the first-layer filters drawn as sequence logos with their best match to Oct4's motif at the end."""

    def views(self) -> dict[str, list[View]]:
        # the label of a region does not depend on the strand it is read from: nothing to undo on the output
        return {"revcomp": [View("revcomp", revcomp, lambda out: out, dims=3)]}

    def report(self, trainer, run_dir) -> None:
        from .motifs import interpret

        model = trainer.eval_model()
        if not hasattr(model, "conv"):
            return
        data = trainer.data.train
        x = data.x if hasattr(data, "x") else torch.stack([data[i][0] for i in range(len(data))])
        best = interpret(model, x, Path(run_dir))
        trainer.log(f"motifs: filter {best['best_filter']} matches {best['motif']} best: {best['score']:.2f} "
                    f"(chance 0.25), reads {best['matched']} ({best['strand']} strand); logos in {run_dir}/filters.png")


# -- tables ------------------------------------------------------------------------------------------------
class TableInputs(NamedOutputs):
    """`zoo predict` on a table: each argument a CSV file (every row, by the training columns' names) or one row
    of comma-separated values in the training columns' order (read by the dataset's reader)."""

    def records(self, item, read) -> Iterable[tuple[str, Any]]:
        from .data import apply_scaler

        text = str(item)
        path = Path(text)
        if path.suffix.lower() == ".csv" or path.is_file():
            if not path.is_file():
                raise ZooError("no such file")
            try:
                return [(name, apply_scaler(self.info["scaler"], row)) for name, row in self.csv_rows(path)]
            except ZooError as exc:
                raise unnamed(exc, text) from None
        try:
            row = read(text)
        except ZooError as exc:
            raise unnamed(exc, repr(text[:40])) from None
        return [(text if len(text) <= 40 else text[:37] + "...", row)]

    def csv_rows(self, path: Path):
        import numpy as np
        import pandas as pd

        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise ZooError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from None
        features = self.info["features"]
        missing = [f for f in features if f not in frame.columns]
        if missing:
            raise ZooError(f"{path}: no column {missing[0]!r} ({len(missing)} of the {len(features)} training columns "
                           "missing)")
        values = frame[features].apply(pd.to_numeric, errors="coerce")
        if values.isna().any().any():
            row, col = np.argwhere(values.isna().to_numpy())[0]
            raise ZooError(f"{path}, row {row + 2}, column {features[col]!r}: expected a number, got "
                           f"{frame[features[col]].iloc[row]!r}")
        x = values.to_numpy(dtype=float)
        if self.info.get("log"):
            x = np.log1p(x)
        first = frame.columns[0]
        for i in range(len(frame)):
            name = str(frame[first].iloc[i]) if first not in features else f"{path.name}:row {i + 2}"
            yield name, x[i]


class TableClassificationTask(TableInputs, ClassificationTask):
    pass


class TableBinaryTask(TableInputs, BinaryTask):
    pass


# -- contact maps --------------------------------------------------------------------------------------------
LONG_RANGE = 24


def top_precision(probs: torch.Tensor, target: torch.Tensor, min_sep: int = LONG_RANGE, max_sep: int = 0,
                  fraction: float = 0.2) -> float:
    """Precision of the top L x fraction predicted pairs i < j with min_sep <= j - i (< max_sep when given),
    among pairs whose target is known (target >= 0)."""
    length = probs.shape[-1]
    i, j = torch.triu_indices(length, length, offset=min_sep)
    if max_sep:
        keep = (j - i) < max_sep
        i, j = i[keep], j[keep]
    known = target[i, j] >= 0
    i, j = i[known], j[known]
    count = max(1, int(length * fraction))
    if len(i) == 0:
        return float("nan")
    top = probs[i, j].topk(min(count, len(i))).indices
    return float((target[i[top], j[top]] == 1).float().mean())


def pair_mask(target: torch.Tensor) -> torch.Tensor:
    return target >= 0


class ContactTask(ChainInputs, Task):
    """Contact maps (N x L x L logits) against targets (1, 0, -1 not scored), by masked binary cross-entropy.

    Its own evaluation runs the model on each whole chain of the split and reports the precision of the top L/5
    and top L long-range predictions (|i - j| >= 24), the figure CASP uses, averaged over chains; and of the top
    L/5 medium-range ones (12 <= |i - j| < 24).
    """

    name = "contacts"
    monitor = "precision_l5_long"
    directions = {"precision_l5_long": "max", "precision_l_long": "max", "precision_l5_medium": "max"}

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        mask = pair_mask(target)
        if not mask.any():
            return output.sum() * 0
        return F.binary_cross_entropy_with_logits(output.float()[mask], target[mask].float())

    def scores(self, output: torch.Tensor) -> torch.Tensor:
        return output.float().sigmoid()

    @torch.no_grad()
    def evaluate_model(self, model, dataset, split, budget, device) -> dict[str, float]:
        if dataset is None or not hasattr(dataset, "ids"):
            return {}
        rows = {k: [] for k in self.directions}
        for k in range(min(budget, len(dataset.ids))):
            ids, target = dataset.ids[k], dataset.maps[k]
            probs = self.scores(self.forward(model, ids[None].to(device)))[0].cpu()
            for key, value in chain_precisions(probs, target).items():
                rows[key].append(value)
        return {k: float(torch.tensor(v).nanmean()) for k, v in rows.items() if v}

    def predict(self, output: Any) -> list[dict[str, Any]]:
        """Per chain: its length and its five most likely long-range contacts; a chain read from a structure file
        also gets the precision of its top L/5 long-range predictions against its own contacts."""
        out = []
        for k, logits in enumerate(chains_of(output)):
            probs = self.scores(logits)
            length = probs.shape[-1]
            i, j = torch.triu_indices(length, length, offset=LONG_RANGE)
            count = min(max(1, length // 5), len(i))
            top = probs[i, j].topk(count).indices if len(i) else torch.tensor([], dtype=torch.long)
            pairs = ",".join(f"{int(i[t]) + 1}-{int(j[t]) + 1}" for t in top[:5])
            pred = {"residues": length, "top_long_range": pairs or "none"}
            if isinstance(output, dict) and bool(output["known"][k]):
                target = chain_of(index(output, k), "target").cpu()
                pred["precision_l5_long"] = round(top_precision(probs.cpu(), target), 4)
            out.append(pred)
        return out

    def records(self, item, read) -> Iterable[tuple[str, Any]]:
        """Each chain of a structure file (its own contacts shown and scored beside the prediction), or each record
        of a FASTA file or a bare sequence."""
        from .data import ContactMaps
        from .structures import Protein, is_structure_file, protein_chains

        max_length = int(self.info.get("max_length", 400))
        text = str(item)
        path = Path(text)
        if not is_structure_file(path):
            for name, seq in sequence_records(item, "protein", max_length, "start"):
                if isinstance(seq, ZooError):
                    yield name, seq
                else:
                    yield name, self.chain(seq, None)
            return
        try:
            chains = protein_chains(path)
        except ZooError as exc:
            raise unnamed(exc, text) from None
        for chain in chains:
            if len(chain.seq) > max_length:
                warn(f"{path}, chain {chain.chain_id}: cropped to its first {max_length} of {len(chain.seq)} "
                     "residues (data.max_length)")
            protein = Protein(chain.name, chain.seq[:max_length], chain.cb[:max_length])
            yield chain.name, self.chain(protein.seq, ContactMaps([protein]).maps[0])

    @staticmethod
    def chain(seq: str, target: torch.Tensor | None) -> dict[str, torch.Tensor]:
        n = len(seq)
        return {"x": torch.tensor(protein_ids(seq), dtype=torch.long),
                "target": target if target is not None else torch.full((n, n), -1.0),
                "known": torch.tensor(target is not None)}

    def write_output(self, output: Any, prediction: dict[str, Any], stem: Path) -> list[Path]:
        """The predicted map beside the structure's own contacts (when known), as a PNG."""
        name = prediction["input"]
        probs = self.scores(chain_of(output)).cpu()
        target = chain_of(output, "target").cpu() if bool(output["known"]) else None
        return [contact_png(probs, target, stem.with_name(f"{safe_stem(name)}.contacts.png"), name)]


def chain_precisions(probs: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    return {"precision_l5_long": top_precision(probs, target),
            "precision_l_long": top_precision(probs, target, fraction=1.0),
            "precision_l5_medium": top_precision(probs, target, 12, LONG_RANGE)}


def contact_png(probs: torch.Tensor, target: torch.Tensor | None, path: Path, title: str) -> Path:
    """Predicted contact probabilities (lower left) beside the structure's own contacts (upper right, if known)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = probs.clone().numpy()
    if target is not None:
        upper = torch.triu(torch.ones_like(probs, dtype=torch.bool), 1).numpy()
        shown[upper] = (target.numpy() == 1)[upper]
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(shown, cmap="Greys", vmin=0, vmax=1, origin="upper")
    ax.set_title(f"{title}: predicted (lower)" + (" / true contacts (upper)" if target is not None else ""), fontsize=8)
    ax.set_xlabel("residue")
    ax.set_ylabel("residue")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# -- interfaces ----------------------------------------------------------------------------------------------
class InterfaceTask(ChainInputs, Task):
    """Per-residue logits (N x L) against labels (1 touches another chain, 0 not, -1 padding): masked binary
    cross-entropy weighted for the rarer interface residues; AUROC and average precision over all residues."""

    name = "interface"
    monitor = "auroc"

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        mask = target >= 0
        weight = self.info.get("pos_weight")
        pos_weight = torch.tensor(float(weight), device=output.device) if weight else None
        return F.binary_cross_entropy_with_logits(output.float()[mask], target[mask].float(), pos_weight=pos_weight)

    def metrics(self):
        return MetricCollection({"auroc": BinaryAUROC(), "average_precision": BinaryAveragePrecision()})

    def scores(self, output: torch.Tensor) -> torch.Tensor:
        return output.float().sigmoid()

    def update_metrics(self, metrics, output, target) -> None:
        mask = target >= 0
        metrics.update(self.scores(output)[mask], target[mask].long())

    def predict(self, output: Any) -> list[dict[str, Any]]:
        """Per chain: how many of its residues likely touch another chain."""
        return [{"residues": int(p.numel()), "interface_residues": int((p >= 0.5).sum()),
                 "mean_score": round(float(p.mean()), 4)} for p in map(self.scores, chains_of(output))]

    def records(self, item, read) -> Iterable[tuple[str, Any]]:
        """Each chain of a structure file. Features come from the chain alone, so a file with one chain is scored
        too (training needs two or more, for its labels)."""
        from .structures import SUFFIXES, chain_features, is_structure_file, protein_chains

        text = str(item)
        if not is_structure_file(Path(text)):
            raise ZooError(f"not a PDB or mmCIF file ({', '.join(SUFFIXES[:4])}, optionally .gz/.bz2)")
        try:
            chains = protein_chains(text)
        except ZooError as exc:
            raise unnamed(exc, text) from None
        for chain in chains:
            numbers = [re.match(r"(-?\d+)(.*)", n).groups() for n in chain.numbers]
            yield chain.name, {"x": torch.tensor(chain_features(chain), dtype=torch.float32),
                               "number": torch.tensor([int(n) for n, _ in numbers]),
                               "insertion": torch.tensor([ord(code[:1] or " ") for _, code in numbers]),
                               "letter": torch.tensor([ord(a) for a in chain.seq])}

    def write_output(self, output: Any, prediction: dict[str, Any], stem: Path) -> list[Path]:
        """A JSON of every residue's number (with its insertion code), letter and score."""
        name = prediction["input"]
        probs = self.scores(chain_of(output)).tolist()
        numbers = chain_of(output, "number").tolist()
        codes = [chr(c).strip() for c in chain_of(output, "insertion").tolist()]
        letters = [chr(c) for c in chain_of(output, "letter").tolist()]
        path = stem.with_name(f"{safe_stem(name)}.interface.json")
        path.write_text(json.dumps({"chain": name, "residues": [
            {"number": f"{n}{code}", "residue": a, "score": round(p, 4)}
            for n, code, a, p in zip(numbers, codes, letters, probs)]}) + "\n")
        return [path]
