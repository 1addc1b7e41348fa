"""Tasks: sequence classifiers that score every record of a FASTA file, DNA with its reverse complement as a
test-time view and its filters as logos, tables, contact maps scored by their top long-range contacts, and
per-residue interface classification."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torchmetrics import MetricCollection
from torchmetrics.classification import BinaryAUROC, BinaryAveragePrecision

from zoo import ZooError
from zoo.tasks import Task
from zoo.tasks.base import refuse_options
from zoo.tasks.classification import BinaryTask, ClassificationTask
from zoo.training.views import View, parse

from .sequences import Record, one_hot_dna, protein_ids, records_of_inputs, revcomp, warn

BATCH = 256


# -- running a trained model on inputs of our own -----------------------------------------------------------
@torch.no_grad()
def run_model(run, task: Task, batch: Any) -> Any:
    """The run's evaluated weights on one batch, averaged over the recipe's test-time views (`tta`)."""
    trainer = run.predictor()
    model = trainer.eval_model().eval()
    batch = batch.to(trainer.device)
    outputs = [task.forward(model, batch)]
    for view in parse(task.config.tta or "", task.views()):
        outputs.append(task.undo_view(view, task.forward(model, view.apply(batch))))
    return task.merge_views(outputs) if len(outputs) > 1 else outputs[0]


def all_failed(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The results, unless no input could be scored at all: then the first reason is the error (exit code 2)."""
    if results and all("error" in r for r in results):
        raise ZooError(f"{results[0]['input']}: {results[0]['error']}" + (
            f" (and {len(results) - 1} more input(s) or record(s) that could not be scored)" if len(results) > 1 else ""))
    return results


def failed(message: str) -> dict[str, Any]:
    """A result line for an input that could not be scored: 'FILE, record ID: why' -> input and error."""
    where, _, why = message.partition(": ")
    return {"input": where, "error": why or message}


# -- sequences ---------------------------------------------------------------------------------------------
class SequenceBinaryTask(BinaryTask):
    """A binary classifier of protein or DNA sequences; `zoo predict RUN_DIR FILE.fasta|SEQUENCE...` prints one
    line per record (its file and id, label and score), and one line naming each record it could not score."""

    def views(self) -> dict[str, list[View]]:
        """Peptides may be read backwards (`tta=reverse`: the retro peptide, whose label is taken to be the same)."""
        from .data import reverse_peptides

        return {"reverse": [View("reverse", reverse_peptides, lambda out: out, dims=2)]}

    def encode(self, seqs: list[str]) -> torch.Tensor:
        if self.info["kind"] == "dna":
            return torch.stack([one_hot_dna(s, int(self.info["max_length"])) for s in seqs])
        from torch.nn.utils.rnn import pad_sequence

        return pad_sequence([torch.tensor(protein_ids(s), dtype=torch.long) for s in seqs], batch_first=True)

    def predict_inputs(self, run, inputs: list[str], out_dir: Path | None, options: dict[str, Any]) -> list[dict]:
        refuse_options(options, run.recipe.name)
        if not inputs:
            raise ZooError("zoo predict: give at least one FASTA file or sequence")
        items = records_of_inputs(inputs, self.info["kind"], int(self.info["max_length"]), self.info.get("crop", "start"))
        records = [r for r in items if isinstance(r, Record)]
        scored: dict[int, dict[str, Any]] = {}
        for start in range(0, len(records), BATCH):
            chunk = records[start:start + BATCH]
            output = run_model(run, self, self.encode([r.seq for r in chunk]))
            for record, output_i, pred in zip(chunk, output, self.predict(output)):
                name = record.where.rsplit(", record ", 1)
                pred = {"input": f"{Path(name[0]).name}:{record.id}" if len(name) == 2 else record.id, **pred}
                if out_dir is not None:
                    out_dir.mkdir(parents=True, exist_ok=True)
                    files = self.write_output(output_i, dict(pred), out_dir / safe_stem(pred["input"]))
                    pred["files"] = [str(f) for f in files]
                scored[id(record)] = pred
        return all_failed([scored[id(item)] if isinstance(item, Record) else failed(item) for item in items])


def safe_stem(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:120]


class DnaBindingTask(SequenceBinaryTask):
    """SequenceBinaryTask on one-hot DNA, with the reverse complement as a test-time view (`tta=revcomp`), and
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
class TableInputs:
    """`zoo predict` on a table: each argument a CSV file (every row, by the training columns' names) or one row
    of comma-separated values in the training columns' order."""

    def predict_inputs(self, run, inputs: list[str], out_dir: Path | None, options: dict[str, Any]) -> list[dict]:
        from .data import apply_scaler, read_row

        refuse_options(options, run.recipe.name)
        if not inputs:
            raise ZooError("zoo predict: give at least one CSV file or row of values")
        names, rows = [], []
        for text in inputs:
            path = Path(text)
            if path.suffix.lower() == ".csv" or path.is_file():
                if not path.is_file():
                    raise ZooError(f"{text}: no such file")
                for name, row in self.csv_rows(path):
                    names.append(name)
                    rows.append(apply_scaler(self.info["scaler"], row))
            else:
                names.append(text if len(text) <= 40 else text[:37] + "...")
                rows.append(read_row(text, self.info))
        output = run_model(run, self, torch.stack(rows))
        results = []
        for i, (name, pred) in enumerate(zip(names, self.predict(output))):
            pred = {"input": name, **pred}
            if out_dir is not None:
                out_dir.mkdir(parents=True, exist_ok=True)
                pred["files"] = [str(f) for f in self.write_output(output[i], dict(pred), out_dir / safe_stem(name))]
            results.append(pred)
        return results

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


class ContactTask(Task):
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

    def predict(self, output: torch.Tensor) -> list[dict[str, Any]]:
        out = []
        for probs in self.scores(output):
            length = probs.shape[-1]
            i, j = torch.triu_indices(length, length, offset=LONG_RANGE)
            count = min(max(1, length // 5), len(i))
            top = probs[i, j].topk(count).indices if len(i) else torch.tensor([], dtype=torch.long)
            pairs = ",".join(f"{int(i[t]) + 1}-{int(j[t]) + 1}" for t in top[:5])
            out.append({"residues": length, "top_long_range": pairs or "none"})
        return out

    def predict_inputs(self, run, inputs: list[str], out_dir: Path | None, options: dict[str, Any]) -> list[dict]:
        """Each chain of each structure file (its own contacts shown and scored beside the prediction), or each
        record of a FASTA file or bare sequence."""
        from .data import ContactMaps
        from .structures import Protein, is_structure_file, protein_chains

        refuse_options(options, run.recipe.name)
        if not inputs:
            raise ZooError("zoo predict: give at least one PDB/mmCIF file, FASTA file or sequence")
        max_length = int(self.info.get("max_length", 400))
        results = []
        for text in inputs:
            path = Path(text)
            if is_structure_file(path):
                try:
                    chains = protein_chains(path)
                except ZooError as exc:
                    warn(str(exc))
                    results.append(failed(str(exc)))
                    continue
                for chain in chains:
                    if len(chain.seq) > max_length:
                        warn(f"{path}, chain {chain.chain_id}: cropped to its first {max_length} of {len(chain.seq)} "
                             "residues (data.max_length)")
                    protein = Protein(chain.name, chain.seq[:max_length], chain.cb[:max_length])
                    target = ContactMaps([protein]).maps[0]
                    results.append(self._one(run, chain.name, protein.seq, target, out_dir))
            else:
                for item in records_of_inputs([text], "protein", max_length, "start"):
                    if isinstance(item, str):
                        results.append(failed(item))
                    else:
                        results.append(self._one(run, item.id, item.seq, None, out_dir))
        return all_failed(results)

    def _one(self, run, name: str, seq: str, target: torch.Tensor | None, out_dir: Path | None) -> dict[str, Any]:
        ids = torch.tensor(protein_ids(seq), dtype=torch.long)[None]
        output = run_model(run, self, ids)
        pred = {"input": name, **self.predict(output)[0]}
        probs = self.scores(output)[0].cpu()
        if target is not None:
            pred["precision_l5_long"] = round(top_precision(probs, target), 4)
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            pred["files"] = [str(contact_png(probs, target, out_dir / f"{safe_stem(name)}.contacts.png", name))]
        return pred


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
class InterfaceTask(Task):
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

    def predict(self, output: torch.Tensor) -> list[dict[str, Any]]:
        return [{"residues": int(p.numel()), "interface_residues": int((p >= 0.5).sum()),
                 "mean_score": round(float(p.mean()), 4)} for p in self.scores(output)]

    def predict_inputs(self, run, inputs: list[str], out_dir: Path | None, options: dict[str, Any]) -> list[dict]:
        """Each chain of each structure file: how many of its residues likely touch another chain; with --out, a
        JSON of every residue's number, letter and score. Features come from the chain alone, so a file with one
        chain is scored too (training needs two or more, for its labels)."""
        from .structures import chain_features, is_structure_file, protein_chains

        refuse_options(options, run.recipe.name)
        if not inputs:
            raise ZooError("zoo predict: give at least one PDB or mmCIF file")
        results = []
        for text in inputs:
            path = Path(text)
            if not path.exists():
                raise ZooError(f"{text}: no such file")
            if not is_structure_file(path):
                results.append(failed(f"{text}: not a PDB or mmCIF file (.pdb, .cif, .ent, optionally .gz)"))
                continue
            try:
                chains = protein_chains(path)
            except ZooError as exc:
                warn(str(exc))
                results.append(failed(str(exc)))
                continue
            for chain in chains:
                x = torch.tensor(chain_features(chain), dtype=torch.float32)[None]
                output = run_model(run, self, x)
                pred = {"input": chain.name, **self.predict(output)[0]}
                if out_dir is not None:
                    out_dir.mkdir(parents=True, exist_ok=True)
                    probs = self.scores(output)[0].tolist()
                    path_out = out_dir / f"{safe_stem(chain.name)}.interface.json"
                    path_out.write_text(json.dumps({"chain": chain.name, "residues": [
                        {"number": n, "residue": a, "score": round(p, 4)}
                        for n, a, p in zip(chain.numbers, chain.seq, probs)]}) + "\n")
                    pred["files"] = [str(path_out)]
                results.append(pred)
        return all_failed(results)
