"""What zoo-generation contributes. Only specs here: factories are imported when an entry is built, so
`zoo list` and `zoo info` never import torch or scikit-image."""
from dataclasses import dataclass

from zoo import DatasetSpec, ModelSpec, RecipeSpec, hookimpl
from zoo.config import EvaluatedSettings, Range, setting

PHOTOS_SOURCE = ("photos bundled in the scikit-image 0.26 wheel (astronaut, camera, chelsea, coffee, rocket; CC0 "
                 "textures brick, grass, gravel), scikit-learn's sample images (china, flower), matplotlib's "
                 "grace_hopper.jpg, and the 12 nature photos of Debian's mate-backgrounds when installed")
PHOTOS_LICENCE = ("CC0 or public domain (scikit-image, matplotlib), CC BY 2.0 (scikit-learn's china.jpg, flower.jpg), "
                  "GPL-2+ (mate-backgrounds)")
OWN = ("--data DIR of images (PNG/JPEG/TIFF/WebP..., any depth): DIR/train, DIR/valid, DIR/test when present, "
       "else whole images held out at random (15% valid, 15% test, at least one each)")
SPLIT = ("Whole photos are held out: test astronaut, coffee, china, camera, LadyBird, Storm; valid chelsea, flower, "
         "Garden; the rest train, as random crops of windows. Photos are shrunk to data.max_side. 16-bit images are "
         "scaled by 65535, palette images expanded, transparency composited over white, colour turned to luma (BT.601) "
         "for grey recipes and grey repeated to RGB for colour ones; a corrupt file is named and skipped; an image "
         "smaller than data.crop is an error naming it.")
IMAGES = "images N x C x H x W in [0, 1], any size"


@dataclass
class ColorizeSettings(EvaluatedSettings):
    """How generation/colorize turns its distribution over ab colours into one colour per pixel."""

    temperature: float = setting(0.0, "annealed-mean temperature (lower: more colourful and riskier; 1: the mean); "
                                      "0: the decoding chosen on the validation photos (stored in the run)", Range(0, 2))
    prior: float = setting(0.0, "with task.temperature: how much of the class rebalancing is divided back out of "
                                "the distribution before decoding (1: all, its mean is the squared-error-optimal "
                                "colour; 0: none, more colourful)", Range(0, 1))
    confidence: float = setting(0.0, "with task.temperature: chroma scaled by the confidence (1 - normalized "
                                     "entropy) to this power; 0: not scaled", Range(0, 4))
    psnr_margin: float = setting(0.0, "dB above the grey image's PSNR on the validation photos that the chosen "
                                      "decoding must reach")


MORE_SOURCE = ("; with data.more_photos (denoising's default) also the photographs of Debian's lomiri-wallpapers-16.04 "
               "and lomiri-wallpapers-20.04 (13) and plasma-workspace-wallpapers (11)")
MORE_LICENCE = ("; lomiri: CC BY 4.0, CC BY-SA 3.0/4.0 or CC0 per photo (its debian/copyright); plasma: LGPL-3 (the "
                "wallpapers' metadata; GPL-2+ in Debian's copyright file)")
MORE_SPLIT = ("Denoising (data.more_photos=true) holds out 20 whole test photos: those 6 and bridge, dragonfly, kleiber, "
              "picture_0b, wine, aitzgorri, life, seeding (lomiri), bythewater, coldripple, eveningglow, fallenleaf, "
              "grey, path (plasma); valid also kite; 23 train.")


COLOUR_SOURCE = ("; by default (data.more=true) also the photographs of Debian's lomiri-wallpapers-16.04 and "
                 "lomiri-wallpapers-20.04 (15: denoising's 13, analogpattern and greentock) and "
                 "plasma-workspace-wallpapers (11), and 18 colour photographs among OpenCV's sample images (Debian's "
                 "opencv-doc, unpacked by `python -m zoo_generation.opencv_photos`, which `make data` runs)")
COLOUR_SPLIT = ("Colorization's own split (data.more=true, the default): grey photos are left out; test the 5 colour "
                "photos of the usual test set and bridge, dragonfly, picture_0b, aitzgorri, seeding (lomiri), "
                "eveningglow, fallenleaf (plasma): 12 whole photos; valid chelsea, flower, Garden, kite, path; the other "
                "26 colour photos and the 18 OpenCV photos train. It is not denoising's split of the same photos (which is unchanged): no "
                "colorization model is scored on denoising's photos nor the reverse. data.more=false: the usual split "
                "of the wheel and mate photos alone (11 colour training photos).")


def _photos(name, summary, factory, notes="", more=False, colour=False):
    return DatasetSpec(name=name, summary=summary, factory=factory, task="",
                       source=PHOTOS_SOURCE + (MORE_SOURCE if more else COLOUR_SOURCE if colour else ""),
                       licence=PHOTOS_LICENCE + (MORE_LICENCE if more or colour else "")
                       + ("; OpenCV's photos: Apache-2.0 AND BSD-3-Clause (Debian's copyright file for opencv)"
                          if colour else ""), bring_your_own=OWN,
                       notes=(notes + " " + SPLIT + (" " + MORE_SPLIT if more else " " + COLOUR_SPLIT if colour
                                                     else "")).strip(),
                       reader="zoo_generation.images:read_image")


@hookimpl
def zoo_datasets():
    return [
        _photos("generation/noisy-photos", "natural photos with Gaussian noise (sigma 15/25/50 on 0-255 for "
                "evaluation, 0-55 for training), grey by default, with a noise-level map",
                "zoo_generation.data.denoise:denoise_photos",
                "Training noise is drawn per crop; each held-out photo gets its own fixed noise per level. Inputs carry "
                "the level sigma/255 as one more channel (data.noise_map=false: blind), targets always do (for the "
                "loss weights).", more=True),
        _photos("generation/downscaled-photos", "natural photos and their antialiased bicubic x2/x4 downscalings",
                "zoo_generation.data.super_resolution:sr_photos",
                "data.scale=2|4; grey (luma) by default, data.channels=3 for RGB."),
        _photos("generation/lab-photos", "colour photos in Lab: the L channel in, the ab colours out (grey photos left out)",
                "zoo_generation.data.colorize:colorize_photos",
                "ab is quantized on a grid of 10 into the bins that occur in the training photos, with class-rebalancing "
                "weights.", colour=True),
        _photos("generation/style-photos", "content photos (RGB) and the style image(s) to learn; by default a painting "
                "from mate-backgrounds (Elephants, by Wyng Stancikaite, GPL-2+)",
                "zoo_generation.data.style:style_photos",
                "data.style=IMAGE_OR_FOLDER sets the style."),
        _photos("generation/photo-patches", "crops of the training photos labelled by the photo they come from "
                "(a pretext task without labels, for the style encoder)", "zoo_generation.data.style:patch_photos",
                "Each training photo's rightmost data.crop columns are held out: upper half valid, lower half test."),
        DatasetSpec(
            name="generation/fashion-mnist", summary="Fashion-MNIST images in [-1, 1] with their class, for generative models",
            factory="zoo_generation.data.fashion:fashion_mnist", task="",
            source="Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), Zalando Research",
            licence="MIT", bring_your_own="--data DIR holding the four standard IDX gz files",
            notes="5,000 training images held out for validation (stratified, as vision/fashion-mnist); the 10,000 test "
                  "images are the test split. data.classifier=RUN_DIR of vision/fashion-mnist-resnet turns on the "
                  "Frechet distance and class accuracy of samples."),
    ]


@hookimpl
def zoo_models():
    return [
        ModelSpec(name="generation/resunet-denoiser", summary="DRUNet-style residual U-Net denoiser told the noise level "
                  "(residual blocks, added skips, noise-level map input; estimates the noise and subtracts it)",
                  factory="zoo_generation.models:resunet_denoiser", task="zoo_generation.tasks.denoise:DenoiseTask",
                  input="images N x C+1 x H x W in [0, 1], the last channel the noise level sigma/255 (N x C with "
                        "noise_map=false)"),
        ModelSpec(name="generation/unet-denoiser", summary="residual U-Net denoiser (estimates the noise and subtracts it)",
                  factory="zoo_generation.models:denoiser", task="zoo_generation.tasks.denoise:DenoiseTask",
                  input="images N x C x H x W in [0, 1] (one more channel, the level, with noise_map)"),
        ModelSpec(name="generation/espcn", summary="sub-pixel convolution super-resolution (residual blocks at low "
                  "resolution, pixel shuffle, plus bicubic)", factory="zoo_generation.models:super_resolution",
                  task="zoo_generation.tasks.super_resolution:SuperResolutionTask", input=IMAGES),
        ModelSpec(name="generation/unet-colorizer", summary="U-Net from L to a distribution over quantized ab colours per pixel",
                  factory="zoo_generation.models:colorizer", task="zoo_generation.tasks.colorize:ColorizeTask",
                  input="L channel N x 1 x H x W, scaled to [-1, 1]"),
        ModelSpec(name="generation/style-net", summary="feed-forward style network (Johnson et al.) with the frozen "
                  "encoder of its losses", factory="zoo_generation.models:style_net",
                  task="zoo_generation.tasks.style:StyleTask", input="RGB images N x 3 x H x W in [0, 1]"),
        ModelSpec(name="generation/patch-encoder", summary="VGG-like encoder with a head telling which photo a crop comes from",
                  factory="zoo_generation.models:patch_encoder", task="classification",
                  input="RGB images N x 3 x H x W in [0, 1]"),
        ModelSpec(name="generation/flow-unet", summary="class-conditional U-Net predicting the velocity of flow matching",
                  factory="zoo_generation.models:flow_unet", task="zoo_generation.tasks.flow:FlowMatchingTask",
                  input="{'image': N x 1 x 28 x 28 in [-1, 1], 't': N, 'label': N}"),
    ]


@hookimpl
def zoo_recipes():
    one = {"grad_stats_every": 0, "threads": 1}
    return [
        RecipeSpec(
            name="generation/denoise", summary="one residual U-Net for Gaussian noise of every level up to sigma 55, "
            "told the level (noise-level map); whole-photo PSNR at sigma 15/25/50", dataset="generation/noisy-photos",
            model="generation/unet-denoiser", task="zoo_generation.tasks.denoise:DenoiseTask",
            task_settings="zoo.config:EvaluatedSettings",
            defaults={**one, "epochs": 20, "batch_size": 16, "eval_batch_size": 32, "lr": 2e-3, "weight_decay": 0.0,
                      "warmup": 0.1, "data.crop": 48, "model.width": 32, "model.levels": 4},
            notes="`zoo predict RUN photo.png --out DIR [--sigma 25]` writes DIR/photo.denoised.png (any size, in "
                  "tiles; a colour photo is denoised channel by channel); without --sigma the level is estimated "
                  "(scikit-image's estimate_sigma) and reported. --set data.noise_map=false trains a blind network; "
                  "--set model=generation/resunet-denoiser the DRUNet-style one. Baselines (non-local means, total "
                  "variation, BM3D if installed): zoo_generation.baselines and bench/bench_generation_denoise.py."),
        RecipeSpec(
            name="generation/super-resolution", summary="x2 (data.scale=4 for x4) super-resolution by sub-pixel "
            "convolution; whole-photo PSNR and SSIM against bicubic", dataset="generation/downscaled-photos",
            model="generation/espcn", task="zoo_generation.tasks.super_resolution:SuperResolutionTask",
            task_settings="zoo.config:EvaluatedSettings",
            defaults={**one, "epochs": 10, "batch_size": 16, "eval_batch_size": 32, "lr": 2e-3, "weight_decay": 0.0,
                      "warmup": 0.1, "data.scale": 2, "data.crop": 64, "model.width": 48, "model.blocks": 6},
            notes="`zoo predict RUN small.png --out DIR` writes DIR/small.upscaled.png; a colour image has its luma "
                  "upscaled by the network and its chroma by bicubic."),
        RecipeSpec(
            name="generation/colorize", summary="colour from the L channel: U-Net over quantized ab bins with a "
            "class-rebalanced loss; PSNR and colourfulness, results.png", dataset="generation/lab-photos",
            model="generation/unet-colorizer", task="zoo_generation.tasks.colorize:ColorizeTask",
            task_settings="zoo_generation.plugin:ColorizeSettings",
            defaults={**one, "epochs": 10, "batch_size": 16, "eval_batch_size": 8, "lr": 2e-3, "weight_decay": 0.05,
                      "warmup": 0.1, "data.crop": 64, "model.width": 24, "model.levels": 4},
            notes="`zoo predict RUN grey.png --out DIR` writes DIR/grey.colorized.png; a colour image is made grey first. "
                  "The decoding (annealed-mean temperature, how much of the class rebalancing is divided back out, "
                  "chroma scaled by confidence) is chosen on the validation photos at the end of training: the most "
                  "colourful whose RGB PSNR there is at least the grey image's (colorize.json in the run); "
                  "--set task.temperature=T (with task.prior=P, task.confidence=C) overrides it."),
        RecipeSpec(
            name="generation/style-encoder", summary="train the encoder of generation/style's losses: a VGG-like "
            "network that tells which training photo a crop comes from", dataset="generation/photo-patches",
            model="generation/patch-encoder", task="classification",
            defaults={**one, "epochs": 8, "batch_size": 32, "eval_batch_size": 64, "lr": 2e-3, "weight_decay": 0.05,
                      "task.label_smoothing": 0.1, "data.crop": 64, "model.width": 32}),
        RecipeSpec(
            name="generation/style", summary="turn photos into the style of a painting or image set (data.style): "
            "feed-forward network, perceptual and Gram losses on zoo's own encoder", dataset="generation/style-photos",
            model="generation/style-net", task="zoo_generation.tasks.style:StyleTask",
            defaults={**one, "epochs": 6, "batch_size": 4, "eval_batch_size": 8, "lr": 2e-3, "weight_decay": 0.0,
                      "warmup": 0.1, "data.crop": 96, "model.width": 16, "model.blocks": 3},
            notes="Train generation/style-encoder first and pass --set init_from=ENCODER_RUN (its encoder is loaded, "
                  "frozen; without it the losses use a random encoder and a warning says so). "
                  "`zoo predict RUN photo.jpg --out DIR` writes DIR/photo.styled.png."),
        RecipeSpec(
            name="generation/diffusion-fashion", summary="class-conditional flow matching on Fashion-MNIST with "
            "classifier-free guidance; Frechet distance and class accuracy on zoo's own classifier",
            dataset="generation/fashion-mnist", model="generation/flow-unet",
            task="zoo_generation.tasks.flow:FlowMatchingTask",
            task_settings="zoo.config:EvaluatedSettings", callbacks=("zoo_generation.tasks.flow:sample_grids",),
            defaults={**one, "epochs": 5, "batch_size": 64, "eval_batch_size": 500, "lr": 2e-3, "weight_decay": 0.0,
                      "warmup": 0.05, "ema": 0.995, "task.eval_budget": 300, "data.limit": 12000, "data.guidance": 2.0,
                      "data.steps": 25, "data.grid_every": 1, "model.width": 48, "model.mults": "1,2,2",
                      "model.patch": 2},
            notes="--set data.classifier=RUN_DIR (a run of vision/fashion-mnist-resnet) turns on `fid` and "
                  "`class_accuracy` (eval_budget samples). samples/epochNNN.png every data.grid_every epochs, "
                  "samples.png at the end; `zoo predict RUN --count 16 --label Sneaker --out DIR` writes samples."),
    ]


@hookimpl
def zoo_predict_options():
    import click

    return [click.Option(["--sigma"], type=float,
                         help="Denoising: the noise level on 0-255 (default: estimated from each image)."),
            click.Option(["--count"], type=int, help="Generative runs: how many samples to write (default 10)."),
            click.Option(["--label", "labels"], multiple=True,
                         help="Generative runs: a class to sample (name or index; repeatable; default all).")]
