"""The traffic-sign task: classification, plus `zoo predict RUN photo.jpg --detect --out DIR`, which slides the
classifier over the photo at several scales and draws the windows that hold a sign as boxes.

Detection is a window pyramid: the photo is resized so that windows of each size become the model's input size,
cut into windows a quarter of a window apart (torch's unfold), classified in batches; windows whose best class is
a sign (not "no sign") at DETECT_THRESHOLD or more are kept, and overlapping ones merged by torchvision's
non-maximum suppression.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from zoo import ZooError
from zoo.tasks.classification import ClassificationTask

DETECT_THRESHOLD = 0.9
MAX_SIDE = 1024  # larger photos are shrunk before the search
SCALE_STEP = 1.25


class SignTask(ClassificationTask):
    name = "traffic-signs"
    predict_options = ("detect",)

    def __init__(self, config, info):
        super().__init__(config, info)
        self._photos: dict[int, Image.Image] = {}

    def annotate(self, run, items, predictions) -> None:
        if not self.options.get("detect"):
            return
        no_sign = self.info.get("no_sign")
        if no_sign is None:
            raise ZooError("zoo predict --detect: this run has no 'no sign' class (trained with data.no_sign=false), "
                           "so it cannot tell windows without a sign")
        model = run.model  # the run's zoo.predictor.Predictor: its network in eval mode
        for item, prediction in zip(items, predictions):
            source = getattr(item, "photo", None)
            if source is None:
                raise ZooError("zoo predict --detect: give photo files (or PIL images), not tensors")
            photo = open_photo(source)
            prediction["signs"] = detect(model, photo, self.info, run.device)
            self._photos[id(prediction)] = photo

    def write_output(self, output, prediction, stem: Path) -> list[Path]:
        files = super().write_output(output, prediction, stem)
        photo = self._photos.pop(id(prediction), None)
        if photo is not None:
            path = stem.with_name(stem.name + ".detect.png")
            draw_boxes(photo, prediction["signs"]).save(path)
            files.append(path)
        return files

    def card(self) -> str:
        if self.info.get("rendered"):
            n = self.info["num_classes"] - (self.info.get("no_sign") is not None)
            return (f"**The data is rendered, not photographed.** {n} sign drawings of Debian's josm package (public "
                    "domain) drawn onto crops of real photos with perspective, rotation, scale 16-64 px, blur, light, "
                    "occlusion, fog/rain and JPEG; the test photos (china, rocket, coffee) never appear in training. "
                    "Accuracy here says how well rendered signs are read, not real roadside photos: train on GTSRB "
                    "(`--data GTSRB/`) for that.")
        return f"Trained on the user's signs ({self.info.get('layout', 'own data')})."


def open_photo(source) -> Image.Image:
    if isinstance(source, Image.Image):
        return source.convert("RGB")
    try:
        with Image.open(source) as img:
            return ImageOps.exif_transpose(img).convert("RGB")
    except FileNotFoundError:
        raise ZooError(f"{source}: no such file") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise ZooError(f"{source}: not a readable image ({exc})") from None


@torch.no_grad()
def detect(model, photo: Image.Image, info: dict[str, Any], device, threshold: float = DETECT_THRESHOLD,
           batch: int = 512) -> list[dict[str, Any]]:
    """Boxes [x1, y1, x2, y2] (pixels of the photo) of the windows holding a sign, best first."""
    from torchvision.ops import nms

    size, names, no_sign = info["image_size"], info["classes"], info["no_sign"]
    shrink = min(1.0, MAX_SIDE / max(photo.size))
    image = torch.from_numpy(np.asarray(photo, dtype=np.float32) / 255.0).permute(2, 0, 1)
    if shrink < 1:
        image = F.interpolate(image[None], scale_factor=shrink, mode="bilinear", antialias=True)[0]
    mean, std = torch.tensor(info["mean"]).view(1, 3, 1, 1), torch.tensor(info["std"]).view(1, 3, 1, 1)
    h, w = image.shape[1:]
    side = max(16.0, min(h, w) / 20)
    boxes, scores, labels = [], [], []
    while side <= min(h, w):
        factor = size / side
        scaled = F.interpolate(image[None], size=(max(size, round(h * factor)), max(size, round(w * factor))),
                               mode="bilinear", antialias=True)
        stride = max(1, size // 4)
        windows = F.unfold(scaled, kernel_size=size, stride=stride)  # 1 x 3*S*S x L
        rows = (scaled.shape[2] - size) // stride + 1
        cols = (scaled.shape[3] - size) // stride + 1
        windows = windows[0].T.reshape(-1, 3, size, size)
        probs = torch.cat([model(((windows[i:i + batch] - mean) / std).to(device)).float().softmax(-1).cpu()
                           for i in range(0, len(windows), batch)])
        p, c = probs.max(-1)
        keep = ((c != no_sign) & (p >= threshold)).nonzero().flatten()
        for k in keep.tolist():
            r, q = divmod(k, cols)
            x1, y1 = q * stride / factor / shrink, r * stride / factor / shrink
            boxes.append([x1, y1, x1 + side / shrink, y1 + side / shrink])
            scores.append(float(p[k])), labels.append(int(c[k]))
        assert rows * cols == len(windows)
        side *= SCALE_STEP
    if not boxes:
        return []
    b, s = torch.tensor(boxes), torch.tensor(scores)
    kept = nms(b, s, iou_threshold=0.3)[:20]
    return [{"label": names[labels[i]], "score": round(scores[i], 4), "box": [round(v) for v in boxes[i]]}
            for i in kept.tolist()]


def draw_boxes(photo: Image.Image, signs: list[dict[str, Any]]) -> Image.Image:
    out = photo.copy()
    draw = ImageDraw.Draw(out)
    width = max(2, round(max(out.size) / 300))
    for sign in signs:
        x1, y1, x2, y2 = sign["box"]
        draw.rectangle([x1, y1, x2, y2], outline=(255, 40, 40), width=width)
        text = f"{sign['label']} {sign['score']:.2f}"
        ty = max(0, y1 - 12)
        draw.rectangle([x1, ty, x1 + 6 * len(text) + 4, ty + 11], fill=(255, 40, 40))
        draw.text((x1 + 2, ty), text, fill=(255, 255, 255))
    return out
