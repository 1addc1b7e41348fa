"""Anomaly tasks: a supervised normal/abnormal classifier and an unsupervised reconstruction scorer.

Both end a run the same way (report): an operating point chosen on the validation split, AUROC with a
bootstrap interval, sensitivity and specificity on the test split, AUROC per finding, and roc.png; the
probabilities calibrated on the validation split (reliability.png); and the familiarity check that
`zoo predict` applies to every film (familiarity.py).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from zoo import ZooError
from zoo.tasks import Task
from zoo.tasks.classification import BinaryTask

from . import calibration, familiarity
from .augment import opacities

TARGET_SENSITIVITY = 0.9  # screening: miss at most one abnormal film in ten on the validation split


class AnomalyTask(BinaryTask):
    """Normal/abnormal with a class-weighted BCE (info['pos_weight']) and AUROC monitored.

    The model gives one logit per film, or a logit map (N x 1 x H x W) whose smooth maximum is the film's
    logit. Targets are labels (N,), or lesion masks (N x H x W; a film is abnormal when its mask is not
    empty): masks add a per-pixel loss that teaches the map where lesions are.
    """

    name = "anomaly"
    predict_options = ("heatmap", "heatmap_dir")
    run_files = (familiarity.FILE,)
    mixable = False  # mixing two films would blend a lesion into a 'half normal' one
    sharpness = 8.0  # of the log-sum-exp pooling from the map to the film's logit

    def image_logits(self, output: torch.Tensor) -> torch.Tensor:
        if output.dim() == 4:
            flat = output.float().flatten(1)
            return (torch.logsumexp(self.sharpness * flat, 1) - math.log(flat.shape[1])) / self.sharpness
        return output.float().reshape(-1)

    @staticmethod
    def labels(target: torch.Tensor) -> torch.Tensor:
        return target.flatten(1).amax(1) if target.dim() > 1 else target.reshape(-1)

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = super().loss(self.image_logits(output), self.labels(target).float())
        if output.dim() == 4 and target.dim() == 3:
            loss = loss + balanced_pixel_loss(output.float()[:, 0], target.float())
        return loss

    def scores(self, output: torch.Tensor) -> torch.Tensor:
        return self.image_logits(output).sigmoid()

    def update_metrics(self, metrics, output, target) -> None:
        metrics.update(self.scores(output), self.labels(target).long())

    def merge_views(self, outputs):
        return torch.stack([o.float() for o in outputs]).mean(0)

    @staticmethod
    def evidence(scores):
        """What calibration maps to a probability: the film's logit."""
        p = scores.clip(1e-7, 1 - 1e-7)
        return np.log(p / (1 - p)) if isinstance(p, np.ndarray) else torch.logit(p)

    def predict(self, output: torch.Tensor) -> list[dict[str, Any]]:
        """The label at the operating point (chosen on the raw score); the probability calibrated when the run
        was, with the raw one kept."""
        threshold = float(self.info.get("threshold", 0.5))
        raw = self.scores(output)
        fitted = self.info.get("calibration")
        calibrated = calibration.apply(self.evidence(raw), fitted).tolist() if fitted else None
        rows = []
        for i, p in enumerate(raw.tolist()):
            row = {"label": "abnormal" if p >= threshold else "normal", "anomaly_probability": round(p, 4)}
            if calibrated is not None:
                row.update(anomaly_probability=round(calibrated[i], 4), anomaly_probability_uncalibrated=round(p, 4))
            rows.append(row)
        return rows

    def report(self, trainer, run_dir) -> None:
        write_report(self, trainer, Path(run_dir))

    def card(self) -> str:
        return card(self.info)

    def annotate(self, predictor, items, predictions) -> None:
        annotate_films(self, predictor, items, predictions)


def balanced_pixel_loss(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Per-pixel BCE averaged over lesion pixels and over the other pixels separately, then summed.

    Lesions cover about 0.1% of the pixels: in a plain mean their gradient is hundreds of times weaker than
    the film-level loss, whose gradient early on lands on whichever pixels happen to be highest, and the
    map learns nothing for many epochs. Balanced, the lesions speak as loud as the film.
    """
    per_pixel = F.binary_cross_entropy_with_logits(logits, masks, reduction="none")
    lesion = masks > 0.5
    background = per_pixel[~lesion].mean() if (~lesion).any() else per_pixel.sum() * 0
    return background + (per_pixel[lesion].mean() if lesion.any() else per_pixel.sum() * 0)


class ReconstructionTask(Task):
    """An autoencoder trained on normal films; a film's anomaly score is its worst local reconstruction error."""

    name = "reconstruction"
    predict_options = ("heatmap", "heatmap_dir")
    run_files = (familiarity.FILE,)
    monitor = "loss"  # needs no abnormal labels
    window = 7  # pixels over which the squared error is averaged before taking the maximum

    def forward(self, model, x):
        return model(x), x

    def loss(self, output, target) -> torch.Tensor:
        reconstruction, x = output
        return F.mse_loss(reconstruction.float(), x.float())

    def scores(self, output) -> torch.Tensor:
        reconstruction, x = output
        error = (reconstruction.float() - x.float()).pow(2).mean(1, keepdim=True)
        local = F.avg_pool2d(error, self.window, stride=1, padding=self.window // 2)
        return local.flatten(1).amax(1)

    def metrics(self):
        from torchmetrics import MetricCollection  # here: prediction never needs it, and it imports slowly
        from torchmetrics.classification import BinaryAUROC

        return MetricCollection({"auroc": BinaryAUROC()})

    def update_metrics(self, metrics, output, target) -> None:
        metrics.update(self.scores(output), target.long().reshape(-1))

    def merge_views(self, outputs):
        return torch.stack([o[0] for o in outputs]).mean(0), outputs[0][1]

    @staticmethod
    def evidence(scores):
        """What calibration maps to a probability: the log of the reconstruction error."""
        return np.log(np.maximum(scores, 1e-12)) if isinstance(scores, np.ndarray) else scores.clamp_min(1e-12).log()

    def predict(self, output) -> list[dict[str, Any]]:
        threshold, fitted = self.info.get("threshold"), self.info.get("calibration")
        scores = self.scores(output)
        calibrated = calibration.apply(self.evidence(scores), fitted).tolist() if fitted else None
        rows = []
        for i, s in enumerate(scores.tolist()):
            row = {"label": ("abnormal" if s >= threshold else "normal") if threshold is not None else "?",
                   "anomaly_score": round(s, 5)}
            if calibrated is not None:
                row["anomaly_probability"] = round(calibrated[i], 4)
            rows.append(row)
        return rows

    def report(self, trainer, run_dir) -> None:
        write_report(self, trainer, Path(run_dir))

    def card(self) -> str:
        return card(self.info)

    def annotate(self, predictor, items, predictions) -> None:
        annotate_films(self, predictor, items, predictions)


def annotate_films(task: Task, predictor, items, predictions: list[dict[str, Any]]) -> None:
    """What `zoo predict` adds to a film's prediction: whether the film is like the training films and, with
    `--heatmap` (plugin.zoo_predict_options), Grad-CAM (classifiers) or the model's anomaly map (map models),
    written to --heatmap-dir, else --out, else RUN_DIR/heatmaps."""
    heatmap, folder = task.options.get("heatmap"), task.options.get("heatmap_dir")
    if folder and not heatmap:
        raise ZooError("zoo predict: --heatmap-dir needs --heatmap")
    if heatmap:
        from .gradcam import write_heatmaps

        write_heatmaps(predictor, predictions, folder or predictor.out_dir or Path(predictor.dir) / "heatmaps")
    judge_familiarity(predictor, items, predictions)


def judge_familiarity(run, items, predictions: list[dict[str, Any]]) -> None:
    """A film unlike the training films is labelled 'unknown', whatever its score."""
    for prediction, judged in zip(predictions, familiarity.judge(run, items)):
        prediction.update(judged)
        if judged and not judged["familiar"]:
            prediction["label"] = "unknown"


def card(info: dict[str, Any]) -> str:
    """The model card's account of the calibration and the familiarity check."""
    lines = []
    fitted = info.get("calibration")
    if fitted:
        lines += ["## Calibration", "", f"`anomaly_probability` is calibrated: {fitted['method']} "
                  f"(a={fitted['a']:.4g}, b={fitted['b']:.4g}); `zoo predict --json` keeps the raw score beside it. "
                  "The label uses the operating point in `operating_point.json`; reliability.png shows both.", ""]
    lines += familiarity.card(info.get("familiarity"), "films")
    return "\n".join(lines)


class HealingTask(ReconstructionTask):
    """Reconstruction of normal films from copies carrying synthetic blobs; scored by reconstruction error.

    In training, normal films get soft bright blobs of random size, shape and contrast (about one in six
    stays clean) and the model must return the clean film: it learns to remove what is not normal
    anatomy while copying the rest. At evaluation the film goes in as it is, and a real lesion, removed
    like the blobs were, leaves a large local error. No abnormal film or label is used to train.
    """

    def forward(self, model, x):
        if model.training:
            added, _ = opacities(len(x), x.shape[-2], x.shape[-1], shares=(0.75, 0.35), device=x.device)
            return model(x + added[:, None] / self.info["std"]), x  # film units, normalized like x
        return model(x), x


# -- the end-of-run report -----------------------------------------------------------------
@torch.no_grad()
def collect(task: Task, trainer, dataset) -> tuple[np.ndarray, np.ndarray]:
    """Scores and labels of a whole split with the weights being evaluated (its first `eval_limit` batches
    when that quick-check setting is on, as in every evaluation)."""
    model = trainer.eval_model()
    model.eval()
    loader = torch.utils.data.DataLoader(dataset, batch_size=trainer.config.eval_batch_size)
    scores, labels = [], []
    for i, (x, y) in enumerate(loader):
        if trainer.config.eval_limit and i >= trainer.config.eval_limit:
            break
        scores.append(task.scores(task.forward(model, x.to(trainer.device))).float().cpu())
        labels.append(AnomalyTask.labels(y).long())
    return torch.cat(scores).numpy(), torch.cat(labels).numpy().astype(int)


def operating_threshold(scores: np.ndarray, labels: np.ndarray, sensitivity: float = TARGET_SENSITIVITY) -> float:
    """The highest threshold that still reaches `sensitivity`; the 95th percentile of normals without positives."""
    positives = np.sort(scores[labels == 1])
    if len(positives) == 0:
        return float(np.quantile(scores[labels == 0], 0.95))
    index = int(np.floor((1 - sensitivity) * len(positives)))
    return float(positives[min(index, len(positives) - 1)])


def at_threshold(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, float]:
    flagged = scores >= threshold
    pos, neg = labels == 1, labels == 0
    return {"sensitivity": float(flagged[pos].mean()) if pos.any() else float("nan"),
            "specificity": float((~flagged[neg]).mean()) if neg.any() else float("nan")}


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores)) if 0 < labels.sum() < len(labels) else float("nan")


def auroc_interval(scores: np.ndarray, labels: np.ndarray, rounds: int = 500, seed: int = 0) -> list[float]:
    """95% bootstrap interval, resampling normals and abnormals separately (keeps the prevalence)."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    if not len(pos) or not len(neg):
        return [float("nan"), float("nan")]
    values = []
    for _ in range(rounds):
        idx = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
        values.append(roc_auc_score(labels[idx], scores[idx]))
    return [round(float(v), 4) for v in np.quantile(values, [0.025, 0.975])]


def by_finding(scores: np.ndarray, labels: np.ndarray, groups: list[str], threshold: float) -> dict[str, dict]:
    """Each finding's abnormal films against all normal films: AUROC and the share caught at the threshold."""
    normal = labels == 0
    out = {}
    for group in sorted({g for g, y in zip(groups, labels) if y == 1}):
        mine = np.array([g == group for g in groups]) & (labels == 1)
        keep = mine | normal
        out[group] = {"count": int(mine.sum()), "auroc": round(auroc(scores[keep], labels[keep]), 4),
                      "sensitivity": round(float((scores[mine] >= threshold).mean()), 4)}
    return out


def write_report(task: Task, trainer, run_dir: Path) -> None:
    valid_scores, valid_labels = collect(task, trainer, trainer.data.valid)
    threshold = operating_threshold(valid_scores, valid_labels)
    result: dict[str, Any] = {
        "threshold": threshold, "chosen_on": f"validation, sensitivity >= {TARGET_SENSITIVITY}",
        "valid": {"auroc": round(auroc(valid_scores, valid_labels), 4),
                  **at_threshold(valid_scores, valid_labels, threshold)}}
    curves = {"valid": (valid_scores, valid_labels)}
    test = trainer.data.test
    if test is not None:
        scores, labels = collect(task, trainer, test)
        curves["test"] = (scores, labels)
        result["test"] = {"auroc": round(auroc(scores, labels), 4), "auroc_95ci": auroc_interval(scores, labels),
                          **at_threshold(scores, labels, threshold), "count": int(len(labels)),
                          "abnormal": int(labels.sum())}
        if getattr(test, "groups", None):
            result["test_by_finding"] = by_finding(scores, labels, test.groups[:len(labels)], threshold)
    fitted = calibration.fit(task.evidence(valid_scores), valid_labels)
    if fitted is not None and "test" in curves:
        scores, labels = curves["test"]
        calibrated = calibration.apply(task.evidence(scores), fitted)
        fitted["test_ece"] = round(calibration.expected_calibration_error(calibrated, labels), 4)
        reliability = {"calibrated": (calibrated, labels)}
        if isinstance(task, AnomalyTask):  # a reconstruction error is no probability to begin with
            fitted["test_ece_uncalibrated"] = round(calibration.expected_calibration_error(scores, labels), 4)
            reliability["uncalibrated"] = (scores, labels)
        calibration.plot_reliability(reliability, run_dir / "reliability.png")
    result["calibration"] = fitted or "not fitted: the validation films are all of one class"
    record = familiarity.measure(trainer, run_dir, {"train": trainer.data.train, "valid": trainer.data.valid,
                                                    "test": test})
    result["familiarity"] = record
    (run_dir / "operating_point.json").write_text(json.dumps(result, indent=2) + "\n")
    plot_roc(curves, threshold, run_dir / "roc.png")
    _update_json(run_dir / "summary.json", lambda s: s.update({"operating_point": result}))
    # `zoo predict` reads these from the run's info: the chosen operating point, the calibration, the check
    found = {"threshold": threshold, "familiarity": record, **({"calibration": fitted} if fitted else {})}
    _update_json(run_dir / "config.json", lambda c: c["info"].update(found))
    task.info.update(found)


def _update_json(path: Path, change) -> None:
    if path.is_file():
        payload = json.loads(path.read_text())
        change(payload)
        path.write_text(json.dumps(payload, indent=2) + "\n")


def plot_roc(curves: dict[str, tuple[np.ndarray, np.ndarray]], threshold: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    fig, ax = plt.subplots(figsize=(4.8, 4.8))
    for split, (scores, labels) in curves.items():
        if not 0 < labels.sum() < len(labels):
            continue
        fpr, tpr, _ = roc_curve(labels, scores)
        ax.plot(fpr, tpr, label=f"{split} (AUROC {auroc(scores, labels):.3f})")
        point = at_threshold(scores, labels, threshold)
        ax.scatter([1 - point["specificity"]], [point["sensitivity"]], zorder=3)
    ax.plot([0, 1], [0, 1], ls=":", c="grey", lw=1)
    ax.set(xlabel="1 - specificity", ylabel="sensitivity", title="ROC (dots: operating point)", xlim=(0, 1),
           ylim=(0, 1.01))
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
