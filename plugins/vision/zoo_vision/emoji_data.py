"""`python -m zoo_vision.emoji_data`: OpenMoji (npm `openmoji`, CC BY-SA 4.0), installed with npm under
$ZOO_CACHE/vision/openmoji and rendered to PNG-like arrays, the default data of vision/captioning.

The package holds about 4,500 emoji drawings (`color/svg/<HEXCODE>.svg`; it ships no PNGs) and
`data/openmoji.json`, whose `annotation` field (the CLDR short name, "grinning face with big eyes") is the
caption. Drawings are rendered by cairosvg onto white at the size asked, once, and cached as .npz.

Families: skin-tone and gender variants of one emoji ("person getting massage: dark skin tone", "woman getting
massage") share a family key, so a split never holds one variant while another trains; emoji whose captions
are equal once the skin tones are taken out are joined as well. The test split then holds captions never seen
in training (many are compositions of seen words).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from zoo import DataMissing
from zoo.paths import cache_dir, cached_arrays

PACKAGE = "openmoji@17"
RENDER_VERSION = 1  # bump when the rendering changes: cached arrays are keyed by it
# code points that make a variant of the same emoji: skin tones, zero-width joiner, variation selector, the
# female and male signs
VARIANT_CODES = {"1F3FB", "1F3FC", "1F3FD", "1F3FE", "1F3FF", "200D", "FE0F", "2640", "2642"}
# man/woman/person, boy/girl/child, old man/old woman/older person are gender variants of one another
GENDERED = {"1F468": "P", "1F469": "P", "1F9D1": "P", "1F466": "C", "1F467": "C", "1F9D2": "C",
            "1F474": "O", "1F475": "O", "1F9D3": "O"}
SKIN_TONE = re.compile(r"(,\s*)?\b((medium-)?(light|dark)|medium) skin tone\b")


def package_dir(install_missing: bool = True) -> Path:
    """The openmoji package folder: $ZOO_OPENMOJI, the npm install under $ZOO_CACHE, else installed now (npm);
    DataMissing when it cannot be had."""
    if os.environ.get("ZOO_OPENMOJI"):
        path = Path(os.environ["ZOO_OPENMOJI"])
        if not (path / "data" / "openmoji.json").is_file():
            raise DataMissing(f"ZOO_OPENMOJI={path}: no data/openmoji.json there (give the npm package's folder)")
        return path
    path = cache_dir("vision", "openmoji") / "node_modules" / "openmoji"
    if (path / "data" / "openmoji.json").is_file():
        return path
    if not install_missing:
        raise DataMissing("OpenMoji is not installed: run `python -m zoo_vision.emoji_data`")
    try:
        return install()
    except RuntimeError as exc:
        raise DataMissing(f"vision/captioning: OpenMoji is missing ({exc}): run `python -m zoo_vision.emoji_data` "
                          "(npm install openmoji; npm comes from Debian's npm package), or set ZOO_OPENMOJI to the "
                          "package's folder") from None


def install() -> Path:
    """`npm install openmoji` into $ZOO_CACHE/vision/openmoji."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not here (apt-get install npm)")
    root = cache_dir("vision", "openmoji")
    got = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(root), PACKAGE],
                         capture_output=True, text=True)
    path = root / "node_modules" / "openmoji"
    if got.returncode or not (path / "data" / "openmoji.json").is_file():
        raise RuntimeError(f"npm install {PACKAGE} failed: {(got.stderr.strip().splitlines() or [''])[-1]}")
    return path


def family_key(hexcode: str) -> str:
    """The key that skin-tone and gender variants of one emoji share ('1F486-1F3FF' and '1F486-200D-2642-FE0F'
    -> '1F486'; '1F468-200D-1F4BB' and '1F469-200D-1F4BB' -> 'P-1F4BB')."""
    parts = [GENDERED.get(p, p) for p in hexcode.upper().split("-") if p not in VARIANT_CODES]
    return "-".join(parts) or hexcode.upper()


def bare_caption(caption: str) -> str:
    """A caption with its skin tones taken out ('kiss: person, person, light skin tone' -> 'kiss: person, person')."""
    return SKIN_TONE.sub("", caption.lower()).strip(" :,")


def families(records: list[dict[str, Any]]) -> list[int]:
    """A family number per record: records sharing a family key or a bare caption are one family (union-find)."""
    parent = list(range(len(records)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i, r in enumerate(records):
        for key in ("k:" + family_key(r["hexcode"]), "c:" + bare_caption(r["caption"])):
            if key in first:
                parent[find(i)] = find(first[key])
            else:
                first[key] = i
    roots: dict[int, int] = {}
    return [roots.setdefault(find(i), len(roots)) for i in range(len(records))]


def annotations(root: Path) -> list[dict[str, Any]]:
    """The emoji with a drawing and a caption: hexcode, caption, group, svg path."""
    try:
        raw = json.loads((root / "data" / "openmoji.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataMissing(f"{root / 'data' / 'openmoji.json'}: cannot be read ({exc})") from None
    records = []
    for entry in raw:
        svg = root / "color" / "svg" / f"{entry.get('hexcode', '')}.svg"
        caption = str(entry.get("annotation") or "").strip()
        if caption and svg.is_file():
            records.append({"hexcode": entry["hexcode"], "caption": caption, "group": entry.get("group", ""),
                            "svg": str(svg)})
    return records


def render_svg(svg: bytes | str, size: int) -> np.ndarray:
    """One SVG drawing (bytes, or a path) rendered by cairosvg onto white: size x size x 3 uint8."""
    import cairosvg
    from PIL import Image

    args = {"url": svg} if isinstance(svg, str) else {"bytestring": svg}
    png = cairosvg.svg2png(**args, output_width=size, output_height=size)
    with Image.open(io.BytesIO(png)) as img:
        rgba = img.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"), dtype=np.uint8)


def rendered(size: int) -> tuple[np.ndarray, list[dict[str, Any]], list[int]]:
    """Every emoji rendered at size x size (N x 3 x S x S uint8), its records and family numbers; cached."""
    root = package_dir()
    records = annotations(root)
    if not records:
        raise DataMissing(f"{root}: no emoji drawing with an annotation found under color/svg")
    digest = hashlib.sha1((root / "data" / "openmoji.json").read_bytes()).hexdigest()[:12]
    path = cache_dir("vision", "openmoji-rendered") / f"v{RENDER_VERSION}-{size}px-{digest}.npz"

    def make() -> dict[str, np.ndarray]:
        print(f"rendering {len(records)} OpenMoji drawings at {size} px (cached in {path.parent})",
              file=sys.stderr, flush=True)
        images, kept = [], []
        for r in records:
            try:
                images.append(render_svg(r["svg"], size))
            except Exception as exc:  # noqa: BLE001 - a drawing cairosvg cannot render is left out, and said
                print(f"  {r['hexcode']} ({r['caption']}): not rendered ({type(exc).__name__}), left out",
                      file=sys.stderr)
                continue
            kept.append(r["hexcode"])
        return {"images": np.ascontiguousarray(np.stack(images).transpose(0, 3, 1, 2)), "hexcodes": np.array(kept)}

    arrays = cached_arrays(path, make)
    kept = {str(h): i for i, h in enumerate(arrays["hexcodes"])}
    records = [r for r in records if r["hexcode"] in kept]
    images = arrays["images"][[kept[r["hexcode"]] for r in records]]
    return images, records, families(records)


if __name__ == "__main__":
    try:
        where = install()
    except RuntimeError as exc:
        sys.exit(f"error: {exc}")
    images, records, fams = rendered(48)  # the recipe's data.image_size
    print(f"{len(records)} OpenMoji drawings ({len(set(fams))} families) in {where}, rendered at 48 px")
