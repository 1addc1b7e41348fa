"""The datasets of the generation recipes, one module per recipe family: photos (what the image recipes share),
denoise, super_resolution, colorize, style (and the style encoder's photo patches), fashion (flow matching)."""
