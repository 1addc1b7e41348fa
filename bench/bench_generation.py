"""Generation targets, each recipe against its classical baselines on the same held-out photos, in one run.

- generation/denoise has its own bench, bench/bench_generation_denoise.py (20 test photos, BM3D beside);
- generation/super-resolution x2 and x4 vs bicubic (PSNR and SSIM, `scale` border pixels shaved);
- generation/colorize vs the grey image and the training photos' mean colour (PSNR, colourfulness; its fuller bench,
  with the paired bootstrap over 12 test photos and the decoding table, is bench/bench_generation_colorize.py);
- generation/style-encoder, then generation/style with init_from=the encoder run (style and content distances
  against the unchanged photos);
- vision/fashion-mnist-resnet (short: the judge), then generation/diffusion-fashion with data.classifier=it:
  Frechet distance on the classifier's features and its accuracy on the asked-for classes, against the
  training images blurred and samples of a Gaussian fitted per pixel, all with the same number of samples.

All with one torch thread, in this order. GEN_BENCH_SETS=max_steps=2,eval_limit=1 is a smoke test (its figures
mean nothing); `python bench/bench_generation.py sr colorize ...` runs only some parts.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from zoo.reopen import open_run
from zoo.runs import train

sys.path.insert(0, str(Path(__file__).parent))
from zoo_generation import baselines
from zoo_generation.data import colorize as colorize_data, super_resolution as sr_data
from zoo_generation.tasks.image import colourfulness, psnr, ssim

torch.set_num_threads(1)
ROOT = Path(tempfile.mkdtemp(prefix="bench-generation-"))
SMOKE = os.environ.get("GEN_BENCH_SETS", "")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(name: str, out: str, **sets) -> tuple[Path, float]:
    extra = dict(item.split("=", 1) for item in SMOKE.split(",") if item)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(name, sets={"grad_stats_every": "0", "threads": "1", **{k: str(v) for k, v in sets.items()}, **extra},
              out=str(ROOT / out), callbacks=[])
    took = time.perf_counter() - started
    log(f"trained {name} ({out}) in {took / 60:.1f} min")
    return ROOT / out, took


def summary(path: Path) -> dict:
    return json.loads((path / "summary.json").read_text())


def super_resolution() -> None:
    print("### Super-resolution: `generation/super-resolution` (sub-pixel convolution)\n")
    print("Whole test photos (grey luma, longer side 512 px) shrunk by antialiased bicubic, then upscaled; PSNR (dB) "
          "and SSIM with `scale` border pixels shaved.\n")
    print("| scale | bicubic PSNR | zoo PSNR | gain | bicubic SSIM | zoo SSIM | epochs, train time | target (+0.5 dB) |")
    print("|---|---|---|---|---|---|---|---|")
    for scale in (2, 4):
        path, took = run("generation/super-resolution", f"sr{scale}", **{"data.scale": scale})
        s = summary(path)
        test = sr_data.sr_photos(scale=scale).test.photos
        bp, bs = [], []
        for _, img in test:
            hr = sr_data.crop_to_multiple(img, scale)
            up = baselines.bicubic(sr_data.downscale(hr[None], scale), scale)[0]
            bp.append(psnr(up, hr, scale))
            bs.append(ssim(up, hr, scale))
        ours, our_ssim = s["test"]["photo_psnr"], s["test"]["photo_ssim"]
        gain = ours - np.mean(bp)
        print(f"| x{scale} | {np.mean(bp):.2f} | **{ours:.2f}** | {gain:+.2f} | {np.mean(bs):.4f} | **{our_ssim:.4f}** | "
              f"{s['epochs']}, {took / 60:.1f} min | {'met' if gain >= 0.5 and our_ssim > np.mean(bs) else 'NOT met'} |")
    print()


def colorize() -> None:
    path, took = run("generation/colorize", "colorize")
    s = summary(path)
    bundle = colorize_data.colorize_photos()
    test, rgb, mean_ab = bundle.test.photos, bundle.test.rgb, bundle.info["mean_ab"]
    rows = {"grey image (a = b = 0)": [baselines.grey_colours(lab) for _, lab in test],
            "mean colour of the training photos": [baselines.mean_colour(lab, mean_ab) for _, lab in test],
            "true colours": [rgb[n] for n, _ in test]}
    print(f"### Colorization: `generation/colorize`, {s['epochs']} epochs in {took / 60:.1f} min\n")
    print(f"{len(test)} whole colour test photos ({', '.join(n for n, _ in test)}; longer side 256 px); PSNR of the "
          "RGB result against the true colours, and Hasler-Suesstrunk colourfulness (0 for grey).\n")
    print("| colours from | RGB PSNR (dB) | colourfulness |\n|---|---|---|")
    for name, outs in rows.items():
        p = np.mean([psnr(o, rgb[n]) for o, (n, _) in zip(outs, test)]) if name != "true colours" else float("inf")
        c = np.mean([colourfulness(o) for o in outs])
        print(f"| {name} | {'-' if name == 'true colours' else f'{p:.2f}'} | {c:.1f} |")
    print(f"| **zoo U-Net over ab bins** | **{s['test']['rgb_psnr']:.2f}** | **{s['test']['colourfulness']:.1f}** |")
    print(f"\nThe grid of results (grey input, zoo's colours, true colours per test photo) is `results.png` in the run "
          f"directory (`zoo train generation/colorize` writes it).\n")


def style() -> None:
    enc, enc_took = run("generation/style-encoder", "style-encoder")
    path, took = run("generation/style", "style", init_from=str(enc))
    e, s = summary(enc), summary(path)
    trainer = open_run(path, device="cpu").trainer(with_data=True)
    ident = trainer.task.unchanged_distance(trainer.eval_model().eval(), trainer.data.test, torch.device("cpu"))
    print("### Style: `generation/style-encoder`, then `generation/style --set init_from=ENCODER_RUN`\n")
    print(f"The encoder (VGG-like, 4 stages) is trained by zoo on the training photos to tell which photo a 64 px "
          f"crop comes from (no labels needed; each photo's right edge held out): {e['epochs']} epochs in "
          f"{enc_took / 60:.1f} min, test accuracy {e['test']['accuracy']:.3f} (chance 1/{json.loads((enc / 'config.json').read_text())['info']['num_classes']}). The style network then learns the painting "
          f"`Elephants` (mate-backgrounds) with Gram (style) and perceptual (content) losses on it: {s['epochs']} "
          f"epochs in {took / 60:.1f} min.\n")
    print("| test tiles | style distance (Gram, summed over 4 stages) | content distance |\n|---|---|---|")
    print(f"| the photos unchanged | {ident:.4g} | 0 |")
    print(f"| **stylized by zoo** | **{s['test']['style_distance']:.4g}** ({s['test']['style_distance'] / ident:.2f} x) | "
          f"{s['test']['content_distance']:.4g} |")
    print("\nThe test photos beside their stylized versions: `results.png` in the run directory.\n")


def diffusion() -> None:
    judge, judge_took = run("vision/fashion-mnist-resnet", "judge", epochs=3)
    path, took = run("generation/diffusion-fashion", "diffusion", **{"data.classifier": str(judge)})
    j, s = summary(judge), summary(path)
    trainer = open_run(path, device="cpu").trainer(with_data=True)
    task, model = trainer.task, trainer.eval_model().eval()
    count = 100 if SMOKE else 2000
    ours = task.evaluate_model(model, trainer.data.test, "test", count, torch.device("cpu"))
    fid = task._fid["test"]
    train_images = (trainer.data.train.images + 1) / 2
    g = torch.Generator().manual_seed(0)
    order = torch.randperm(len(train_images), generator=g)[:count]
    pick = train_images[order]
    features = task.classifier(torch.device("cpu"))

    def frechet(images01) -> float:
        fid.reset()
        with torch.no_grad():
            for part in images01.split(500):
                fid.update(part, real=False)
        return float(fid.compute())

    def accuracy(images01, labels) -> float:
        predicted = []
        with torch.no_grad():
            for part in images01.split(500):
                features(part)
                predicted.append(features.logits.argmax(1))
        return float(torch.cat(predicted).eq(labels).float().mean())

    train_labels = trainer.data.train.labels[order]
    rows = [("training images themselves (real: the floor)", frechet(pick), accuracy(pick, train_labels)),
            ("training images blurred (Gaussian, sigma 1 px)", frechet(baselines.blurred(pick, 1.0)),
             accuracy(baselines.blurred(pick, 1.0), train_labels)),
            ("Gaussian fitted per pixel", frechet(baselines.pixel_gaussian(train_images, count, g)), float("nan"))]
    print(f"### Generation: `generation/diffusion-fashion` (class-conditional flow matching, guidance "
          f"{task.guidance:g}, {task.steps} Euler steps), {s['epochs']} epochs in {took / 60:.1f} min\n")
    print(f"Judge: `vision/fashion-mnist-resnet` trained by zoo for {j['epochs']} epochs ({judge_took / 60:.1f} min; test "
          f"accuracy {j['test']['accuracy']:.4f}); Frechet distance between its penultimate features (128-d) of "
          f"{count} images and of the 10,000 test images (torchmetrics' FID with zoo's classifier as the feature "
          "extractor); accuracy: how often the judge sees the class the images were asked for (or carry).\n")
    print("| images | Frechet distance to test | judge's accuracy on their classes |\n|---|---|---|")
    for name, f, a in rows:
        print(f"| {name} | {f:.2f} | {'-' if a != a else f'{a:.3f}'} |")
    print(f"| **zoo samples, {count} balanced over the classes** | **{ours['fid']:.2f}** | **{ours['class_accuracy']:.3f}** |")
    best_baseline = min(rows[1][1], rows[2][1])
    met = ours["fid"] < 0.5 * best_baseline and ours["class_accuracy"] >= 0.8
    print(f"\nTarget (far below the blurred and per-pixel-Gaussian baselines; accuracy >= 0.8): {'met' if met else 'NOT met'}. "
          "Sample grids: `samples/epochNNN.png` and `samples.png` in the run directory.\n")


PARTS = {"sr": super_resolution, "colorize": colorize, "style": style, "diffusion": diffusion}

if __name__ == "__main__":
    chosen = sys.argv[1:] or list(PARTS)
    started = time.perf_counter()
    print("## Generation: super-resolution, colorization, style, flow matching\n")
    print("Test photos are whole photos never seen in training (`generation/*-photos`: test astronaut, coffee, china, "
          "camera, LadyBird, Storm); each recipe is trained with its defaults and one torch thread, and its baselines "
          "are scored on the same images in the same run.\n")
    for name in chosen:
        PARTS[name]()
    log(f"bench_generation: {(time.perf_counter() - started) / 60:.1f} min")
