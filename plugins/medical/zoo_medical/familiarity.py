"""How unlike its training films an input is: a Mahalanobis distance in the network's coarsest features.

The features are the mean and the spread, per channel, of the activations at the network's coarsest scale
(the bottom of a U-Net, the last dense block or residual stage): they describe the whole film. A Gaussian
fitted to the training films' features (Ledoit-Wolf shrinkage: there are nearly as many dimensions as a
small set has films) gives every input a distance; an input is familiar up to the 99th percentile of the
validation films' distances, so about one film in a hundred like the training films is flagged by chance.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from zoo import ZooError

QUANTILE = 0.99
MAX_FILMS = 2000  # training films the Gaussian is fitted on: enough for a few hundred dimensions
FILE = "familiarity.safetensors"
MEASURE = ("Mahalanobis distance of the network's coarsest features (each channel's mean and spread) from those "
           f"of the training films; familiar up to the validation films' {QUANTILE:.0%} quantile")


def coarsest_layer(model: nn.Module, example: torch.Tensor) -> str:
    """The leaf module whose output has the fewest pixels (more than one) and, among those, the most channels;
    the last one called wins a tie. Global pools (one pixel) are left out: they have no spread; so are modules
    called more than once a forward pass (a shared activation)."""
    seen: list[tuple[str, tuple[int, ...]]] = []

    def hook(name):
        return lambda module, args, out: seen.append((name, tuple(out.shape))) \
            if isinstance(out, torch.Tensor) and out.dim() == 4 and out.shape[2] * out.shape[3] > 1 else None

    leaves = [(name, m) for name, m in model.named_modules() if name and not list(m.children())]
    handles = [m.register_forward_hook(hook(name)) for name, m in leaves]
    try:
        with torch.no_grad():
            model(example)
    finally:
        for h in handles:
            h.remove()
    calls = [name for name, _ in seen]
    seen = [(name, shape) for name, shape in seen if calls.count(name) == 1]  # a Tap expects one call a forward
    if not seen:
        raise ZooError(f"{type(model).__name__}: no layer with a spatial output to measure familiarity on")
    best = min((shape[2] * shape[3], -shape[1], -i) for i, (_, shape) in enumerate(seen))
    return seen[-best[2]][0]


class Tap:
    """Captures the features of one layer on every forward pass while open."""

    def __init__(self, model: nn.Module, layer: str):
        self.module = dict(model.named_modules()).get(layer)
        if self.module is None:
            raise ZooError(f"familiarity: the run's network has no layer {layer!r}")
        self.features: list[torch.Tensor] = []

    def __enter__(self) -> Tap:
        def keep(module, args, out):
            act = out.float()
            self.features.append(torch.cat([act.mean((2, 3)), act.std((2, 3), correction=0)], 1).cpu())

        self.handle = self.module.register_forward_hook(keep)
        return self

    def __exit__(self, *exc) -> None:
        self.handle.remove()

    def collected(self) -> np.ndarray:
        return torch.cat(self.features).double().numpy()


@torch.no_grad()
def features_of(model: nn.Module, layer: str, dataset, device, batch_size: int, limit: int = 0) -> np.ndarray:
    """N x D features of a dataset's films, as they are (without the training augmentations); of its first
    `limit` batches when limit > 0."""
    if getattr(dataset, "transform", None) is not None:
        dataset = copy.copy(dataset)
        dataset.transform = None
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size)
    model.eval()
    with Tap(model, layer) as tap:
        for i, (x, _) in enumerate(loader):
            if limit and i >= limit:
                break
            model(x.to(device))
    return tap.collected()


def fit(train: np.ndarray) -> dict[str, np.ndarray]:
    """Mean and precision of the training features (standardized, Ledoit-Wolf, then scaled back)."""
    from sklearn.covariance import LedoitWolf

    mean, scale = train.mean(0), train.std(0) + 1e-6
    precision = LedoitWolf().fit((train - mean) / scale).precision_
    return {"mean": mean, "precision": precision / scale[:, None] / scale[None, :]}


def distances(features: np.ndarray, gaussian: dict[str, np.ndarray]) -> np.ndarray:
    centred = features - gaussian["mean"]
    return np.sqrt(np.maximum(np.einsum("nd,de,ne->n", centred, gaussian["precision"], centred), 0))


def measure(trainer, run_dir: Path, splits: dict[str, Any]) -> dict[str, Any]:
    """Fit on the training films, set the threshold on the validation films, store both in the run; the
    record says what it measures and the share of each split's films called familiar."""
    from safetensors.numpy import save_file

    model, device, batch = trainer.eval_model(), trainer.device, trainer.config.eval_batch_size
    limit = trainer.config.eval_limit  # the quick-check setting: a few batches of each split
    train = splits["train"]
    if len(train) > MAX_FILMS:
        train = torch.utils.data.Subset(train, range(MAX_FILMS))
    example = splits["valid"][0][0][None].to(device)
    model.eval()
    layer = coarsest_layer(model, example)
    train_features = features_of(model, layer, train, device, batch, limit)
    gaussian = fit(train_features)
    valid = distances(features_of(model, layer, splits["valid"], device, batch, limit), gaussian)
    threshold = float(np.quantile(valid, QUANTILE))
    record: dict[str, Any] = {"measure": MEASURE, "layer": layer, "threshold": round(threshold, 4),
                              "fitted_on": f"{len(train_features)} training films", "familiar_share": {}}
    for name, dataset in splits.items():
        if name != "train" and dataset is not None:
            d = valid if name == "valid" else distances(features_of(model, layer, dataset, device, batch, limit),
                                                        gaussian)
            record["familiar_share"][name] = round(float((d <= threshold).mean()), 4)
    partial = run_dir / (FILE + ".tmp")
    save_file({k: v.astype(np.float64) for k, v in gaussian.items()}, str(partial))
    partial.replace(run_dir / FILE)
    return record


def judge(run, items: list[torch.Tensor]) -> list[dict[str, Any]]:
    """`zoo predict`: for each model input, whether it is familiar and its distance over the threshold
    (above 1: unlike the training films); nothing for runs trained before the check existed."""
    from safetensors.numpy import load_file

    record = run.saved["info"].get("familiarity")
    if not record or not (Path(run.dir) / FILE).is_file():
        return [{} for _ in items]
    gaussian = load_file(str(Path(run.dir) / FILE))
    model = run.model  # the run's zoo.predictor.Predictor: its network in eval mode
    with torch.no_grad(), Tap(model, record["layer"]) as tap:
        model(torch.stack(items).to(run.device))
    ratio = distances(tap.collected(), gaussian) / record["threshold"]
    return [{"familiar": bool(r <= 1), "unfamiliarity": round(float(r), 3)} for r in ratio]


def card(record: dict[str, Any] | None, things: str = "films", unknown: bool = True) -> list[str]:
    """The model card's account of the familiarity check (Markdown lines; none for a run without one)."""
    if not record:
        return []
    shares = ", ".join(f"{k} {v:.3f}" for k, v in record["familiar_share"].items())
    labelled = " and labels it `unknown`" if unknown else ""
    fitted = f", fitted on {record['fitted_on']}" if record.get("fitted_on") else ""
    return ["## Familiarity", "", f"`zoo predict` says `familiar=no`{labelled} when a {things[:-1]} is unlike the "
            f"training {things}: {record['measure']} (layer `{record['layer']}`, threshold {record['threshold']}{fitted}). "
            f"Share called familiar: {shares}.", ""]
