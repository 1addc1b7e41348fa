"""Fashion-MNIST (Debian's dataset-fashion-mnist, or a folder of its four IDX files) for flow matching."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from zoo import DataMissing, ZooError
from zoo.data import DataBundle, idx_file, read_idx, stratified_split

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


class Labelled(Dataset):
    """Images in [-1, 1] with their class: x = {'image', 'label'} (the model is conditioned on the class), y = class."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return {"image": self.images[i], "label": self.labels[i]}, self.labels[i]


def fashion_arrays(data: str | None) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    folder = Path(data) if data else FASHION_DIR
    if not folder.is_dir():
        raise (ZooError if data else DataMissing)(
            f"{folder}: no Fashion-MNIST folder; install the Debian package dataset-fashion-mnist or pass --data DIR "
            "with the four IDX gz files")
    out = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        x = read_idx(idx_file(folder, f"{prefix}-images-idx3-ubyte"))
        y = read_idx(idx_file(folder, f"{prefix}-labels-idx1-ubyte"))
        if len(x) != len(y) or x.ndim != 3:
            raise ZooError(f"{folder}: {prefix} images {x.shape} and labels {y.shape} do not match")
        if y.max() >= len(FASHION_CLASSES):
            raise ZooError(f"{folder}: {prefix} labels go up to {y.max()}; Fashion-MNIST has 10 classes")
        out[split] = (torch.from_numpy(x.copy()).unsqueeze(1).float() / 127.5 - 1, torch.from_numpy(y.astype(np.int64)))
    return out


def fashion_mnist(data: str | None = None, seed: int = 0, classifier: str = "", limit: int = 0,
                  valid_size: int = 5000, steps: int = 30, guidance: float = 2.0, grid_every: int = 2) -> DataBundle:
    """Fashion-MNIST in [-1, 1] with labels; 5,000 training images held out (stratified, as vision/fashion-mnist
    does); `classifier` is a run directory of vision/fashion-mnist-resnet whose features judge the samples;
    `steps` and `guidance` are the sampler's (Euler steps, classifier-free guidance scale), `grid_every` how
    often (epochs) a grid of samples is written to the run directory."""
    if steps < 1 or guidance < 0:
        raise ZooError(f"--set data.steps/data.guidance: need steps >= 1 and guidance >= 0, got {steps}, {guidance}")
    arrays = fashion_arrays(data)
    images, labels = arrays["train"]
    share = min(valid_size / len(labels), 0.5)
    valid, train = stratified_split(labels.tolist(), [share, 1 - share], seed=0)
    if limit:
        train = train[:limit]
    if classifier:
        from zoo.training.checkpoint import of_run
        of_run(classifier)  # a one-line error now if it is not a run directory
        classifier = str(Path(classifier).resolve())
    info = {"classes": FASHION_CLASSES, "num_classes": 10, "classifier": classifier, "kind": "diffusion",
            "image_size": int(images.shape[-1]), "channels": 1, "steps": steps, "guidance": guidance,
            "grid_every": grid_every}
    return DataBundle(train=Labelled(images[train], labels[train]), valid=Labelled(images[valid], labels[valid]),
                      test=Labelled(*arrays["test"]), model_args={"num_classes": 10, "channels": 1}, info=info)
