"""`python -m zoo_generation.opencv_photos`: the colour photographs among OpenCV's sample images (Debian's
opencv-doc, /usr/share/doc/opencv-doc/examples/data), copied under $ZOO_CACHE/generation/opencv-photos without
installing the package (274 MB of documentation). More colour photos for colorization to learn from.

Debian's copyright file for opencv puts these files under `Files: *`, Apache-2.0 AND BSD-3-Clause (the images it
could not clear, lena among them, are removed from Debian's source); it is kept beside them. Only photographs are
taken: not the drawings, logos, test patterns, renders, paintings, nor the second image of a stereo or
optical-flow pair.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from zoo.paths import cache_dir, unpacked_debian_package

EXAMPLES = Path("usr/share/doc/opencv-doc/examples/data")
# name -> file: 18 colour photographs (aerial view, plants, fruit, animals, buildings, streets, objects, people)
PHOTOS = {
    "ocv_aero": "aero1.jpg", "ocv_aloe": "aloeL.jpg", "ocv_apple": "apple.jpg", "ocv_baboon": "baboon.jpg",
    "ocv_board": "board.jpg", "ocv_building": "building.jpg", "ocv_butterfly": "butterfly.jpg",
    "ocv_dog": "chicky_512.png", "ocv_castle": "ela_original.jpg", "ocv_fruits": "fruits.jpg",
    "ocv_graffiti": "graf1.png", "ocv_home": "home.jpg", "ocv_leuven": "leuvenA.jpg", "ocv_football": "messi5.jpg",
    "ocv_orange": "orange.jpg", "ocv_rubberwhale": "rubberwhale1.png", "ocv_smarties": "smarties.png",
    "ocv_squirrel": "squirrel_cls.jpg",
}
LICENCE = "Apache-2.0 AND BSD-3-Clause (Debian's copyright file for opencv, Files: *)"


def photos_dir() -> Path:
    return cache_dir("generation", "opencv-photos")


def install() -> Path:
    dest = photos_dir()
    if all((dest / file).is_file() for file in PHOTOS.values()):
        return dest  # copied before: `make data` runs this every time
    with unpacked_debian_package("opencv-doc") as unpacked:
        missing = [file for file in PHOTOS.values() if not (unpacked / EXAMPLES / file).is_file()]
        if missing:
            raise RuntimeError(f"opencv-doc holds no {', '.join(missing)} under /{EXAMPLES}")
        for file in PHOTOS.values():
            shutil.copy2(unpacked / EXAMPLES / file, dest / file)
        shutil.copy2(unpacked / "usr/share/doc/opencv-doc/copyright", dest / "copyright")
    return dest


if __name__ == "__main__":
    try:
        where = install()
    except RuntimeError as exc:
        sys.exit(f"error: {exc}")
    print(f"{len(PHOTOS)} OpenCV sample photos in {where}")
