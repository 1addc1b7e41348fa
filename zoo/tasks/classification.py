"""Multi-class and binary classification."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from ..config import LabelSettings, ClassifierSettings
from ..errors import ZooError
from .base import Task


class ClassificationTask(Task):
    """Logits (N, C) against integer labels or soft targets (N, C)."""

    name = "classification"
    monitor = "accuracy"
    mixable = True
    Settings = ClassifierSettings

    @property
    def num_classes(self) -> int:
        return int(self.info["num_classes"])

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # Soft targets (mixup/CutMix) are smoothed by cross_entropy itself, so the two combine correctly.
        return F.cross_entropy(output.float(), target, label_smoothing=self.settings.label_smoothing)

    def soft_targets(self, target: torch.Tensor) -> torch.Tensor:
        return F.one_hot(target, self.num_classes).float()

    def metrics(self):
        n = self.num_classes
        from torchmetrics import MetricCollection  # here: prediction never needs it, and it imports slowly
        from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

        return MetricCollection({
            "accuracy": MulticlassAccuracy(num_classes=n, average="micro"),
            "f1_macro": MulticlassF1Score(num_classes=n, average="macro"),
        })

    def scores(self, output: torch.Tensor) -> torch.Tensor:
        logits = output.float()
        if self.settings.logit_adjust:
            logits = logits - self.settings.logit_adjust * self.log_prior(logits.device)
        return logits.softmax(-1)

    def log_prior(self, device) -> torch.Tensor:
        """log of each class's share of the training labels, from info['class_counts'].

        Post-hoc logit adjustment (Menon et al., 2021): a model trained by cross-entropy leans toward
        frequent classes; subtracting tau x log prior when predicting gives rare classes their due.
        """
        counts = self.info.get("class_counts")
        if not counts or len(counts) != self.num_classes:
            raise ZooError("--set task.logit_adjust: this dataset gives no training class counts (info['class_counts'])")
        counts = torch.tensor(counts, dtype=torch.float32, device=device).clamp_min(1)
        return (counts / counts.sum()).log()

    def merge_views(self, outputs: list[torch.Tensor]) -> torch.Tensor:
        # average probabilities, returned as log-probabilities so they still act as logits
        return torch.stack([o.float().softmax(-1) for o in outputs]).mean(0).log()

    def predict(self, output: torch.Tensor) -> list[dict[str, Any]]:
        names = self.info.get("classes") or [str(i) for i in range(self.num_classes)]
        prob, idx = self.scores(output).max(-1)
        return [{"label": names[i], "score": round(p, 4)} for p, i in zip(prob.tolist(), idx.tolist())]

    def report(self, trainer, run_dir) -> None:
        """confusion.png: the confusion matrix of the chosen weights on the test split (valid without one)."""
        from torchmetrics.functional.classification import multiclass_confusion_matrix

        from ..training import plots

        split = "test" if trainer.data.test is not None else "valid"
        if getattr(trainer.data, split) is None:
            return
        scores, targets = trainer.collect(split)
        matrix = multiclass_confusion_matrix(scores.argmax(-1), targets, self.num_classes)
        names = self.info.get("classes") or [str(i) for i in range(self.num_classes)]
        plots.confusion(matrix.numpy(), names, Path(run_dir) / "confusion.png", f"{split} split, chosen weights")

    def check_batch(self, x: Any, y: Any, dataset: str) -> None:
        if not isinstance(y, torch.Tensor) or y.dtype not in (torch.int64, torch.int32):
            raise ZooError(f"{dataset}: a classification dataset must yield integer labels, got {type(y).__name__}"
                           f"{'' if not isinstance(y, torch.Tensor) else ' of ' + str(y.dtype)}")
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= self.num_classes):
            raise ZooError(f"{dataset}: labels must lie in 0..{self.num_classes - 1}, got {int(y.max())}")


class BinaryTask(Task):
    """One logit per sample against labels 0/1; `info['pos_weight']` balances rare positives."""

    name = "binary"
    monitor = "auroc"
    directions = {"specificity": "max"}  # torchmetrics' BinarySpecificity leaves higher_is_better unset
    mixable = True
    Settings = LabelSettings

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.float()
        if self.settings.label_smoothing:
            target = target * (1 - self.settings.label_smoothing) + 0.5 * self.settings.label_smoothing
        weight = self.info.get("pos_weight")
        pos_weight = torch.tensor(float(weight), device=output.device) if weight else None
        return F.binary_cross_entropy_with_logits(output.float().reshape(-1), target.reshape(-1),
                                                  pos_weight=pos_weight)

    def soft_targets(self, target: torch.Tensor) -> torch.Tensor:
        return target.float()

    def metrics(self):
        threshold = float(self.info.get("threshold", 0.5))
        from torchmetrics import MetricCollection
        from torchmetrics.classification import BinaryAccuracy, BinaryAUROC, BinaryRecall, BinarySpecificity

        return MetricCollection({
            "auroc": BinaryAUROC(),
            "accuracy": BinaryAccuracy(threshold=threshold),
            "sensitivity": BinaryRecall(threshold=threshold),
            "specificity": BinarySpecificity(threshold=threshold),
        })

    def scores(self, output: torch.Tensor) -> torch.Tensor:
        return output.float().reshape(-1).sigmoid()

    def update_metrics(self, metrics, output: Any, target: Any) -> None:
        metrics.update(self.scores(output), target.long().reshape(-1))

    def report(self, trainer, run_dir) -> None:
        """roc.png: the ROC curve of the chosen weights on the test split (valid without one)."""
        from torchmetrics.functional.classification import binary_auroc, binary_roc

        from ..training import plots

        split = "test" if trainer.data.test is not None else "valid"
        if getattr(trainer.data, split) is None:
            return
        scores, targets = trainer.collect(split)
        targets = targets.long().reshape(-1)
        if targets.min() == targets.max():
            return  # one class only: no curve
        fpr, tpr, _ = binary_roc(scores, targets)
        plots.roc(fpr.numpy(), tpr.numpy(), float(binary_auroc(scores, targets)), Path(run_dir) / "roc.png",
                  f"{split} split, chosen weights")

    def check_batch(self, x: Any, y: Any, dataset: str) -> None:
        if not isinstance(y, torch.Tensor) or not ((y == 0) | (y == 1)).all():
            raise ZooError(f"{dataset}: a binary dataset must yield labels 0 or 1")

    def predict(self, output: torch.Tensor) -> list[dict[str, Any]]:
        names = self.info.get("classes") or ["negative", "positive"]
        threshold = float(self.info.get("threshold", 0.5))
        return [{"label": names[int(p >= threshold)], "score": round(p, 4)} for p in self.scores(output).tolist()]
