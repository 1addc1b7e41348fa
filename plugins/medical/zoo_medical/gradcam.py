"""Heatmaps of where a model looked: Grad-CAM (monai.visualize.GradCAM) for classifiers with one logit,
the model's own anomaly map (sigmoid of its per-pixel logits) for map models such as medical/anomaly-unet."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from zoo import ZooError

from . import data, images


def last_conv_layer(model: nn.Module) -> str:
    """The name of the last convolution-producing block: its activations still have a spatial layout."""
    names = [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]
    if not names:
        raise ZooError(f"{type(model).__name__}: no convolution layer to explain")
    if hasattr(model, "features") and hasattr(model.features, "denseblock3"):
        # DenseNet: the last block before the final pooling, at 1/16 of the input (1/32 is 4x4 at 128 px)
        return "features.denseblock3"
    if hasattr(model, "layer4"):  # ResNet: the last residual stage
        return "layer4"
    return names[-1]


def heatmaps(model: nn.Module, batch: torch.Tensor) -> np.ndarray:
    """Grad-CAM of the anomaly logit for each image: N x H x W in [0, 1]."""
    from monai.visualize import GradCAM

    model.eval()
    for module in model.modules():  # the hooks that capture gradients forbid in-place changes of activations
        if isinstance(module, nn.ReLU):
            module.inplace = False
    cam = GradCAM(nn_module=model, target_layers=last_conv_layer(model))
    with torch.enable_grad():
        maps = cam(x=batch.clone().requires_grad_(True), class_idx=0)
    return maps[:, 0].detach().float().cpu().numpy()


def overlay(picture: np.ndarray, heat: np.ndarray, path: Path, title: str, caption: str = "input") -> None:
    """The picture (a grey film H x W, or a colour photo H x W x 3, in [0, 1]) with the heatmap in colour over it,
    side by side with the plain picture."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(7, 3.7))
    for ax in axes:
        ax.imshow(picture, cmap="gray" if picture.ndim == 2 else None, vmin=0, vmax=1)
        ax.axis("off")
    axes[1].imshow(heat, cmap="jet", alpha=0.4, vmin=0, vmax=1)
    axes[0].set_title(caption, fontsize=9)
    axes[1].set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_heatmaps(predictor, predictions: list[dict[str, Any]], out_dir: str | Path) -> None:
    """For each film predicted, a PNG `<out_dir>/<stem>.heatmap.png`, named in its prediction's `heatmap`.

    `predictor` is the run's zoo.predictor.Predictor, of a model that gives one logit (Grad-CAM) or a logit map
    (shown as it is); each prediction's `input` is the film's path.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = predictor.model
    for prediction in predictions:
        text = prediction["input"]
        picture = images.load(text, predictor.info["image_size"])
        x = data.normalize(picture, predictor.info)[None].to(predictor.device)
        with torch.no_grad():
            output = model(x)
        if output.dim() == 4:  # a map model: its own per-pixel anomaly probability is the heatmap
            heat, method = output[0, 0].float().sigmoid().cpu().numpy(), "anomaly map"
        else:
            heat, method = heatmaps(model, x)[0], "Grad-CAM"
        score = prediction.get("anomaly_probability", prediction.get("score"))
        target = out_dir / f"{Path(text).stem}.heatmap.png"
        overlay(picture[0].numpy(), heat, target, f"{method}, anomaly probability {score}")
        prediction["heatmap"] = str(target)
