"""The captioning task: teacher-forced cross-entropy while training; in eval mode (validation, test, predict)
captions decoded by beam search (caption_model.beam_search) and scored with COCO's BLEU-4 and CIDEr-D
(pycocoevalcap's scorers, which need no Java; the PTB tokenizer that does is replaced by captions.plain).

`zoo predict RUN image.png` prints the caption; with `--out DIR`, DIR/<image>.caption.png is the image with its
caption written under it. The same-run baseline (bench/bench_captioning.py) is `nearest_captions`: the caption of
the training image closest in the trained encoder's feature space.
"""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont
from torch import nn
from torchmetrics import Metric

from zoo import ZooError
from zoo.config import LabelSettings
from zoo.data import to_device
from zoo.tasks import Task

from .caption_model import beam_search
from .captions import BOS, EOS, IGNORE, PAD, UNK, decode, load_square, plain


# -- COCO's scorers ---------------------------------------------------------------------------------------
def caption_scores(predictions: list[str], references: list[list[str]]) -> dict[str, Any]:
    """Corpus BLEU-4 and CIDEr-D of predictions against their references (lists of captions), with per-caption
    values ('cider_each', 'bleu4_each'), through pycocoevalcap. Texts are compared as captions.plain makes them."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider

    if not predictions:
        return {"bleu4": 0.0, "cider": 0.0, "bleu4_each": [], "cider_each": []}
    res = {i: [plain(p)] for i, p in enumerate(predictions)}
    gts = {i: [plain(r) for r in refs] or [""] for i, refs in enumerate(references)}
    bleu, bleu_each = Bleu(4).compute_score(gts, res, verbose=0)
    cider, cider_each = Cider().compute_score(gts, res)
    return {"bleu4": float(bleu[3]), "cider": float(cider), "bleu4_each": [float(v) for v in bleu_each[3]],
            "cider_each": [float(v) for v in np.asarray(cider_each)]}


class CaptionScores(Metric):
    """BLEU-4 and CIDEr-D over a whole split (CIDEr's word weights come from the split's references, so it is
    computed once at the end, not averaged over batches)."""

    higher_is_better = True
    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("predictions", default=[], dist_reduce_fx=None)
        self.add_state("references", default=[], dist_reduce_fx=None)

    def update(self, predictions: list[str], references: list[list[str]]) -> None:
        self.predictions.extend(predictions)
        self.references.extend(references)

    def compute(self) -> dict[str, torch.Tensor]:
        scores = caption_scores(list(self.predictions), list(self.references))
        return {"cider": torch.tensor(scores["cider"]), "bleu4": torch.tensor(scores["bleu4"])}


# -- the task -----------------------------------------------------------------------------------------
class CaptionTask(Task):
    """x = {'image', 'tokens'} (teacher forcing) or images alone (predict); y = references B x R x L."""

    name = "captioning"
    Settings = LabelSettings
    monitor = "cider"
    directions = {"cider": "max", "bleu4": "max"}

    def __init__(self, config, info: dict[str, Any]):
        super().__init__(config, info)
        self.vocab: list[str] = list(info.get("vocab", []))
        self._photos: dict[int, Any] = {}

    def forward(self, model: nn.Module, x: Any) -> dict[str, torch.Tensor]:
        images, tokens = (x["image"], x.get("tokens")) if isinstance(x, dict) else (x, None)
        net = getattr(model, "module", model)
        out: dict[str, torch.Tensor] = {}
        if tokens is not None:
            out["logits"] = model(images, tokens)
        if tokens is None or not model.training:
            out["generated"], out["log_prob"] = self.generate(net, images)
        return out

    def generate(self, net: nn.Module, images: torch.Tensor, beam: int | None = None):
        memory = net.encode(images)
        beam = int(self.info.get("beam", 3)) if beam is None else beam
        return beam_search(lambda m, t: net.decode(m, t), memory, BOS, EOS, beam=beam,
                           max_len=int(self.info.get("max_len", 20)),
                           length_penalty=float(self.info.get("length_penalty", 0.0)), banned=(PAD, BOS, UNK))

    def loss(self, output: dict[str, torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        logits = output["logits"].float()
        first = target[:, 0, :logits.shape[1]]
        first = first.masked_fill(first >= logits.shape[-1], UNK)  # a reference word outside the model's words
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), first.reshape(-1), ignore_index=IGNORE,
                               label_smoothing=self.settings.label_smoothing)

    def metrics(self):
        return CaptionScores()

    def texts(self, ids: torch.Tensor) -> list[str]:
        return [decode(row, self.vocab) for row in ids.tolist()]

    def references(self, target: torch.Tensor) -> list[list[str]]:
        out = []
        for refs in target.tolist():
            out.append([decode([t for t in r if t != IGNORE], self.vocab) for r in refs if r[0] != IGNORE])
        return out

    def update_metrics(self, metrics, output: dict[str, torch.Tensor], target: torch.Tensor) -> None:
        metrics.update(self.texts(output["generated"]), self.references(target))

    def merge_views(self, outputs: list[Any]) -> Any:
        return outputs[0]  # captions have no test-time views

    def views(self) -> dict:
        return {}

    def predict(self, output: dict[str, torch.Tensor]) -> list[dict[str, Any]]:
        return [{"caption": text, "log_prob": round(float(p), 3)}
                for text, p in zip(self.texts(output["generated"]), output["log_prob"].tolist())]

    def annotate(self, run, items, predictions) -> None:
        for item, prediction in zip(items, predictions):
            self._photos[id(prediction)] = (getattr(item, "photo", None), item)

    def write_output(self, output, prediction: dict[str, Any], stem: Path) -> list[Path]:
        files = super().write_output(output, prediction, stem)
        photo, item = self._photos.pop(id(prediction), (None, None))
        if photo is not None:
            image = Image.open(photo) if not isinstance(photo, Image.Image) else photo
            image = Image.fromarray(load_square(image, max(256, min(512, max(image.size)))).transpose(1, 2, 0))
        elif item is not None:  # a tensor given: the model input, unnormalized
            mean = torch.tensor(self.info["mean"]).view(-1, 1, 1)
            std = torch.tensor(self.info["std"]).view(-1, 1, 1)
            array = ((item.cpu() * std + mean).clamp(0, 1) * 255).byte().permute(1, 2, 0).numpy()
            image = Image.fromarray(array).resize((256, 256), Image.NEAREST)
        else:
            return files
        path = stem.with_name(stem.name + ".caption.png")
        with_caption(image, prediction["caption"]).save(path)
        return files + [path]

    def check_batch(self, x: Any, y: Any, dataset: str) -> None:
        if not (isinstance(x, dict) and {"image", "tokens"} <= set(x) and isinstance(y, torch.Tensor) and y.dim() == 3):
            raise ZooError(f"{dataset}: a captioning dataset must yield x = {{'image', 'tokens'}} and references "
                           "B x R x L (zoo_vision.captions.collate)")

    def report(self, trainer, run_dir) -> None:
        """samples.md: the first test images' references next to the generated captions."""
        data = trainer.data.test if trainer.data.test is not None else trainer.data.valid
        batch = trainer.data.collate([data[i] for i in range(min(16, len(data)))])
        x, y = to_device(batch, trainer.device)
        model = trainer.eval_model()
        model.eval()
        with torch.no_grad():
            generated = self.texts(self.forward(model, x["image"])["generated"])
        lines = ["# Generated captions (first test images)", "", "| reference | generated |", "|---|---|"]
        for refs, g in zip(self.references(y.cpu()), generated):
            lines.append(f"| {' / '.join(refs).replace('|', '/')} | {g.replace('|', '/')} |")
        (Path(run_dir) / "samples.md").write_text("\n".join(lines) + "\n")

    def card(self) -> str:
        if self.info.get("rendered"):
            counts = self.info.get("counts", {})
            return ("**The default data is drawings, not photographs.** OpenMoji 17 (CC BY-SA 4.0): "
                    f"{sum(counts.values()):,} emoji rendered at {self.info['image_size']} px, each captioned by its "
                    "CLDR annotation; skin-tone and gender variants of one emoji are in one split, so test captions "
                    f"are unseen ({self.info.get('test_captions_seen', 0):.1%} of them occur in training). Scores "
                    "here say how well emoji are named, not how well photos are described: train on your COCO "
                    "captions (`--data captions_train.json`) for that.")
        return "Trained on the user's COCO captions."


def with_caption(image: Image.Image, caption: str) -> Image.Image:
    """The image with its caption written in a white band under it."""
    image = image.convert("RGB")
    w = image.width
    try:
        font = ImageFont.load_default(size=max(12, w // 20))
    except TypeError:  # older Pillow: a fixed bitmap font
        font = ImageFont.load_default()
    probe = ImageDraw.Draw(image)
    char_w = max(1.0, probe.textlength("abcdefghij", font=font) / 10)
    lines = textwrap.wrap(caption or "(no caption)", width=max(8, int((w - 16) / char_w)))
    line_h = int(font.getbbox("Ag")[3] * 1.3) + 2 if hasattr(font, "getbbox") else 14
    out = Image.new("RGB", (w, image.height + line_h * len(lines) + 16), (255, 255, 255))
    out.paste(image, (0, 0))
    draw = ImageDraw.Draw(out)
    for k, line in enumerate(lines):
        draw.text((8, image.height + 8 + k * line_h), line, fill=(0, 0, 0), font=font)
    return out


# -- baselines ----------------------------------------------------------------------------------------
@torch.no_grad()
def encoded(net: nn.Module, dataset, device="cpu", batch: int = 256) -> torch.Tensor:
    """Unit feature vectors (CaptionNet.features) of every image of a CaptionSet."""
    net.eval()
    n = len(dataset.images)
    return torch.cat([net.features(torch.stack([dataset.image(i) for i in range(s, min(n, s + batch))]).to(device))
                      .float().cpu() for s in range(0, n, batch)])


def nearest_captions(net: nn.Module, train, query, vocab: list[str], device="cpu") -> list[str]:
    """The nearest-neighbour baseline: for each query image, the (first) caption of the training image whose
    encoder features are closest (cosine)."""
    keys, wanted = encoded(net, train, device), encoded(net, query, device)
    nearest = (wanted @ keys.T).argmax(1).tolist()
    return [decode(train.refs[i][0], vocab) for i in nearest]


def constant_caption(train, vocab: list[str]) -> str:
    """The most common training caption (the best a model that ignores the image can say verbatim)."""
    from collections import Counter

    counts = Counter(decode(r, vocab) for refs in train.refs for r in refs)
    return counts.most_common(1)[0][0]
