"""`python -m zoo_vision.josm_data`: the 46 road-sign drawings of Debian's josm package, unpacked under
$ZOO_CACHE/vision/josm-signs without installing the package (which pulls in Java).

The drawings are `images/presets/vehicle/restriction/**/*.svg` inside `/usr/share/josm/josm.jar`; Debian's
copyright file says of `resources/images/presets/*`: "Copyright: disclaimed, License: public-domain (these icons
are placed in the public domain by their authors)". That file is kept beside them. This runs `apt-get download
josm` and `dpkg -x` (an install step, like `make data`; the dataset factory runs it on first use when it can).
"""
from __future__ import annotations

import os
import shutil
import sys
import zipfile
from pathlib import Path

from zoo import DataMissing
from zoo.paths import cache_dir, unpacked_debian_package

PREFIX = "images/presets/vehicle/restriction/"
JARS = ("/usr/share/josm/josm.jar",)


def _extract(jar: Path, dest: Path) -> int:
    """The sign SVGs of one josm.jar into dest, named by their path under the restriction folder
    ('turn_restrictions/no_left_turn.svg' -> 'turn_restrictions__no_left_turn.svg'); how many."""
    with zipfile.ZipFile(jar) as z:
        names = [n for n in z.namelist() if n.startswith(PREFIX) and n.endswith(".svg")]
        for name in names:
            (dest / name[len(PREFIX):].replace("/", "__")).write_bytes(z.read(name))
    return len(names)


def signs_dir() -> Path:
    """The folder of the drawings: $ZOO_JOSM_SIGNS, the unpacked copy, else one extracted from an installed josm
    or from `apt-get download josm`; DataMissing when none can be had."""
    if os.environ.get("ZOO_JOSM_SIGNS"):
        path = Path(os.environ["ZOO_JOSM_SIGNS"])
        if not any(path.glob("*.svg")):
            raise DataMissing(f"ZOO_JOSM_SIGNS={path}: holds no .svg drawing")
        return path
    dest = cache_dir("vision", "josm-signs")
    if len(list(dest.glob("*.svg"))) >= 46:
        return dest
    try:
        return install()
    except RuntimeError as exc:
        raise DataMissing(f"the road-sign drawings of Debian's josm package are missing ({exc}): run "
                          "`python -m zoo_vision.josm_data` (apt-get download josm && dpkg -x), or set "
                          "ZOO_JOSM_SIGNS to a folder of the SVGs") from None


def install() -> Path:
    dest = cache_dir("vision", "josm-signs")
    for jar in JARS:  # josm installed
        if Path(jar).is_file():
            _extract(Path(jar), dest)
            copyright_file = Path("/usr/share/doc/josm/copyright")
            if copyright_file.is_file():
                shutil.copy2(copyright_file, dest / "copyright")
            return dest
    with unpacked_debian_package("josm") as unpacked:
        jars = sorted((unpacked / "usr" / "share" / "josm").glob("josm*.jar"))
        if not jars or _extract(jars[0], dest) == 0:
            raise RuntimeError("the josm package holds no sign drawings under " + PREFIX)
        copyright_file = unpacked / "usr" / "share" / "doc" / "josm" / "copyright"
        if copyright_file.is_file():
            shutil.copy2(copyright_file, dest / "copyright")
    return dest


if __name__ == "__main__":
    try:
        where = install()
    except RuntimeError as exc:
        sys.exit(f"error: {exc}")
    print(f"{len(list(where.glob('*.svg')))} josm sign drawings in {where}")
