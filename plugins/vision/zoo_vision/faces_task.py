"""The face-recognition task and its network: an embedding trained with an additive angular margin (ArcFace:
Deng et al. 2019), verification by cosine similarity, and `zoo predict RUN probe.jpg --gallery DIR`.

The network ends in class centres (one per training identity); in training it returns the cosines between the
normalized embedding and every centre, and the task adds the margin m to the angle of the true identity before a
softmax at scale s. Out of training it returns the embedding alone: held-out identities have no centre, so the
valid/test `loss` is 0 and the figures come from `evaluate_model` (pairs of held-out identities).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from zoo import ZooError
from zoo.tasks.base import Task

from . import faces
from .models import resnet_tiny

THRESHOLDS = "verification.json"  # written at the end of training, read by --gallery


class FaceEmbedder(nn.Module):
    """A compact timm ResNet, then BN-dropout-linear-BN to a `dim`-wide embedding (ArcFace's output block),
    and the class centres of the angular-margin loss."""

    def __init__(self, backbone: nn.Module, features: int, num_classes: int, dim: int, drop_rate: float,
                 margin: float, scale: float):
        super().__init__()
        self.backbone = backbone
        self.neck = nn.Sequential(nn.BatchNorm1d(features), nn.Dropout(drop_rate), nn.Linear(features, dim),
                                  nn.BatchNorm1d(dim))
        self.centres = nn.Parameter(torch.randn(num_classes, dim) * 0.01)
        # kept as 0-d buffers so that the output holds tensors only (saved with the weights, not trained)
        self.register_buffer("margin", torch.tensor(float(margin)))
        self.register_buffer("scale", torch.tensor(float(scale)))

    def forward(self, x: torch.Tensor):
        embedding = self.neck(self.backbone(x))
        if not self.training:
            return embedding
        cosine = F.linear(F.normalize(embedding), F.normalize(self.centres))
        return {"embedding": embedding, "cosine": cosine, "margin": self.margin, "scale": self.scale}


def face_embedder(num_classes: int, in_channels: int = 3, image_size: int = 48, width: int | str = "32,64,128,256",
                  depth: int | str = 1, stem_stride: int = 2, dim: int = 128, drop_rate: float = 0.1,
                  margin: float = 0.4, scale: float = 32.0) -> nn.Module:
    """model.margin (radians added to the true identity's angle) and model.scale (the softmax's s) shape the loss."""
    if not 0 <= margin < 1.5:
        raise ZooError(f"--set model.margin={margin}: expected radians in [0, 1.5), ArcFace uses 0.5")
    if scale <= 0:
        raise ZooError(f"--set model.scale={scale}: must be positive (ArcFace uses 64)")
    if dim < 2:
        raise ZooError(f"--set model.dim={dim}: an embedding needs at least 2 dimensions")
    backbone = resnet_tiny(0, in_channels, image_size, width=width, depth=depth, stem_stride=stem_stride)
    return FaceEmbedder(backbone, backbone.num_features, num_classes, dim, drop_rate, margin, scale)


def face_embedder_example():
    return {"num_classes": 5, "image_size": 24, "width": 8, "dim": 16}, torch.randn(2, 3, 24, 24)


def arcface_loss(cosine: torch.Tensor, target: torch.Tensor, margin: float | torch.Tensor,
                 scale: float | torch.Tensor) -> torch.Tensor:
    """Cross-entropy of s * cos(theta + m) for the true identity, s * cos(theta) for the others; where theta + m
    would pass pi the penalty falls back to cos(theta) - m sin(m) (ArcFace's own guard)."""
    margin, scale = float(margin), float(scale)
    cosine = cosine.float().clamp(-1 + 1e-6, 1 - 1e-6)
    true = cosine.gather(1, target[:, None])
    sine = (1 - true.pow(2)).sqrt()
    with_margin = true * math.cos(margin) - sine * math.sin(margin)
    with_margin = torch.where(true > math.cos(math.pi - margin), with_margin, true - math.sin(math.pi - margin) * margin)
    logits = cosine.scatter(1, target[:, None], with_margin) * scale
    return F.cross_entropy(logits, target)


class FaceTask(Task):
    name = "faces"
    # the checkpoint is picked by the ROC AUC over all validation pairs: TAR at FAR 1e-3 is 0 on a small
    # validation split for many epochs, and a tie keeps the first epoch
    monitor = "roc_auc"
    directions = {"tar_far_1e-3": "max", "verify_accuracy": "max", "roc_auc": "max", "accuracy_10fold": "max",
                  "accuracy_10fold_std": "min"}
    predict_options = ("gallery",)
    run_files = (THRESHOLDS,)

    def __init__(self, config, info):
        super().__init__(config, info)
        self._embeddings: torch.Tensor | None = None
        self._gallery: tuple[str, list[str], np.ndarray] | None = None

    def loss(self, output: Any, target: torch.Tensor) -> torch.Tensor:
        if isinstance(output, dict):
            return arcface_loss(output["cosine"], target, output["margin"], output["scale"])
        return output.new_zeros(())  # held-out identities have no class centre: scored by evaluate_model

    # -- verification ------------------------------------------------------------------------------------------
    @torch.no_grad()
    def embed(self, model: nn.Module, dataset, device, batch: int = 256) -> np.ndarray:
        out = []
        for i in range(0, len(dataset), batch):
            x = torch.stack([dataset[k][0] for k in range(i, min(i + batch, len(dataset)))])
            out.append(model(x.to(device)).float().cpu())
        return torch.cat(out).numpy()

    def evaluate_model(self, model, dataset, split, budget, device) -> dict[str, float]:
        if dataset is None or not isinstance(dataset, faces.FaceImages):
            return {}
        figures = self.figures(model, dataset, device)
        return {k: v for k, v in figures.items() if k in self.directions}

    def figures(self, model, dataset, device) -> dict[str, float]:
        """Verification figures of one split; a test split is scored at the threshold its calibration split
        (valid) chooses with the same weights."""
        threshold = None
        if dataset.calibration is not None:
            threshold = self.calibrate(model, dataset.calibration, device)["threshold"]
        labels = dataset.labels.numpy()
        return faces.verification(self.embed(model, dataset, device), labels, threshold, faces.split_pairs(dataset),
                                  dataset.folds)

    def calibrate(self, model, valid, device) -> dict[str, float]:
        return faces.verification(self.embed(model, valid, device), valid.labels.numpy(), None, faces.split_pairs(valid))

    def report(self, trainer, run_dir) -> None:
        """The thresholds that `--gallery` uses, chosen on the validation pairs with the weights `zoo eval` loads."""
        model = trainer.eval_model()
        model.eval()
        valid = self.calibrate(model, trainer.data.valid, trainer.device)
        model.train()
        (Path(run_dir) / THRESHOLDS).write_text(json.dumps({
            "threshold": valid["threshold"], "far_threshold": valid["far_threshold"], "far": faces.FAR,
            "valid_tar_far_1e-3": valid["tar_far_1e-3"], "valid_accuracy": valid["verify_accuracy"]}, indent=2) + "\n")

    # -- prediction ----------------------------------------------------------------------------------------------
    def predict(self, output: torch.Tensor) -> list[dict[str, Any]]:
        self._embeddings = output.float().cpu()
        unit = F.normalize(self._embeddings)
        return [{"embedding": [round(v, 4) for v in row.tolist()]} for row in unit]

    def annotate(self, run, items, predictions) -> None:
        for item, prediction in zip(items, predictions):
            found = getattr(item, "face_found", None)
            if found is not None:
                prediction["face"] = "found" if found else "NOT FOUND: the centre square was used"
        gallery = self.options.get("gallery")
        if not gallery:
            return
        names, templates = self.enrol(run, Path(gallery))
        thresholds = read_thresholds(Path(run.dir))
        probes = F.normalize(self._embeddings).numpy()
        similarity = probes @ templates.T
        for row, prediction in zip(similarity, predictions):
            order = np.argsort(-row)
            best = float(row[order[0]])
            prediction.pop("embedding", None)
            prediction["identity"] = names[order[0]] if best > thresholds["far_threshold"] else "unknown"
            prediction["similarity"] = round(best, 4)
            prediction["closest"] = names[order[0]]
            if len(order) > 1:
                prediction["next"] = {"identity": names[order[1]], "similarity": round(float(row[order[1]]), 4)}
            prediction["threshold"] = round(thresholds["far_threshold"], 4)

    def enrol(self, run, root: Path) -> tuple[list[str], np.ndarray]:
        """The gallery's identities (DIR/<name>/*) and their templates: the normalized mean of the normalized
        embeddings of each one's photos; kept for the predictions that follow."""
        key = str(root.resolve())
        if self._gallery is not None and self._gallery[0] == key:
            return self._gallery[1], self._gallery[2]
        if not root.is_dir():
            raise ZooError(f"--gallery {root}: no such folder (expected DIR/<identity>/<photo>)")
        suffixes = faces.IMAGE_SUFFIXES | {".ppm", ".pgm"}
        people = {p.name: sorted(f for f in p.iterdir() if f.suffix.lower() in suffixes)
                  for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".")}
        people = {name: files for name, files in people.items() if files}
        if not people:
            raise ZooError(f"--gallery {root}: no identity folder with photos (expected DIR/<identity>/<photo>)")
        names, templates = [], []
        for name, files in people.items():
            x = torch.stack([faces.read_face(str(f), self.info) for f in files])
            e = torch.cat([F.normalize(run.forward(x[i:i + 64]).float().cpu()) for i in range(0, len(x), 64)]).mean(0)
            names.append(name), templates.append(F.normalize(e, dim=0).numpy())
        self._gallery = (key, names, np.stack(templates))
        return names, self._gallery[2]

    def card(self) -> str:
        sizes = self.info.get("split_sizes", {})
        where = ", ".join(f"{s} {n[0]:,} identities / {n[1]:,} pictures" for s, n in sizes.items())
        if self.info.get("rendered"):
            return ("**The faces are rendered cartoons, not photographs.** Each identity is one parameter draw of "
                    "npm facesjs (Apache-2.0); its pictures vary expression, haircut, glasses, hats, clothes, head "
                    f"pose, light, background (real photos, other ones per split) and blur ({where}). The test "
                    "identities are never seen in training. These figures say how well rendered people are told "
                    "apart, not real ones: train on your own identity folders (`--data DIR`, LFW's pairs.txt) for "
                    "that. Anchor (real photos): ArcFace 99.83% on LFW.")
        return f"Trained on the user's photos ({self.info.get('layout')}; {where}); faces found by OpenCV's Haar cascade."


def read_thresholds(folder: Path) -> dict[str, float]:
    path = folder / THRESHOLDS
    if not path.is_file():
        raise ZooError(f"{folder}: no {THRESHOLDS} (written at the end of training); --gallery needs its threshold")
    return json.loads(path.read_text())
