"""The tasks of the generation recipes, one module per recipe family: image (what the image-to-image tasks share),
denoise, super_resolution, colorize, style, flow (flow matching)."""
