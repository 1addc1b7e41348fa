"""zoo-generation: image restoration and generation (denoising, super-resolution, colorization, style, diffusion)."""
__version__ = "0.1.0"
