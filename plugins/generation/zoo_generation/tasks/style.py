"""Fast style transfer: perceptual and Gram-matrix style losses on a frozen encoder inside the model."""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from torchmetrics import MeanMetric, MetricCollection

from ..images import read_array, tiled, to_channels, to_tensor
from .image import OVERLAP, TILE, Images, ImageTask, unwrap, write_grid


def gram(features: torch.Tensor) -> torch.Tensor:
    n, c, h, w = features.shape
    f = features.float().reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


class StyleTask(ImageTask):
    """Perceptual (content) and style (Gram matrix) losses on the frozen encoder inside the model, plus a
    little total variation (Gatys et al. 2016; Johnson et al. 2016)."""

    name = "style"
    monitor = "loss"
    directions = {"style_distance": "min", "content_distance": "min"}
    suffix = "styled"
    content_layer = 2

    def __init__(self, config, info):
        super().__init__(config, info)
        self.style_weight = float(info.get("style_weight", 10.0))
        self.content_weight = float(info.get("content_weight", 1.0))
        self.tv_weight = float(info.get("tv_weight", 0.1))
        self._grams: list[torch.Tensor] | None = None
        self._warned = False

    def style_grams(self, encoder, device) -> list[torch.Tensor]:
        """Gram matrices of the style image(s), averaged: computed once, with the frozen encoder."""
        if self._grams is None:
            from ..images import limit_side
            grams = None
            for path in self.info["style_images"]:
                image = to_tensor(limit_side(to_channels(read_array(path), 3), int(self.info.get("style_side", 256))))
                with torch.no_grad():
                    g = [gram(f) for f in encoder(image[None].to(device))]
                grams = g if grams is None else [a + b for a, b in zip(grams, g)]
            self._grams = [g / len(self.info["style_images"]) for g in grams]
        return self._grams

    def forward(self, model, x):
        if isinstance(x, Images):  # zoo predict: whole images, in tiles
            return super().forward(model, x)
        net = unwrap(model)
        if net.training and not self.config.init_from and not self._warned:
            print("warning: generation/style without init_from: the perceptual and style losses use an encoder with "
                  "random weights; train generation/style-encoder and pass --set init_from=RUN_DIR",
                  file=sys.stderr, flush=True)
            self._warned = True
        out = model(x)
        encoder = net.encoder
        with torch.no_grad():
            content = encoder(x)[self.content_layer]
        return {"image": out, "features": encoder(out), "content": content,
                "style": self.style_grams(encoder, x.device)}

    def distances(self, output) -> tuple[torch.Tensor, torch.Tensor]:
        feats, style = output["features"], output["style"]
        style_d = sum(((gram(f) - g) ** 2).sum((1, 2)) for f, g in zip(feats, style))
        content_d = ((feats[self.content_layer].float() - output["content"].float()) ** 2).mean((1, 2, 3))
        return style_d, content_d

    def loss(self, output, target):
        style_d, content_d = self.distances(output)
        img = output["image"].float()
        tv = (img[..., 1:, :] - img[..., :-1, :]).abs().mean() + (img[..., 1:] - img[..., :-1]).abs().mean()
        return self.style_weight * style_d.mean() + self.content_weight * content_d.mean() + self.tv_weight * tv

    def metrics(self):
        return MetricCollection({"style_distance": MeanMetric(), "content_distance": MeanMetric()})

    def update_metrics(self, metrics, output, target) -> None:
        style_d, content_d = self.distances(output)
        metrics["style_distance"].update(style_d)
        metrics["content_distance"].update(content_d)

    def predict(self, output):
        return super().predict(output["image"] if isinstance(output, dict) else output)

    @torch.no_grad()
    def unchanged_distance(self, model, dataset, device) -> float:
        """The style distance of the split's images left as they are: what the network must bring down."""
        encoder, out = unwrap(model).encoder, []
        for x, _ in torch.utils.data.DataLoader(dataset, batch_size=8):
            feats = encoder(x.to(device))
            out.append(self.distances({"features": feats, "content": feats[self.content_layer],
                                       "style": self.style_grams(encoder, device)})[0])
        return float(torch.cat(out).mean())

    def run_image(self, model, array, device):
        x = to_tensor(to_channels(array, 3))
        return tiled(self.net(model, device), x[None], TILE, OVERLAP)[0]

    def report(self, trainer, run_dir) -> None:
        """results.png: each test photo and its stylized version."""
        test = trainer.data.test
        if test is None or not getattr(test, "photos", None):
            return
        model = trainer.eval_model().eval()
        with torch.no_grad():
            rows = [torch.cat([img, self.run_image(model, img.permute(1, 2, 0).numpy(), trainer.device)], -1)
                    for name, img in test.photos]
        write_grid(rows, Path(run_dir) / "results.png")
