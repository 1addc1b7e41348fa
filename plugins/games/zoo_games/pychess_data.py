"""`python -m zoo_games.pychess_data`: unpack the data of Debian's pychess package (PGN puzzles and studies, the
opening book) under $ZOO_CACHE/games/pychess, without installing the package (which pulls in 56 others).

It runs `apt-get download pychess` and `dpkg -x` (an install step, like `make data`; nothing downloads while
training). Only usr/share/pychess/learn and the opening book are kept.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from zoo.paths import cache_dir


def install() -> Path:
    target = cache_dir("games", "pychess")
    if (target / "usr" / "share" / "pychess" / "pychess_book.bin").is_file():
        return target / "usr" / "share" / "pychess"  # unpacked before: `make data` runs this every time
    for tool in ("apt-get", "dpkg"):
        if not shutil.which(tool):
            sys.exit(f"error: {tool} is not here: this needs Debian or Ubuntu (or set ZOO_PYCHESS_DIR to a copy of "
                     "/usr/share/pychess)")
    with tempfile.TemporaryDirectory() as tmp:
        got = subprocess.run(["apt-get", "download", "pychess"], cwd=tmp, capture_output=True, text=True)
        if got.returncode and os.geteuid() == 0:  # package lists not fetched yet on a fresh machine
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
            got = subprocess.run(["apt-get", "download", "pychess"], cwd=tmp, capture_output=True, text=True)
        debs = list(Path(tmp).glob("pychess_*.deb"))
        if got.returncode or not debs:
            sys.exit(f"error: apt-get download pychess failed: {got.stderr.strip().splitlines()[-1:]} "
                     "(run apt-get update first?)")
        unpacked = Path(tmp) / "x"
        subprocess.run(["dpkg", "-x", str(debs[0]), str(unpacked)], check=True)
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
    return dest


if __name__ == "__main__":
    print(f"pychess data in {install()}")
