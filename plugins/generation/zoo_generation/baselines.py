"""Classical baselines, scored on exactly the same held-out images as the networks (bench/bench_generation.py).

- denoising: scikit-image's non-local means and total-variation (Chambolle) denoisers, each with its strength
  tuned per noise level on the validation photos (a grid search), so the networks meet them at their best; and
  BM3D (Dabov et al. 2007; Maekinen, Azzari and Foi 2020) from the `bm3d` package of its authors' group when it is
  installed: an optional extra (`pip install zoo-generation[bm3d]`), since its licence allows non-commercial use
  only;
- super-resolution: bicubic upscaling (torch, the same kernel the networks add their detail to);
- colorization: the grey image itself (ab = 0) and the mean colour of the training photos;
- generation: the training images blurred, and samples of a Gaussian fitted to each pixel of them.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from zoo import ZooError

from .data.colorize import lab_to_rgb
from .data.denoise import noisy_photo
from .tasks.image import psnr


def _array(x: torch.Tensor) -> tuple[np.ndarray, int | None]:
    """C x H x W tensor -> the layout scikit-image wants (H x W for grey, H x W x C with channel_axis=-1)."""
    a = x.double().numpy()
    return (a[0], None) if a.shape[0] == 1 else (a.transpose(1, 2, 0), -1)


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a[None] if a.ndim == 2 else a.transpose(2, 0, 1)).float()


def non_local_means(noisy: torch.Tensor, sigma: float, h: float = 0.8) -> torch.Tensor:
    """scikit-image's non-local means with the noise level known (sigma on 0-255), filtering strength h x sigma;
    patch 5 and search distance 6 (its fast mode's recommended sizes), 7 and 9 above sigma 30."""
    from skimage.restoration import denoise_nl_means

    a, axis = _array(noisy)
    s = sigma / 255.0
    big = sigma > 30
    out = denoise_nl_means(a, patch_size=7 if big else 5, patch_distance=9 if big else 6, h=h * s, sigma=s,
                           fast_mode=True, channel_axis=axis)
    return _tensor(out)


def total_variation(noisy: torch.Tensor, weight: float) -> torch.Tensor:
    """scikit-image's total-variation denoiser (Chambolle's algorithm)."""
    from skimage.restoration import denoise_tv_chambolle

    a, axis = _array(noisy)
    return _tensor(denoise_tv_chambolle(a, weight=weight, channel_axis=axis))


def bm3d(noisy: torch.Tensor, sigma: float) -> torch.Tensor:
    """BM3D (both stages, the package's default profile) told the noise level (sigma on 0-255); each channel of a
    colour image alone, as the grey networks see them. Without the optional `bm3d` package: a one-line ZooError."""
    try:
        import bm3d as bm3d_package
    except ImportError:
        raise ZooError("BM3D needs the optional package bm3d (non-commercial licence): pip install bm3d") from None
    planes = [bm3d_package.bm3d(plane, sigma_psd=sigma / 255.0, stage_arg=bm3d_package.BM3DStages.ALL_STAGES)
              for plane in noisy.double().numpy()]
    return torch.from_numpy(np.stack(planes)).float()


NLM_H = (0.5, 0.65, 0.8, 1.0, 1.2)
TV_WEIGHT = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0)  # times sigma/255


def tune_denoisers(photos: list[tuple[str, torch.Tensor]], sigma: float) -> dict[str, float]:
    """The strength of each classical denoiser that gives the best mean PSNR on these (validation) photos."""
    best = {}
    for name, grid, run in (("nlm_h", NLM_H, lambda x, p: non_local_means(x, sigma, p)),
                            ("tv_weight", TV_WEIGHT, lambda x, p: total_variation(x, p * sigma / 255.0))):
        scores = {p: np.mean([psnr(run(noisy_photo(n, img, sigma), p), img) for n, img in photos]) for p in grid}
        best[name] = max(scores, key=scores.get)
    return best


def bicubic(lr: torch.Tensor, scale: int) -> torch.Tensor:
    """N x C x h x w -> bicubic upscaling by `scale`, clipped to [0, 1]."""
    return F.interpolate(lr, scale_factor=scale, mode="bicubic", align_corners=False).clamp(0, 1)


def grey_colours(lab: torch.Tensor) -> torch.Tensor:
    """The photo as the colorizer sees it: L with no colour (a = b = 0)."""
    return lab_to_rgb(torch.cat([lab[:1], torch.zeros_like(lab[1:])]))


def mean_colour(lab: torch.Tensor, mean_ab: list[float]) -> torch.Tensor:
    """L with the mean ab of the training photos everywhere."""
    ab = torch.tensor(mean_ab, dtype=torch.float32).view(2, 1, 1).expand(2, *lab.shape[-2:])
    return lab_to_rgb(torch.cat([lab[:1], ab]))


def blurred(images01: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """Images (N x 1 x H x W in [0, 1]) blurred by a Gaussian of `sigma` pixels."""
    from torchvision.transforms.functional import gaussian_blur

    k = 2 * int(3 * sigma) + 1
    return gaussian_blur(images01, [k, k], [sigma, sigma])


def pixel_gaussian(images01: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """`count` samples of a Gaussian fitted to each pixel of the images on its own (mean and std per pixel)."""
    mean, std = images01.mean(0), images01.std(0)
    return (mean + std * torch.randn((count, *mean.shape), generator=generator)).clamp(0, 1)
