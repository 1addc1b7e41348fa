"""Tasks: locating an object (regression of its grasp point in cm, median errors by how hard it is to see), and
imitating a controller (regression of its actions, judged by rollouts)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics import MeanMetric, Metric, MetricCollection

from zoo import ZooError
from zoo.imitation import SEED_BASE
from zoo.tasks.regression import RegressionTask

from .scenes import DIFFICULTIES, HARD


class MedianErrors(Metric):
    """Median Euclidean error (cm) over all scenes, the easy ones, the hard ones and each look."""

    higher_is_better = False
    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("errors", default=[], dist_reduce_fx="cat")
        self.add_state("looks", default=[], dist_reduce_fx="cat")

    def update(self, errors: torch.Tensor, looks: torch.Tensor) -> None:
        self.errors.append(errors.float())
        self.looks.append(looks.long())

    def compute(self) -> dict[str, torch.Tensor]:
        as_tensor = lambda s: torch.cat(s) if isinstance(s, list) else s  # noqa: E731 (one tensor after a DDP sync)
        errors, looks = as_tensor(self.errors), as_tensor(self.looks)
        out = {"median_cm": errors.median()}
        groups = {"easy": [0], "hard": [DIFFICULTIES.index(d) for d in HARD],
                  **{d: [DIFFICULTIES.index(d)] for d in HARD}}
        for name, members in groups.items():
            chosen = errors[torch.isin(looks, torch.tensor(members, device=looks.device))]
            if len(chosen):
                out[f"median_cm_{name}"] = chosen.median()
        return out


class LocalizationTask(RegressionTask):
    """The core's vector regression on the grasp point (MSE loss; rmse, mae and `distance`, the mean error in cm)
    plus median errors by look. Targets carry the scene's difficulty as a fourth number, which the loss ignores.
    With data.yaws the targets end with whether each of the hand's yaws lifts the object at the point, and the
    network's yaw logits (after the point) add a binary cross-entropy; `yaw_lifts` is how often the yaw it
    likes best is one that lifts."""

    name = "localization"
    monitor = "distance"
    directions = {**RegressionTask.directions, "median_cm": "min", "median_cm_easy": "min", "median_cm_hard": "min",
                  "yaw_lifts": "max",
                  **{f"median_cm_{d}": "min" for d in HARD}}

    @property
    def yaws(self) -> int:
        return len(self.info.get("yaws_deg") or ())

    def scores(self, output: torch.Tensor) -> torch.Tensor:
        return output.float()[..., :3].reshape(-1, 3)

    def yaw_logits(self, output: torch.Tensor) -> torch.Tensor:
        return output.float()[..., 3:3 + self.yaws].reshape(-1, self.yaws)

    def lifts(self, target: torch.Tensor) -> torch.Tensor:
        """Whether each yaw lifts the object (the targets after the point and the difficulty)."""
        return target[..., 4:4 + self.yaws].float().reshape(-1, self.yaws)

    def _shaped(self, target: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        return target[..., :3].float().reshape(self.scores(output).shape)

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = super().loss(output, target)
        if self.yaws:
            loss = loss + F.binary_cross_entropy_with_logits(self.yaw_logits(output), self.lifts(target))
        return loss

    def metrics(self):
        collection = super().metrics()
        extra = {"yaw_lifts": MeanMetric()} if self.yaws else {}
        return MetricCollection({**dict(collection.items()), "median": MedianErrors(), **extra}, compute_groups=False)

    def update_metrics(self, metrics, output, target) -> None:
        super().update_metrics(metrics, output, target)  # rmse, mae, distance on the point
        error = (self.scores(output) - self._shaped(target, output)).norm(dim=-1)
        metrics["median"].update(error, target[..., 3])
        if self.yaws:
            chosen = self.yaw_logits(output).argmax(-1, keepdim=True)
            metrics["yaw_lifts"].update(self.lifts(target).gather(1, chosen).reshape(-1))

    def yaw_degrees(self, output: torch.Tensor) -> list[float]:
        """The yaw (degrees) each scene's logits like best."""
        yaws = self.info["yaws_deg"]
        return [float(yaws[k]) for k in self.yaw_logits(output).argmax(-1).tolist()]

    def predict(self, output) -> list[dict]:
        if self.info.get("target") != "image":
            rows = super().predict(output)
        else:
            from .data import DEPTH_ORIGIN, IMAGE_SCALE  # a heatmap network: where in the image, and how far

            size = int(self.info["size"])
            rows = [{"u_px": round((u / IMAGE_SCALE + 1) / 2 * size, 2),
                     "v_px": round((1 - v / IMAGE_SCALE) / 2 * size, 2), "depth_m": round(d / 100 + DEPTH_ORIGIN, 4)}
                    for u, v, d in self.scores(output).tolist()]
        if self.yaws:
            for row, yaw in zip(rows, self.yaw_degrees(output)):
                row["yaw_deg"] = yaw
        return rows

    def write_output(self, output, prediction: dict[str, Any], stem: Path) -> list[Path]:
        """With --out, each scene's colour image with the point drawn (STEM.point.png, at the image's own size)
        beside its JSON; a network that regresses the point in the tray's frame has no image point to draw."""
        files = super().write_output(output, prediction, stem)
        if self.info.get("target") == "image":
            drawn = stem.with_suffix(".point.png")
            draw_point(prediction["input"], prediction["u_px"] / self.info["size"],
                       prediction["v_px"] / self.info["size"], drawn)
            files.append(drawn)
        return files

    def check_batch(self, x, y, dataset: str) -> None:
        width = 4 + self.yaws
        if not (isinstance(y, torch.Tensor) and y.dim() == 2 and y.shape[1] == width and torch.isfinite(y).all()):
            extra = f", and {self.yaws} lifts" if self.yaws else ""
            raise ZooError(f"{dataset}: a localization dataset must yield targets (x, y, z in cm, difficulty{extra})")


class ImitationTask(RegressionTask):
    """The core's vector regression on the expert's actions (MSE), judged by rollouts: `eval_budget` Reacher
    episodes per evaluation (valid and test each a fixed set of starts), giving `success` (fingertip within 1 cm
    of the target at the end), `return` (the environment's reward summed), `final_cm` (mean final distance) and
    `diverged` (episodes cut because the simulation blew up; they count as failures)."""

    name = "imitation"
    monitor = "success"
    directions = {**RegressionTask.directions, "success": "max", "return": "max", "final_cm": "min",
                  "diverged": "min"}

    def evaluate_model(self, model, dataset, split, budget, device) -> dict[str, float]:
        from . import reacher

        if self.config.eval_limit:  # zoo's quick checks
            budget = min(budget, int(self.config.eval_limit))
        run = reacher.rollouts(reacher.network_policy(model, device), reacher.episode_seeds(split, budget))
        return {"success": float(run.success.mean()), "return": float(run.returns.mean()),
                "final_cm": float(np.nanmean(run.final_cm)) if (~run.diverged).any() else float("nan"),
                "diverged": float(run.diverged.sum())}


class DrivingTask(RegressionTask):
    """The core's regression on the scripted driver's steering angle (MSE), judged by drives: `eval_budget` drives
    per evaluation, each on a track and from a start of the split's own (fixed), `eval_steps` control steps long
    (1.3-1.7 laps). When the car leaves the road the scripted driver takes over until it is back (an
    intervention). Figures: `clean_lap_rate` (drives with a full lap before any intervention), `laps` (mean laps
    driven), `interventions` (mean per drive), `centre_cm` (mean distance from the centre line)."""

    name = "driving"
    monitor = "clean_lap_rate"
    directions = {**RegressionTask.directions, "clean_lap_rate": "max", "laps": "max", "interventions": "min",
                  "centre_cm": "min"}

    def evaluate_model(self, model, dataset, split, budget, device) -> dict[str, float]:
        from . import racecar

        steps = int(self.info.get("eval_steps", 220))
        if self.config.eval_limit:  # zoo's quick checks: short drives
            budget, steps = min(budget, int(self.config.eval_limit)), min(steps, 20)
        steer, base = racecar.network_steerer(model, device), SEED_BASE[split if split in ("valid", "test") else "stats"]
        runs = [racecar.drive(base + i, base + i, steer, steps) for i in range(budget)]
        return {"clean_lap_rate": float(np.mean([r.clean_laps >= 1 for r in runs])),
                "laps": float(np.mean([r.laps for r in runs])),
                "interventions": float(np.mean([r.interventions for r in runs])),
                "centre_cm": float(np.mean([r.centre_cm for r in runs]))}

    def predict(self, output) -> list[dict]:
        return [{"steering_rad": round(v, 4)} for v in self.scores(output).tolist()]


def draw_point(scene: str, u: float, v: float, out: Path) -> None:
    """Scene file `scene`'s colour image with a ring and a cross at (u, v), fractions of its width and height."""
    from PIL import Image, ImageDraw

    from .data import read_rgbd

    image = Image.fromarray(read_rgbd(scene)[0])
    x, y, r = u * image.width, v * image.height, max(3.0, image.width / 24)
    pen = ImageDraw.Draw(image)
    for colour, width in (((0, 0, 0), 3), ((255, 0, 255), 1)):  # magenta on a black edge: seen on any tray
        pen.ellipse((x - r, y - r, x + r, y + r), outline=colour, width=width)
        pen.line((x - r, y, x + r, y), fill=colour, width=width)
        pen.line((x, y - r, x, y + r), fill=colour, width=width)
    image.save(out)
