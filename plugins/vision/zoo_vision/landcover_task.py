"""The land-cover network and task.

The network is a patch CNN that is also fully convolutional: seven unpadded 3 x 3 convolutions see exactly a
15 x 15 patch, so a training patch gives one output, and a whole scene padded by 7 pixels gives one output per
pixel in a single pass (`zoo predict RUN scene.tif`). A EuroSAT-style run averages the outputs over the patch.

`zoo predict RUN scene.tif --out DIR` writes DIR/scene.classes.tif (the class of each pixel, 1..K, 0 where a band
is nodata, with the input's CRS and transform), DIR/scene.classes.png (the map in colour with a legend), and the
share of each class in the JSON.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from zoo import ZooError
from zoo.tasks.classification import ClassificationTask

from .landcover import COLOURS


class PatchFCN(nn.Module):
    """Unpadded 3 x 3 convolutions (the first `depth` with BatchNorm and ReLU) and a 1 x 1 classifier."""

    def __init__(self, num_classes: int, in_channels: int, patch: int = 15, width: int = 32, drop_rate: float = 0.1):
        super().__init__()
        depth = (patch - 1) // 2
        if depth < 1:
            raise ZooError(f"--set data.patch={patch}: at least 3 pixels")
        layers, c = [], in_channels
        for _ in range(depth):
            layers += [nn.Conv2d(c, width, 3, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            c = width
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout2d(drop_rate), nn.Conv2d(width, num_classes, 1))
        self.patch = patch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """N x C x H x W -> logits N x K x (H - patch + 1) x (W - patch + 1)."""
        return self.head(self.body(x))


def patch_fcn(num_classes: int, in_channels: int, patch: int = 15, width: int = 32, drop_rate: float = 0.1):
    return PatchFCN(num_classes, in_channels, patch, width, drop_rate)


def patch_fcn_example():
    return {"num_classes": 7, "in_channels": 6, "patch": 15}, torch.randn(2, 6, 15, 15)


class LandcoverTask(ClassificationTask):
    name = "landcover"
    mixable = False

    def __init__(self, config, info):
        super().__init__(config, info)
        self._inputs: dict[int, Any] = {}

    def forward(self, model, x):
        out = model(x)
        # a patch gives one output (or, for a EuroSAT-style patch, the mean over its positions); a scene a map
        if out.shape[-1] == 1 and out.shape[-2] == 1:
            return out[..., 0, 0]
        if self.info.get("mode") == "patches":
            return out.mean((2, 3))
        return out

    def predict(self, output: torch.Tensor) -> list[dict[str, Any]]:
        if output.dim() == 2:
            return super().predict(output)
        names = self.info["classes"]
        out = []
        for logits in output:
            classes = logits.float().argmax(0)
            counts = torch.bincount(classes.flatten(), minlength=len(names)).float()
            shares = {n: round(float(v), 4) for n, v in zip(names, counts / counts.sum())}
            top = max(shares, key=shares.get)
            out.append({"label": top, "shares": shares, "pixels": int(classes.numel()),
                        "size": [int(classes.shape[1]), int(classes.shape[0])]})
        return out

    def annotate(self, run, items, predictions) -> None:
        for item, prediction in zip(items, predictions):
            if "shares" in prediction:
                valid = getattr(item, "valid", None)
                self._inputs[id(prediction)] = (getattr(item, "geo", None), valid)

    def write_output(self, output, prediction, stem: Path) -> list[Path]:
        geo, valid = self._inputs.pop(id(prediction), (None, None))
        if output.dim() != 3:
            return super().write_output(output, prediction, stem)
        classes = output.float().argmax(0).numpy().astype(np.uint8) + 1
        if valid is not None and valid.shape == classes.shape:
            classes[~valid.numpy()] = 0
            kept = classes[classes > 0]
            counts = np.bincount(kept - 1, minlength=len(self.info["classes"])) / max(1, kept.size)
            prediction["shares"] = {n: round(float(v), 4) for n, v in zip(self.info["classes"], counts)}
        files = []
        if geo is not None:
            files.append(write_geotiff(classes, geo, stem.with_name(stem.name + ".classes.tif"), self.info["classes"]))
        files.append(write_map_png(classes, self.info["classes"], prediction["shares"],
                                   stem.with_name(stem.name + ".classes.png")))
        files += super().write_output(output, prediction, stem)
        return files

    def card(self) -> str:
        info = self.info
        if info.get("mode") == "patches":
            return f"Trained on class-per-folder patches from {info.get('source')} (random split: no coordinates)."
        p = info.get("pixels", {})
        return (f"Real data: {info.get('source')}. Spatially blocked folds: the scene cut into {info.get('blocks')} x "
                f"{info.get('blocks')} blocks dealt into {info.get('folds')} folds; this run tests fold "
                f"{info.get('fold')} ({p.get('test')} pixels), validates on {p.get('valid')} pixels of the rest (not "
                f"blocked: it only picks the checkpoint), trains on "
                f"{p.get('train')}; {p.get('buffer')} pixels within a patch radius of a held-out block are left out. "
                "One fold's score is noisy: bench/bench_vision_landcover.py runs every fold.")


def colour_of(name: str, k: int) -> tuple[int, int, int]:
    if name in COLOURS:
        return COLOURS[name]
    rng = np.random.default_rng(k + 7)
    return tuple(int(v) for v in rng.integers(30, 230, 3))


def write_geotiff(classes: np.ndarray, geo: dict[str, Any], path: Path, names: list[str]) -> Path:
    """The class map (uint8, 1..K, 0 nodata) with the input's CRS and transform, and a colour table."""
    import rasterio
    from rasterio.transform import Affine

    profile = {"driver": "GTiff", "height": classes.shape[0], "width": classes.shape[1], "count": 1, "dtype": "uint8",
               "crs": geo["crs"], "transform": Affine(*geo["transform"]), "nodata": 0, "compress": "deflate"}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(classes, 1)
        dst.write_colormap(1, {0: (0, 0, 0, 0), **{k + 1: (*colour_of(n, k), 255) for k, n in enumerate(names)}})
        dst.update_tags(1, **{f"class_{k + 1}": n for k, n in enumerate(names)})
    return path


def write_map_png(classes: np.ndarray, names: list[str], shares: dict[str, float], path: Path) -> Path:
    """The map in colour, with a legend of each class and its share of the scene."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    colours = [(0, 0, 0)] + [tuple(v / 255 for v in colour_of(n, k)) for k, n in enumerate(names)]
    fig, ax = plt.subplots(figsize=(8, 6), dpi=110)
    ax.imshow(classes, cmap=ListedColormap(colours), vmin=0, vmax=len(names), interpolation="nearest")
    ax.set_axis_off()
    ax.legend(handles=[Patch(color=colours[k + 1], label=f"{n} {100 * shares.get(n, 0):.1f}%")
                       for k, n in enumerate(names)], loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
