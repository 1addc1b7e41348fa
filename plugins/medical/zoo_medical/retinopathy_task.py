"""Diabetic retinopathy grading: the task of medical/retinopathy (grade 0-4 and referable retinopathy, grade >= 2),
its end-of-run report, Grad-CAM and familiarity at `zoo predict`, and the linear baseline's features.

Metrics: quadratic weighted kappa (torchmetrics), accuracy, AUROC of referable retinopathy (the probability of
grade >= 2: the softmax mass of grades 2-4). The report adds sensitivity at 90% specificity, the referable
probability calibrated on the validation photos (Platt scaling, calibration.py), and the familiarity check.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from zoo import ZooError
from zoo.config import LabelSettings
from zoo.tasks import Task

from . import calibration, familiarity
from .retinopathy_sim import GRADES

REFERABLE = 2  # moderate NPDR or worse


def referable_probability(logits: torch.Tensor) -> torch.Tensor:
    return logits.float().softmax(1)[:, REFERABLE:].sum(1)


def grading_resnet(in_channels: int = 3, num_classes: int = 5, image_size: int = 128, width: int = 24,
                   depth: int = 10) -> nn.Module:
    """MONAI ResNet-10/18 (basic blocks) for photos: a 3x3 stride-2 stem without max pooling, so that a
    microaneurysm of a pixel or two is not pooled away before the first block."""
    from monai.networks.nets import ResNet

    from .models import RESNET_LAYERS

    if depth not in RESNET_LAYERS:
        raise ZooError(f"--set model.depth: expected one of {', '.join(map(str, RESNET_LAYERS))}, got {depth}")
    return ResNet(block="basic", layers=RESNET_LAYERS[depth], block_inplanes=[width, 2 * width, 4 * width, 8 * width],
                  spatial_dims=2, n_input_channels=in_channels, conv1_t_size=3, conv1_t_stride=2, no_max_pool=True,
                  num_classes=num_classes)


class GradingMetrics(Metric):
    """Quadratic weighted kappa and accuracy of the most likely grade, AUROC of the referable probability
    (torchmetrics' functional metrics over the whole split)."""

    full_state_update = False
    higher_is_better = True

    def __init__(self):
        super().__init__()
        self.add_state("logits", default=[], dist_reduce_fx="cat")
        self.add_state("grades", default=[], dist_reduce_fx="cat")

    def update(self, logits: torch.Tensor, grades: torch.Tensor) -> None:
        self.logits.append(logits.detach().float())
        self.grades.append(grades.detach().long())

    def compute(self) -> dict[str, torch.Tensor]:
        from torchmetrics.functional.classification import binary_auroc, multiclass_cohen_kappa

        logits, grades = dim_zero_cat(self.logits), dim_zero_cat(self.grades)
        predicted = logits.argmax(1)
        referable = (grades >= REFERABLE).long()
        auroc = binary_auroc(referable_probability(logits), referable) if 0 < referable.sum() < len(referable) \
            else torch.tensor(float("nan"))
        return {"kappa": multiclass_cohen_kappa(predicted, grades, 5, weights="quadratic"),
                "accuracy": (predicted == grades).float().mean(), "auroc_referable": auroc}


class RetinopathyTask(Task):
    """Five grades with cross-entropy; quadratic weighted kappa picks the checkpoint."""

    name = "retinopathy"
    Settings = LabelSettings
    monitor = "kappa"
    directions = {"kappa": "max", "accuracy": "max", "auroc_referable": "max"}
    predict_options = ("heatmap", "heatmap_dir")
    run_files = (familiarity.FILE,)  # the familiarity statistics, read at prediction

    def loss(self, output, target) -> torch.Tensor:
        return F.cross_entropy(output.float(), target.long(), label_smoothing=self.settings.label_smoothing)

    def metrics(self):
        return GradingMetrics()

    def scores(self, output) -> torch.Tensor:
        return output.float().softmax(1)

    def update_metrics(self, metrics, output, target) -> None:
        metrics.update(output.float(), target.long())

    def predict(self, output) -> list[dict[str, Any]]:
        probabilities = self.scores(output)
        raw = referable_probability(output)
        fitted = self.info.get("calibration")
        calibrated = calibration.apply(evidence(raw.cpu().numpy()), fitted) if fitted else None
        rows = []
        for i, p in enumerate(probabilities.tolist()):
            grade = int(np.argmax(p))
            row = {"grade": grade, "label": GRADES[grade], "referable_probability": round(float(raw[i]), 4),
                   "grade_probabilities": [round(v, 4) for v in p]}
            if calibrated is not None:
                row["referable_probability"] = round(float(calibrated[i]), 4)
                row["referable_probability_uncalibrated"] = round(float(raw[i]), 4)
            threshold = self.info.get("referable_threshold")
            if threshold is not None:
                row["referable"] = bool(raw[i] >= threshold)
            rows.append(row)
        return rows

    def annotate(self, run, items, predictions) -> None:
        """Familiarity (a photo unlike the training photos gets the label 'unknown'), and with --heatmap a Grad-CAM
        of the predicted grade over the photo, written to --heatmap-dir, else --out, else RUN_DIR/heatmaps."""
        if self.info.get("familiarity"):
            for prediction, judged in zip(predictions, familiarity.judge(run, items)):
                prediction.update(judged)
                if judged and not judged["familiar"]:
                    prediction["label"] = "unknown"
        if self.options.get("heatmap_dir") and not self.options.get("heatmap"):
            raise ZooError("zoo predict: --heatmap-dir needs --heatmap")
        if self.options.get("heatmap"):
            write_heatmaps(self, run, items, predictions,
                           Path(self.options.get("heatmap_dir") or run.out_dir or Path(run.dir) / "heatmaps"))

    def report(self, trainer, run_dir) -> None:
        write_report(self, trainer, Path(run_dir))

    def card(self) -> str:
        lines = ["## Grading", "", "Grades on the international clinical scale (0 none, 1 mild, 2 moderate, 3 severe "
                 "NPDR, 4 proliferative); referable = grade 2 or worse, its probability the softmax mass of grades "
                 "2-4, calibrated on the validation photos. `grading.json` holds the test kappa, AUROC and "
                 "sensitivity at 90% specificity. **Not a medical device**: a demonstration of the method.", ""]
        lines += familiarity.card(self.info.get("familiarity"), "photos")
        return "\n".join(lines)


def evidence(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def write_heatmaps(task, run, items, predictions, folder: Path) -> None:
    from monai.visualize import GradCAM

    from .gradcam import last_conv_layer, overlay

    folder.mkdir(parents=True, exist_ok=True)
    model = run.model  # the run's zoo.predictor.Predictor: its network in eval mode
    for module in model.modules():  # gradient hooks forbid in-place changes of activations
        if isinstance(module, nn.ReLU):
            module.inplace = False
    cam = GradCAM(nn_module=model, target_layers=last_conv_layer(model))
    info = task.info
    mean, std = torch.tensor(info["mean"])[:, None, None], torch.tensor(info["std"])[:, None, None]
    for item, prediction in zip(items, predictions):
        x = item.detach().clone()[None].to(run.device)
        with torch.enable_grad():
            heat = cam(x=x.requires_grad_(True), class_idx=prediction["grade"])[0, 0].detach().float().cpu().numpy()
        photo = (item.detach().cpu() * std + mean).clamp(0, 1).permute(1, 2, 0).numpy()
        name = Path(getattr(item, "meta", {}).get("file", "input")).stem
        target = folder / f"{name}.heatmap.png"
        overlay(photo, heat, target, f"Grad-CAM of grade {prediction['grade']} ({prediction['label']}), "
                                     f"referable {prediction['referable_probability']}", "photo (as the model sees it)")
        prediction["heatmap"] = str(target)


# -- the end-of-run report ------------------------------------------------------------------------------------
@torch.no_grad()
def collect(model, dataset, device, batch_size: int, limit: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Softmax probabilities (N x 5) and grades of a split."""
    model.eval()
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size)
    probs, grades = [], []
    for i, (x, y) in enumerate(loader):
        if limit and i >= limit:
            break
        probs.append(model(x.to(device)).float().softmax(1).cpu())
        grades.append(y)
    return torch.cat(probs).numpy(), torch.cat(grades).numpy().astype(int)


def sensitivity_at_specificity(scores: np.ndarray, labels: np.ndarray, specificity: float = 0.9) -> float:
    """The best sensitivity among thresholds that keep at least `specificity` on these photos."""
    from sklearn.metrics import roc_curve

    if not 0 < labels.sum() < len(labels):
        return float("nan")
    fpr, tpr, _ = roc_curve(labels, scores)
    keep = fpr <= 1 - specificity + 1e-12
    return float(tpr[keep].max()) if keep.any() else 0.0


def quadratic_kappa(predicted: np.ndarray, truth: np.ndarray) -> float:
    from sklearn.metrics import cohen_kappa_score

    return float(cohen_kappa_score(truth, predicted, weights="quadratic", labels=list(range(5))))


def write_report(task, trainer, run_dir: Path) -> None:
    from .tasks import _update_json, auroc, auroc_interval

    model, device = trainer.eval_model(), trainer.device
    batch, limit = trainer.config.eval_batch_size, trainer.config.eval_limit
    valid_p, valid_y = collect(model, trainer.data.valid, device, batch, limit)
    valid_ref, valid_lab = valid_p[:, REFERABLE:].sum(1), (valid_y >= REFERABLE).astype(int)
    negatives = np.sort(valid_ref[valid_lab == 0])
    threshold = float(negatives[min(len(negatives) - 1, int(np.ceil(0.9 * len(negatives))) - 1)]) \
        if len(negatives) else 0.5  # 90% of the validation photos without referable DR stay below it
    fitted = calibration.fit(evidence(valid_ref), valid_lab)
    result: dict[str, Any] = {"referable_threshold": threshold, "chosen_on": "validation, specificity >= 0.9"}
    if trainer.data.test is not None:
        p, y = collect(model, trainer.data.test, device, batch, limit)
        ref, lab = p[:, REFERABLE:].sum(1), (y >= REFERABLE).astype(int)
        flagged = ref >= threshold
        from sklearn.metrics import confusion_matrix

        result["test"] = {
            "kappa": round(quadratic_kappa(p.argmax(1), y), 4), "accuracy": round(float((p.argmax(1) == y).mean()), 4),
            "auroc_referable": round(auroc(ref, lab), 4), "auroc_referable_95ci": auroc_interval(ref, lab),
            "sensitivity_at_90_specificity": round(sensitivity_at_specificity(ref, lab), 4),
            "at_validation_threshold": {"sensitivity": round(float(flagged[lab == 1].mean()), 4) if lab.any() else None,
                                        "specificity": round(float((~flagged[lab == 0]).mean()), 4)
                                        if (lab == 0).any() else None},
            "confusion": confusion_matrix(y, p.argmax(1), labels=list(range(5))).tolist(), "count": int(len(y))}
        if fitted is not None:
            fitted["test_ece"] = round(calibration.expected_calibration_error(
                calibration.apply(evidence(ref), fitted), lab), 4)
            fitted["test_ece_uncalibrated"] = round(calibration.expected_calibration_error(ref, lab), 4)
    result["calibration"] = fitted or "not fitted: the validation photos are all of one class"
    record = familiarity.measure(trainer, run_dir, {"train": trainer.data.train, "valid": trainer.data.valid,
                                                    "test": trainer.data.test})
    result["familiarity"] = record
    (run_dir / "grading.json").write_text(json.dumps(result, indent=2) + "\n")
    found = {"referable_threshold": threshold, "familiarity": record, **({"calibration": fitted} if fitted else {})}
    _update_json(run_dir / "config.json", lambda c: c["info"].update(found))
    _update_json(run_dir / "summary.json", lambda s: s.update({"grading": result.get("test", {})}))
    task.info.update(found)


# -- the linear baseline's features ---------------------------------------------------------------------------
def lesion_features(photo: np.ndarray) -> np.ndarray:
    """Colour and lesion-filter features of one photo (S x S x 3 in [0, 1]): per-channel mean, spread and
    percentiles inside the field of view; on the green channel, dark small spots (black top-hat, radius 2 and 4 px:
    microaneurysms, haemorrhages) and bright ones (white top-hat: exudates, cotton-wool spots), and yellow spots
    (red minus blue, white top-hat), each as the share of the field above three levels; and the strongest
    dark-blob responses of a Laplacian of Gaussian (sigma 1, 2)."""
    from scipy.ndimage import gaussian_laplace
    from skimage.morphology import black_tophat, disk, white_tophat

    from scipy.ndimage import binary_erosion

    field = binary_erosion(photo.mean(-1) > 0.04, iterations=3)  # the filters respond to the field's dark border
    n = max(int(field.sum()), 1)
    out = []
    for c in range(3):
        values = photo[..., c][field] if field.any() else photo[..., c].ravel()
        out += [values.mean(), values.std(), *np.percentile(values, [5, 50, 95])]
    green = photo[..., 1] / max(float(np.median(photo[..., 1][field])) if field.any() else 1.0, 1e-3)
    yellow = photo[..., 0] - photo[..., 2]
    # levels above the vessels' response (vessels darken the green channel by about a fifth, lesions by half)
    for image, op, levels in ((green, black_tophat, (0.2, 0.35, 0.5)), (green, white_tophat, (0.1, 0.2, 0.3)),
                              (yellow, white_tophat, (0.05, 0.1, 0.2))):
        for radius in (2, 4):
            response = op(image, disk(radius)) * field
            out += [float((response > level).sum()) / n for level in levels]
    for sigma in (1.0, 2.0):
        blobs = gaussian_laplace(green, sigma) * field * sigma ** 2  # dark blobs respond positive
        out += [float(np.percentile(blobs[field], 99.5)) if field.any() else 0.0,
                float((blobs > 0.1).sum()) / n, float((blobs > 0.2).sum()) / n]
    return np.asarray(out, np.float64)
