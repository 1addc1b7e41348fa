"""`python -m zoo_games.pychess_data`: unpack the data of Debian's pychess package (PGN puzzles and studies, the
opening book) under $ZOO_CACHE/games/pychess, without installing the package (which pulls in 56 others).

It runs `apt-get download pychess` and `dpkg -x` (an install step, like `make data`; nothing downloads while
training). Only usr/share/pychess/learn and the opening book are kept.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from zoo.paths import cache_dir, unpacked_debian_package


def install() -> Path:
    target = cache_dir("games", "pychess")
    if (target / "usr" / "share" / "pychess" / "pychess_book.bin").is_file():
        return target / "usr" / "share" / "pychess"  # unpacked before: `make data` runs this every time
    try:
        with unpacked_debian_package("pychess") as unpacked:
            share = unpacked / "usr" / "share" / "pychess"
            dest = target / "usr" / "share" / "pychess"
            if dest.exists():
                shutil.rmtree(dest)
            (dest / "learn").parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(share / "learn", dest / "learn")
            shutil.copy2(share / "pychess_book.bin", dest / "pychess_book.bin")
            copyright_file = unpacked / "usr" / "share" / "doc" / "pychess" / "copyright"
            if copyright_file.is_file():
                shutil.copy2(copyright_file, dest / "copyright")
    except RuntimeError as exc:
        sys.exit(f"error: {exc}")
    return dest


if __name__ == "__main__":
    print(f"pychess data in {install()}")
