"""Tasks of the generation recipes: losses, whole-photo evaluation, image files out of `zoo predict`.

Image tasks evaluate twice: per batch on tiles of the held-out photos (loss, PSNR), and, in
`evaluate_model`, on each whole held-out photo (run through the network in overlapping tiles), which is what
the figures in the model card and bench/RESULTS.md are.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure
from torchmetrics.image import PeakSignalNoiseRatio

from zoo import ZooError
from zoo.tasks import Task
from zoo.tasks.base import refuse_options

from . import data as gdata
from .images import read_array, save_png, tiled, to_channels, to_tensor

TILE, OVERLAP = 256, 32


def unwrap(model):
    """The module itself under DistributedDataParallel or torch.compile."""
    for attr in ("module", "_orig_mod"):
        model = getattr(model, attr, model)
    return model


def psnr(output: torch.Tensor, target: torch.Tensor, shave: int = 0) -> float:
    if shave:
        output, target = output[..., shave:-shave, shave:-shave], target[..., shave:-shave, shave:-shave]
    return float(peak_signal_noise_ratio(output.clamp(0, 1).float(), target.float(), data_range=1.0))


def ssim(output: torch.Tensor, target: torch.Tensor, shave: int = 0) -> float:
    if shave:
        output, target = output[..., shave:-shave, shave:-shave], target[..., shave:-shave, shave:-shave]
    return float(structural_similarity_index_measure(output.clamp(0, 1).float()[None], target.float()[None],
                                                     data_range=1.0))


def colourfulness(rgb: torch.Tensor) -> float:
    """Hasler and Suesstrunk's (2003) colourfulness of a 3 x H x W image in [0, 1], on the 0-255 scale:
    about 0 for grey, 15-35 for ordinary photos, above 45 for very colourful ones."""
    r, g, b = (rgb.double() * 255).unbind(0)
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(torch.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * torch.sqrt(rg.mean() ** 2 + yb.mean() ** 2))


def held_photos(task: Task, dataset) -> list:
    """The whole held-out photos of a split (the first `eval_limit` of them when that is set, for quick checks)."""
    photos = list(getattr(dataset, "photos", None) or [])
    return photos[: task.config.eval_limit] if task.config.eval_limit else photos


class ImageTask(Task):
    """An image in, an image out (denoised, upscaled, coloured, stylized); written as PNG by `zoo predict`."""

    follows_input = True
    suffix = "out"
    scale = 1

    def loss(self, output, target):
        return F.mse_loss(output.float(), target.float())

    def metrics(self):
        return MetricCollection({"psnr": PeakSignalNoiseRatio(data_range=1.0)})

    def update_metrics(self, metrics, output, target) -> None:
        metrics.update(output.float().clamp(0, 1), target.float())

    def predict(self, output):
        return [{"height": int(o.shape[-2]), "width": int(o.shape[-1])} for o in output]

    # -- zoo predict: images of any size, in tiles ----------------------------------------------------
    def run_image(self, model, array: np.ndarray, device, path: Path) -> torch.Tensor:
        """One image (H x W x C array in [0, 1]) -> the result, C' x H' x W' in [0, 1]."""
        raise NotImplementedError

    def net(self, model, device):
        return lambda t: model(t.to(device)).float().cpu()

    def predict_inputs(self, run, inputs, out_dir, options) -> list[dict[str, Any]]:
        refuse_options(options, run.recipe.name)
        if not inputs:
            raise ZooError("zoo predict: give at least one image file")
        trainer = run.predictor()
        model = trainer.eval_model().eval()
        results, failed = [], []
        for text in inputs:
            try:
                array = read_array(text)
                with torch.no_grad():
                    image = self.run_image(model, array, trainer.device, Path(text))
            except ZooError as exc:  # named, and the other files still processed
                print(f"error: {exc}", file=sys.stderr, flush=True)
                results.append({"input": text, "error": str(exc)})
                failed.append(str(exc))
                continue
            pred = {"input": text, "height": int(image.shape[-2]), "width": int(image.shape[-1])}
            if out_dir is not None:
                out_dir.mkdir(parents=True, exist_ok=True)
                pred["files"] = [str(f) for f in self.write_output(image, pred, out_dir / Path(text).stem)]
            results.append(pred)
        if len(failed) == len(inputs):
            raise ZooError(failed[0] if len(failed) == 1 else f"none of the {len(inputs)} inputs could be read "
                                                             f"(first: {failed[0]})")
        return results

    def write_output(self, output, prediction, stem: Path) -> list[Path]:
        return [save_png(output, stem.with_name(f"{stem.name}.{self.suffix}.png"))]

    def per_channel(self, model, x: torch.Tensor, device, scale: int = 1) -> torch.Tensor:
        """Run a network of `self.channels` channels on an image of 1 or 3 (each channel alone, for a grey net)."""
        channels = int(self.info.get("channels", 3))
        if channels == 1:
            planes = x.unsqueeze(1)  # C x 1 x H x W: each channel an image
        else:
            planes = (x if x.shape[0] == 3 else x.repeat(3, 1, 1))[None]
        out = tiled(self.net(model, device), planes, TILE, OVERLAP, scale)
        return out[:, 0] if channels == 1 else out[0]


# -- denoising ---------------------------------------------------------------------------------------
class DenoiseTask(ImageTask):
    """Gaussian denoising, blind to the level; whole-photo PSNR per level (data.sigmas) is the figure."""

    name = "denoise"
    monitor = "photo_psnr"
    suffix = "denoised"

    @property
    def directions(self):
        return {"photo_psnr": "max", **{f"psnr_sigma{s:g}": "max" for s in self.info.get("sigmas", [])}}

    def evaluate_model(self, model, dataset, split, budget, device):
        photos = held_photos(self, dataset)
        if not photos:
            return {}
        scores: dict[str, list[float]] = {}
        for name, clean in photos:
            for sigma in self.info["sigmas"]:
                noisy = gdata.noisy_photo(name, clean, sigma)
                out = tiled(self.net(model, device), noisy[None], TILE, OVERLAP)[0]
                scores.setdefault(f"psnr_sigma{sigma:g}", []).append(psnr(out, clean))
        result = {k: float(np.mean(v)) for k, v in scores.items()}
        result["photo_psnr"] = float(np.mean(list(result.values())))
        return result

    def run_image(self, model, array, device, path):
        return self.per_channel(model, to_tensor(array), device)


# -- super-resolution ---------------------------------------------------------------------------------
def rgb_to_ycbcr(x: torch.Tensor) -> torch.Tensor:
    """3 x H x W RGB in [0, 1] -> YCbCr (BT.601, full range, in [0, 1])."""
    r, g, b = x.unbind(0)
    y = 0.299 * r + 0.587 * g + 0.114 * b
    return torch.stack([y, (b - y) * 0.564 + 0.5, (r - y) * 0.713 + 0.5])


def ycbcr_to_rgb(x: torch.Tensor) -> torch.Tensor:
    y, cb, cr = x[0], x[1] - 0.5, x[2] - 0.5
    r, b = y + 1.403 * cr, y + 1.773 * cb
    return torch.stack([r, (y - 0.299 * r - 0.114 * b) / 0.587, b]).clamp(0, 1)


class SuperResolutionTask(ImageTask):
    """x2/x4 upscaling; whole-photo PSNR and SSIM with `scale` border pixels shaved, as SR papers measure."""

    name = "super-resolution"
    monitor = "photo_psnr"
    directions = {"photo_psnr": "max", "photo_ssim": "max"}
    suffix = "upscaled"
    follows_input = False  # the output is larger than the input: flips could be undone, shifts could not

    @property
    def scale(self):
        return int(self.info.get("scale", 2))

    def evaluate_model(self, model, dataset, split, budget, device):
        photos = held_photos(self, dataset)
        if not photos:
            return {}
        p, s = [], []
        for name, img in photos:
            hr = gdata.crop_to_multiple(img, self.scale)
            lr = gdata.downscale(hr[None], self.scale)
            out = tiled(self.net(model, device), lr, TILE // self.scale, OVERLAP // self.scale, self.scale)[0]
            p.append(psnr(out, hr, self.scale))
            s.append(ssim(out, hr, self.scale))
        return {"photo_psnr": float(np.mean(p)), "photo_ssim": float(np.mean(s))}

    def run_image(self, model, array, device, path):
        h, w = array.shape[:2]
        if min(h, w) < self.scale:
            raise ZooError(f"{path}: {w}x{h} pixels is smaller than the scale factor {self.scale}")
        x = to_tensor(array)
        channels = int(self.info.get("channels", 1))
        if channels == 1 and x.shape[0] == 3:  # the network upscales luma; colour is upscaled bicubic
            ycc = rgb_to_ycbcr(x)
            y = tiled(self.net(model, device), ycc[None, :1], TILE // self.scale, OVERLAP // self.scale, self.scale)[0]
            chroma = F.interpolate(ycc[None, 1:], scale_factor=self.scale, mode="bicubic", align_corners=False)[0]
            return ycbcr_to_rgb(torch.cat([y, chroma]))
        return self.per_channel(model, x, device, self.scale)


# -- colorization ---------------------------------------------------------------------------------------
class ColorizeTask(ImageTask):
    """L -> a distribution over quantized ab colours per pixel (Zhang, Isola and Efros 2016): a soft-encoded,
    class-rebalanced cross-entropy, decoded by the annealed mean. A regression loss would average the
    plausible colours of a region to grey; this keeps them."""

    name = "colorize"
    monitor = "loss"
    directions = {"rgb_psnr": "max", "colourfulness": "max"}
    suffix = "colorized"
    neighbours, spread, temperature = 5, 5.0, 0.38

    def __init__(self, config, info):
        super().__init__(config, info)
        self.centres = torch.tensor(info["ab_bins"], dtype=torch.float32)  # Q x 2
        self.weights = torch.tensor(info["bin_weights"], dtype=torch.float32)

    def metrics(self):
        return None

    def loss(self, logits, ab):
        q = logits.shape[1]
        pixels = ab.permute(0, 2, 3, 1).reshape(-1, 2).float()
        centres, weights = self.centres.to(pixels.device), self.weights.to(pixels.device)
        dist, idx = torch.cdist(pixels, centres).topk(self.neighbours, largest=False)
        soft = torch.softmax(-dist ** 2 / (2 * self.spread ** 2), 1)
        logp = torch.log_softmax(logits.float().permute(0, 2, 3, 1).reshape(-1, q), 1)
        per_pixel = -(soft * logp.gather(1, idx)).sum(1)
        return (weights[idx[:, 0]] * per_pixel).mean()

    def decode(self, logits: torch.Tensor) -> torch.Tensor:
        """N x Q x H x W logits -> N x 2 x H x W ab by the annealed mean (temperature 0.38)."""
        probs = torch.softmax(logits.float() / self.temperature, 1)
        return torch.einsum("nqhw,qc->nchw", probs, self.centres.to(probs.device))

    def colorize(self, model, L: torch.Tensor, device) -> torch.Tensor:
        """1 x H x W L channel -> 3 x H x W RGB."""
        fn = lambda t: self.decode(model(gdata.l_input(t).to(device))).cpu()  # noqa: E731
        ab = tiled(fn, L[None], TILE, OVERLAP)[0]
        return gdata.lab_to_rgb(torch.cat([L, ab]))

    def evaluate_model(self, model, dataset, split, budget, device):
        photos, rgb = held_photos(self, dataset), getattr(dataset, "rgb", None)
        if not photos or rgb is None:
            return {}
        p, c = [], []
        for name, lab in photos:
            out = self.colorize(model, lab[:1], device)
            p.append(psnr(out, rgb[name]))
            c.append(colourfulness(out))
        return {"rgb_psnr": float(np.mean(p)), "colourfulness": float(np.mean(c))}

    def run_image(self, model, array, device, path):  # a grey image is what it takes; colour is made grey first
        L = gdata.rgb_to_lab(to_tensor(to_channels(array, 3)))[:1]
        return self.colorize(model, L, device)

    def report(self, trainer, run_dir) -> None:
        """results.png: each test photo as the network sees it (grey), coloured by it, and its true colours."""
        test = trainer.data.test
        if test is None or not getattr(test, "photos", None):
            return
        model = trainer.eval_model().eval()
        rows = []
        with torch.no_grad():
            for name, lab in test.photos:
                grey = gdata.lab_to_rgb(torch.cat([lab[:1], torch.zeros_like(lab[1:])]))
                rows.append(torch.cat([grey, self.colorize(model, lab[:1], trainer.device), test.rgb[name]], -1))
        write_grid(rows, Path(run_dir) / "results.png")


def write_grid(rows: list[torch.Tensor], path: Path, height: int = 160) -> Path:
    """Images (3 x H x W, any widths) scaled to one height and stacked as rows."""
    scaled = [F.interpolate(r[None], size=(height, max(1, round(r.shape[-1] * height / r.shape[-2]))), mode="bilinear",
                            antialias=True, align_corners=False)[0] for r in rows]
    width = max(r.shape[-1] for r in scaled)
    canvas = torch.ones(3, height * len(scaled), width)
    for i, r in enumerate(scaled):
        canvas[:, i * height:(i + 1) * height, : r.shape[-1]] = r
    return save_png(canvas, path)


# -- style ---------------------------------------------------------------------------------------------
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
            from .images import limit_side
            grams = None
            for path in self.info["style_images"]:
                image = to_tensor(limit_side(to_channels(read_array(path), 3), int(self.info.get("style_side", 256))))
                with torch.no_grad():
                    g = [gram(f) for f in encoder(image[None].to(device))]
                grams = g if grams is None else [a + b for a, b in zip(grams, g)]
            self._grams = [g / len(self.info["style_images"]) for g in grams]
        return self._grams

    def forward(self, model, x):
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
        return [{"height": int(o.shape[-2]), "width": int(o.shape[-1])} for o in output["image"]]

    @torch.no_grad()
    def unchanged_distance(self, model, dataset, device) -> float:
        """The style distance of the split's images left as they are: what the network must bring down."""
        encoder, out = unwrap(model).encoder, []
        for x, _ in torch.utils.data.DataLoader(dataset, batch_size=8):
            feats = encoder(x.to(device))
            out.append(self.distances({"features": feats, "content": feats[self.content_layer],
                                       "style": self.style_grams(encoder, device)})[0])
        return float(torch.cat(out).mean())

    def run_image(self, model, array, device, path):
        x = to_tensor(to_channels(array, 3))
        return tiled(self.net(model, device), x[None], TILE, OVERLAP)[0]

    def report(self, trainer, run_dir) -> None:
        """results.png: each test photo and its stylized version."""
        test = trainer.data.test
        if test is None or not getattr(test, "photos", None):
            return
        model = trainer.eval_model().eval()
        with torch.no_grad():
            rows = [torch.cat([img, self.run_image(model, img.permute(1, 2, 0).numpy(), trainer.device, Path(name))], -1)
                    for name, img in test.photos]
        write_grid(rows, Path(run_dir) / "results.png")


# -- flow matching ---------------------------------------------------------------------------------------
class ClassifierFeatures(torch.nn.Module):
    """A trained classifier's penultimate features (the input of its last linear layer) and its logits."""

    def __init__(self, model: torch.nn.Module, mean, std):
        super().__init__()
        self.model = model.eval()
        linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
        if not linears:
            raise ZooError("data.classifier: its network has no final linear layer to take features before")
        self.num_features = linears[-1].in_features
        self._features = None
        linears[-1].register_forward_hook(lambda mod, inputs, out: setattr(self, "_features", inputs[0]))
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
        self.logits = None

    def forward(self, images01: torch.Tensor) -> torch.Tensor:
        self.logits = self.model((images01.float() - self.mean) / self.std)
        return self._features.flatten(1)


def load_classifier(path: str, device) -> ClassifierFeatures:
    """zoo's own Fashion-MNIST classifier, from a run directory of vision/fashion-mnist-resnet."""
    from zoo.reopen import open_run

    try:
        run = open_run(path, device=device.type)
        model = run.predictor().eval_model()
    except ZooError as exc:
        raise ZooError(f"data.classifier={path}: cannot load it ({exc}); give a run directory of "
                       "vision/fashion-mnist-resnet (zoo-vision installed)") from None
    info = run.saved["info"]
    if info.get("image_size") != 28 or info.get("channels") != 1 or info.get("num_classes") != 10:
        raise ZooError(f"data.classifier={path}: a run of {run.recipe.name} does not classify 28 px grey images "
                       "into Fashion-MNIST's 10 classes")
    for p in model.parameters():
        p.requires_grad_(False)
    return ClassifierFeatures(model, info["mean"], info["std"]).to(device)


@torch.no_grad()
def sample(model, labels: torch.Tensor, steps: int, guidance: float, generator: torch.Generator,
           shape=(1, 28, 28), null: int = 10) -> torch.Tensor:
    """Images in [0, 1] of the given classes: Euler steps of the learned flow from noise (t=1) to data (t=0),
    with classifier-free guidance v = v_none + w (v_class - v_none)."""
    device = next(model.parameters()).device
    n = len(labels)
    x = torch.randn((n, *shape), generator=generator).to(device)
    labels = labels.to(device)
    ts = torch.linspace(1.0, 0.0, steps + 1)
    for t, t_next in zip(ts[:-1], ts[1:]):
        tt = torch.full((n,), float(t), device=device)
        if guidance == 1.0:
            v = model(image=x, t=tt, label=labels)
        else:
            both = model(image=torch.cat([x, x]), t=torch.cat([tt, tt]),
                         label=torch.cat([labels, torch.full_like(labels, null)]))
            v_class, v_none = both.chunk(2)
            v = v_none + guidance * (v_class - v_none)
        x = x - (float(t) - float(t_next)) * v.float()
    return ((x.clamp(-1, 1) + 1) / 2).cpu()


class FlowMatchingTask(Task):
    """Class-conditional flow matching (Lipman et al. 2023; rectified flow): x_t = (1 - t) x + t noise with t
    drawn per sample, the network predicts the velocity noise - x; the class is dropped 10% of the time so
    one network also gives the unconditional flow that classifier-free guidance needs.

    With a classifier (data.classifier), evaluation draws `eval_budget` samples, balanced over the classes,
    and reports the Frechet distance between the classifier's features of the samples and of the split's
    images (`fid`), and how often the classifier sees the class that was asked for (`class_accuracy`).
    """

    name = "flow-matching"
    directions = {"fid": "min", "class_accuracy": "max"}
    drop_label = 0.1

    def __init__(self, config, info):
        super().__init__(config, info)
        self.monitor = "fid" if info.get("classifier") else "loss"
        self.num_classes = int(info.get("num_classes", 10))
        self.steps, self.guidance = int(info.get("steps", 30)), float(info.get("guidance", 2.0))
        self._classifier = None
        self._fid: dict[str, Any] = {}

    def forward(self, model, x):
        image, label = x["image"], x["label"]
        n = image.shape[0]
        if unwrap(model).training:
            t = torch.rand(n, device=image.device)
            noise = torch.randn_like(image)
            label = torch.where(torch.rand(n, device=image.device) < self.drop_label,
                                torch.full_like(label, self.num_classes), label)
        else:  # the same timesteps and noise at every evaluation: comparable losses across epochs
            g = torch.Generator().manual_seed(n)
            t = torch.rand(n, generator=g).to(image.device)
            noise = torch.randn(image.shape, generator=g).to(image.device)
        tt = t.view(-1, 1, 1, 1)
        v = model(image=(1 - tt) * image + tt * noise, t=t, label=label)
        return v, noise - image

    def loss(self, output, target):
        v, velocity = output
        return F.mse_loss(v.float(), velocity.float())

    def predict(self, output):
        return [{} for _ in output[0]]

    def classifier(self, device) -> ClassifierFeatures | None:
        if self._classifier is None and self.info.get("classifier"):
            self._classifier = load_classifier(self.info["classifier"], device)
        return self._classifier

    def evaluate_model(self, model, dataset, split, budget, device):
        features = self.classifier(device)
        if features is None or dataset is None:
            return {}
        from torchmetrics.image.fid import FrechetInceptionDistance

        if split not in self._fid:  # the split's real features are computed once and kept
            fid = FrechetInceptionDistance(feature=features, normalize=True, reset_real_features=False).to(device)
            loader = torch.utils.data.DataLoader(dataset, batch_size=500)
            for x, _ in loader:
                fid.update(((x["image"] + 1) / 2).to(device), real=True)
            self._fid[split] = fid
        fid = self._fid[split]
        fid.reset()
        generator = torch.Generator().manual_seed(1234)
        labels = torch.arange(budget) % self.num_classes
        hits = 0
        for chunk in labels.split(250):
            images = sample(model, chunk, self.steps, self.guidance, generator, null=self.num_classes).to(device)
            fid.update(images, real=False)
            hits += int((features.logits.argmax(1).cpu() == chunk).sum())
        return {"fid": float(fid.compute()), "class_accuracy": hits / budget}

    def sample_grid(self, model, path: Path, per_class: int = 8, seed: int = 0) -> Path:
        labels = torch.arange(self.num_classes).repeat_interleave(per_class)
        images = sample(model, labels, self.steps, self.guidance, torch.Generator().manual_seed(seed),
                        null=self.num_classes)
        from torchvision.utils import make_grid
        grid = make_grid(images, nrow=per_class, padding=2, pad_value=1.0)
        path.parent.mkdir(parents=True, exist_ok=True)
        return save_png(grid[:1], path)

    def report(self, trainer, run_dir) -> None:
        self.sample_grid(trainer.eval_model().eval(), Path(run_dir) / "samples.png")

    def predict_inputs(self, run, inputs, out_dir, options) -> list[dict[str, Any]]:
        """`zoo predict RUN --count N --label Sneaker ...`: N samples cycling over the classes asked for (all
        by default), written as PNG files to --out (default RUN_DIR/samples) with grid.png beside them."""
        options = dict(options)
        count, asked = options.pop("count", None), options.pop("labels", ()) or ()
        refuse_options(options, run.recipe.name)
        if inputs:
            raise ZooError(f"zoo predict: {run.recipe.name} generates images and takes no INPUT (got {inputs[0]!r}); "
                           "use --count N and --label CLASS")
        classes = self.info.get("classes", [str(i) for i in range(self.num_classes)])
        wanted = [self.class_index(text, classes) for text in asked] or list(range(self.num_classes))
        count = 10 if count is None else count
        if count < 1:
            raise ZooError(f"zoo predict --count: must be at least 1, got {count}")
        out_dir = out_dir or Path(run.dir) / "samples"
        out_dir.mkdir(parents=True, exist_ok=True)
        trainer = run.predictor()
        model = trainer.eval_model().eval()
        labels = torch.tensor([wanted[i % len(wanted)] for i in range(count)])
        images = torch.cat([sample(model, part, self.steps, self.guidance, torch.Generator().manual_seed(i),
                                   null=self.num_classes) for i, part in enumerate(labels.split(256))])
        results = []
        for i, (image, label) in enumerate(zip(images, labels.tolist())):
            name = classes[label].replace("/", "-").replace(" ", "-").lower()
            path = save_png(image, out_dir / f"sample{i:04d}.{name}.png")
            results.append({"input": f"sample {i}", "label": classes[label], "files": [str(path)]})
        from torchvision.utils import make_grid
        save_png(make_grid(images, nrow=min(count, 10), padding=2, pad_value=1.0)[:1], out_dir / "grid.png")
        return results

    @staticmethod
    def class_index(text: str, classes: list[str]) -> int:
        lowered = [c.lower() for c in classes]
        if text.lower() in lowered:
            return lowered.index(text.lower())
        if text.isdigit() and int(text) < len(classes):
            return int(text)
        close = [c for c in classes if text.lower() in c.lower()]
        if len(close) == 1:
            return classes.index(close[0])
        raise ZooError(f"zoo predict --label {text}: not a class of this run; its classes are {', '.join(classes)} "
                       f"(or 0-{len(classes) - 1})")


def sample_grids(config):
    """A callback that writes samples/epochNNN.png (8 samples of each class) every `data.grid_every` epochs
    and after the last."""
    from zoo.training.callbacks import Callback

    class Grids(Callback):
        def on_evaluate(self, trainer, row) -> None:
            every = int(trainer.task.info.get("grid_every", 2))
            if trainer.run_dir is None or not (trainer.epoch % max(every, 1) == 0 or trainer.epoch == config["epochs"]):
                return
            model = trainer.eval_model()
            was_training = model.training
            trainer.task.sample_grid(model.eval(), trainer.run_dir / "samples" / f"epoch{trainer.epoch:03d}.png")
            model.train(was_training)

    return Grids()
