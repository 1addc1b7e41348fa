"""Nucleus instance segmentation: the task of medical/pathology-nuclei, its watershed post-processing, the
instance matching behind AP@0.5 and F1, slide-scale prediction, and the classical baseline.

The network (a MONAI U-Net) gives two maps per pixel: foreground (inside a nucleus) and the distance to the
nucleus's border, scaled to 1 at its centre. Instances: seeds where the distance map passes 0.5 inside the
foreground, grown over the foreground by a watershed of the distance map (skimage.segmentation.watershed);
touching nuclei part where their distances dip. Matching (written here, it is a few lines): the IoU of every true
and predicted nucleus from their pixel contingency table, then scipy's linear_sum_assignment; a pair with
IoU >= 0.5 is a true positive. AP@0.5 = TP / (TP + FP + FN), as DSB2018 and StarDist report it; F1 = 2TP /
(2TP + FP + FN). Both are pooled over a split's tiles.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics import Metric

from zoo import ZooError
from zoo.tasks import Task

from . import familiarity
from .nuclei_slide import Source, draw_overlay, geojson, outline

SEED_LEVEL, FOREGROUND = 0.5, 0.5
MIN_AREA = 8  # pixels: smaller predicted pieces are dropped


# -- from maps to instances ---------------------------------------------------------------------------------------
def instances(probability: np.ndarray, distance: np.ndarray, min_area: int = MIN_AREA) -> np.ndarray:
    """Instance labels (int32) from the foreground probability and the predicted distance map."""
    from scipy import ndimage
    from skimage.morphology import remove_small_objects
    from skimage.segmentation import relabel_sequential, watershed

    foreground = probability > FOREGROUND
    if not foreground.any():
        return np.zeros(probability.shape, np.int32)
    seeds, _ = ndimage.label(remove_small_objects((distance > SEED_LEVEL) & foreground, max_size=2))
    labels = watershed(-distance, seeds, mask=foreground)
    leftover, n = ndimage.label(foreground & (labels == 0))  # foreground without a seed: a nucleus of its own
    labels = np.where(leftover > 0, leftover + labels.max(), labels)
    sizes = np.bincount(labels.ravel())
    labels[sizes[labels] < min_area] = 0
    return relabel_sequential(labels)[0].astype(np.int32)


def matched(true: np.ndarray, predicted: np.ndarray, threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """The ids (true, predicted) of the pairs with IoU >= threshold, paired one to one by linear_sum_assignment."""
    from scipy.optimize import linear_sum_assignment

    t, p = int(true.max()), int(predicted.max())
    if t == 0 or p == 0:
        return np.zeros(0, int), np.zeros(0, int)
    table = np.bincount(true.ravel().astype(np.int64) * (p + 1) + predicted.ravel(),
                        minlength=(t + 1) * (p + 1)).reshape(t + 1, p + 1)[1:, 1:].astype(np.float64)
    areas_t = np.bincount(true.ravel(), minlength=t + 1)[1:, None]
    areas_p = np.bincount(predicted.ravel(), minlength=p + 1)[None, 1:]
    iou = table / np.maximum(areas_t + areas_p - table, 1)
    rows, cols = linear_sum_assignment(-iou)
    good = iou[rows, cols] >= threshold
    return rows[good] + 1, cols[good] + 1


def match(true: np.ndarray, predicted: np.ndarray, threshold: float = 0.5) -> tuple[int, int, int]:
    """(TP, FP, FN) of the predicted nuclei against the true ones."""
    tp = len(matched(true, predicted, threshold)[0])
    return tp, int(predicted.max()) - tp, int(true.max()) - tp


def ap_f1(tp: float, fp: float, fn: float) -> tuple[float, float]:
    return tp / max(tp + fp + fn, 1), 2 * tp / max(2 * tp + fp + fn, 1)


def maps(logits: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Foreground probability and distance map (N x H x W each) from the network's two logit maps."""
    p = logits.detach().float().sigmoid().cpu().numpy()
    return p[:, 0], p[:, 1]


class NucleiMetrics(Metric):
    """AP@0.5 and F1 of the watershed instances against the true nuclei, pooled over tiles; Dice of the foreground."""

    full_state_update = False
    higher_is_better = True

    def __init__(self):
        super().__init__()
        for name in ("tp", "fp", "fn", "overlap", "total"):
            self.add_state(name, default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, logits: torch.Tensor, target: dict[str, torch.Tensor]) -> None:
        probability, distance = maps(logits)
        truth = target["labels"].cpu().numpy()
        for prob, dist, true in zip(probability, distance, truth):
            tp, fp, fn = match(true, instances(prob, dist))
            self.tp += tp
            self.fp += fp
            self.fn += fn
            predicted = prob > FOREGROUND
            self.overlap += float((predicted & (true > 0)).sum())
            self.total += float(predicted.sum() + (true > 0).sum())

    def compute(self) -> dict[str, torch.Tensor]:
        ap, f1 = ap_f1(float(self.tp), float(self.fp), float(self.fn))
        dice = 2 * self.overlap / self.total.clamp_min(1)
        return {"ap50": torch.tensor(ap), "f1": torch.tensor(f1), "dice": dice}


# -- pictures and slides, tile by tile ----------------------------------------------------------------------------------
def cuts(starts: list[int], tile: int) -> list[float]:
    """Where neighbouring tiles hand over: the middle of their overlap."""
    return [(a + tile + b) / 2 for a, b in zip(starts, starts[1:])]


@torch.no_grad()
def segment(model, source: Source, device, batch_size: int = 8) -> dict[str, Any]:
    """Nuclei of a picture or slide: each tile through the network, instances by watershed, each nucleus kept by
    the tile whose core holds its centre (tiles overlap; the core ends halfway into the overlap). Outlines in the
    file's pixels (level 0)."""
    from skimage.measure import regionprops

    tiles = source.tiles
    xs, ys = sorted({t[0] for t in tiles}), sorted({t[1] for t in tiles})
    width = max(t[2] for t in tiles)
    height = max(t[3] for t in tiles)
    xcuts, ycuts = [-np.inf, *cuts(xs, width), np.inf], [-np.inf, *cuts(ys, height), np.inf]
    keep_labels = source.kind == "picture"
    labels_out = np.zeros((source.height, source.width), np.int32) if keep_labels else None
    nuclei, rows = [], []
    for start in range(0, len(tiles), batch_size):
        chunk = tiles[start:start + batch_size]
        x = torch.stack([torch.from_numpy(source.read(*t[:4]))[None] for t in chunk]).to(device)
        pad_h, pad_w = (-x.shape[-2]) % 16, (-x.shape[-1]) % 16
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="reflect" if min(x.shape[-2:]) > max(pad_h, pad_w) else "replicate")
        logits = model(x)[..., :x.shape[-2] - pad_h, :x.shape[-1] - pad_w]
        probability, distance = maps(logits)
        for (tx, ty, tw, th, share), prob, dist in zip(chunk, probability, distance):
            i, j = xs.index(tx), ys.index(ty)
            labels = instances(prob, dist)
            count = 0
            for region in regionprops(labels, intensity_image=prob):
                cy, cx = region.centroid
                if not (xcuts[i] <= tx + cx < xcuts[i + 1] and ycuts[j] <= ty + cy < ycuts[j + 1]):
                    continue
                ring = outline(region.image)
                if ring is None:
                    continue
                r0, c0 = region.bbox[:2]
                count += 1
                nuclei.append({"id": len(nuclei) + 1, "ring": (ring + [tx + c0, ty + r0] + 0.5) * source.scale - 0.5,
                               "area": int(region.area) * source.scale ** 2,
                               "score": round(float(region.intensity_mean), 3)})
                if keep_labels:
                    rr, cc = region.coords[:, 0] + ty, region.coords[:, 1] + tx
                    inside = (rr < source.height) & (cc < source.width)
                    labels_out[rr[inside], cc[inside]] = len(nuclei)
            rows.append({"x": tx * source.scale, "y": ty * source.scale, "width": tw * source.scale,
                         "height": th * source.scale, "tissue_share": round(share, 3), "nuclei": count})
    tissue_px = sum(r["width"] * r["height"] * r["tissue_share"] for r in rows)
    summary = {**source.describe(), "nuclei": len(nuclei)}
    if source.mpp:
        mm2 = tissue_px / source.scale ** 2 * (source.mpp / 1000) ** 2
        summary["nuclei_per_mm2"] = round(len(nuclei) / max(mm2, 1e-9), 1)
        for r in rows:
            area = r["width"] * r["height"] * r["tissue_share"] / source.scale ** 2 * (source.mpp / 1000) ** 2
            r["nuclei_per_mm2"] = round(r["nuclei"] / max(area, 1e-9), 1)
    if keep_labels and source.scale > 1:  # back to the file's pixels
        labels_out = labels_out.repeat(source.scale, 0).repeat(source.scale, 1)[:source.full_height, :source.full_width]
    return {"summary": summary, "nuclei": nuclei, "tiles": rows, "labels": labels_out, "source": source}


class Segmented:
    """Per-input results of `segment` in a batch's output: not a list, so that `zoo.tasks.index` hands it whole
    to `write_output`, with the input's position beside it."""

    def __init__(self, results):
        self.results = list(results)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.results[i]

    def __iter__(self):
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)


# -- the task ----------------------------------------------------------------------------------------------------------
class NucleiTask(Task):
    """Foreground (BCE + Dice, MONAI DiceLoss) and distance to the border (BCE on the soft target), nuclei by
    watershed; AP@0.5, F1 and Dice."""

    name = "nuclei"
    monitor = "ap50"
    directions = {"ap50": "max", "f1": "max", "dice": "max"}
    run_files = (familiarity.FILE,)

    def __init__(self, config, info):
        super().__init__(config, info)
        from monai.losses import DiceLoss

        self.dice = DiceLoss(sigmoid=True)

    def forward(self, model, x):
        if isinstance(x, torch.Tensor):
            return model(x)
        device = next(model.parameters()).device
        return {"index": torch.arange(len(x)), "results": Segmented(segment(model, s, device) for s in x)}

    def collate(self, items: list[Any]) -> Any:
        return list(items) if isinstance(items[0], Source) else super().collate(items)

    def loss(self, output, target) -> torch.Tensor:
        logits = output.float()
        foreground = (target["labels"] > 0).float()[:, None]
        return (F.binary_cross_entropy_with_logits(logits[:, :1], foreground) + self.dice(logits[:, :1], foreground)
                + F.binary_cross_entropy_with_logits(logits[:, 1:], target["dist"].float()[:, None]))

    def metrics(self):
        return NucleiMetrics()

    def update_metrics(self, metrics, output, target) -> None:
        metrics.update(output, target)

    def check_batch(self, x, y, dataset: str) -> None:
        if not isinstance(y, dict) or "labels" not in y:
            raise ZooError(f"{dataset}: {self.name} needs targets with instance labels and distance maps")

    # -- prediction ------------------------------------------------------------------------------------------------------
    def predict(self, output) -> list[dict[str, Any]]:
        if isinstance(output, dict) and "results" in output:
            return [dict(result["summary"]) for result in output["results"]]
        probability, distance = maps(output)
        return [{"nuclei": int(instances(p, d).max())} for p, d in zip(probability, distance)]

    def annotate(self, run, items, predictions) -> None:
        """Familiarity: the median over up to 8 tissue tiles of their distance from the training tiles."""
        if not self.info.get("familiarity") or not items or not isinstance(items[0], Source):
            return
        size = int(self.info["image_size"])
        for source, prediction in zip(items, predictions):
            pick = np.linspace(0, len(source.tiles) - 1, min(8, len(source.tiles))).round().astype(int)
            crops = [torch.from_numpy(source.read(*source.tiles[i][:2], size, size))[None] for i in pick]
            judged = familiarity.judge(run, crops)
            if judged and judged[0]:
                ratio = float(np.median([j["unfamiliarity"] for j in judged]))
                prediction.update({"familiar": bool(ratio <= 1), "unfamiliarity": round(ratio, 3)})

    def write_output(self, output, prediction, stem: Path) -> list[Path]:
        """`zoo predict --out`: NAME.geojson (QuPath detections), NAME.overlay.png, NAME.tiles.csv, NAME.json."""
        path = stem.with_suffix(".json")
        if not (isinstance(output, dict) and "results" in output):
            path.write_text(json.dumps(prediction) + "\n")
            return [path]
        result = output["results"][int(output["index"])]
        written = [stem.with_suffix(".geojson"), stem.with_suffix(".overlay.png"), stem.with_suffix(".tiles.csv")]
        written[0].write_text(json.dumps(geojson(result["nuclei"])) + "\n")
        draw_overlay(result["source"], result["nuclei"], written[1])
        with written[2].open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(result["tiles"][0]))
            writer.writeheader()
            writer.writerows(result["tiles"])
        path.write_text(json.dumps(prediction) + "\n")
        return [*written, path]

    # -- end of run ------------------------------------------------------------------------------------------------------
    def report(self, trainer, run_dir) -> None:
        run_dir = Path(run_dir)
        record = familiarity.measure(trainer, run_dir, {"train": trainer.data.train, "valid": trainer.data.valid,
                                                        "test": trainer.data.test})
        from .tasks import _update_json

        _update_json(run_dir / "config.json", lambda c: c["info"].update({"familiarity": record}))
        self.info["familiarity"] = record

    def card(self) -> str:
        lines = ["## Nuclei", "", "Instances come from a watershed of the predicted distance-to-border map, seeded "
                 "where it passes 0.5. AP@0.5 is TP / (TP + FP + FN) at IoU >= 0.5 (pairs by linear_sum_assignment), "
                 "as DSB2018 and StarDist report it; F1 = 2TP / (2TP + FP + FN). `zoo predict RUN slide.svs --out DIR` "
                 "writes GeoJSON outlines (QuPath: File > Import objects), an overlay PNG and counts per tile. "
                 "**This model is not a medical device**: a demonstration of the method, trained on simulated tiles.",
                 ""]
        lines += familiarity.card(self.info.get("familiarity"), "tiles", unknown=False)
        return "\n".join(lines)


# -- the classical baseline: Otsu threshold and a distance-transform watershed ---------------------------------------------
def otsu_watershed(channel: np.ndarray, min_distance: int = 5) -> np.ndarray:
    """Nuclei without learning (the scikit-image recipe): smooth, threshold at Otsu, fill holes, drop specks, then
    split touching nuclei by a watershed of the distance transform seeded at its local maxima `min_distance` apart."""
    from scipy import ndimage
    from skimage.feature import peak_local_max
    from skimage.filters import gaussian, threshold_otsu
    from skimage.morphology import remove_small_objects
    from skimage.segmentation import relabel_sequential, watershed

    smooth = gaussian(channel.astype(np.float32), 1.0)
    if smooth.max() - smooth.min() < 1e-6:
        return np.zeros(channel.shape, np.int32)
    mask = remove_small_objects(ndimage.binary_fill_holes(smooth > threshold_otsu(smooth)), max_size=MIN_AREA - 1)
    distance = gaussian(ndimage.distance_transform_edt(mask), 1.0)
    regions, _ = ndimage.label(mask)
    peaks = peak_local_max(distance, min_distance=min_distance, labels=regions, exclude_border=False)
    seeds = np.zeros(channel.shape, np.int32)
    seeds[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    labels = watershed(-distance, seeds, mask=mask)
    return relabel_sequential(labels)[0].astype(np.int32)


def fit_baseline(channels, truths, choices=(3, 5, 7, 9, 12)) -> int:
    """The baseline's seed spacing that scores the best AP@0.5 on training tiles (fair to it: tuned, not guessed)."""
    best = None
    for distance in choices:
        tp = fp = fn = 0
        for channel, truth in zip(channels, truths):
            a, b, c = match(truth, otsu_watershed(channel, distance))
            tp, fp, fn = tp + a, fp + b, fn + c
        ap = ap_f1(tp, fp, fn)[0]
        if best is None or ap > best[0]:
            best = (ap, distance)
    return best[1]
