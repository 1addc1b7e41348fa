"""Tiny synthetic problems for trainer tests: fast, and learnable only by a model that really trains."""
from __future__ import annotations

import torch
from torch import nn

from zoo.config import ClassifierSettings, TrainConfig
from zoo.data import DataBundle, TensorPairs
from zoo.tasks.classification import ClassificationTask


def blobs(n: int = 512, classes: int = 4, dim: int = 16, seed: int = 0, image: bool = False) -> DataBundle:
    """Gaussian clusters; as 1x4x4 'images' when image=True."""
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, dim, generator=g) * 2
    y = torch.randint(classes, (n,), generator=g)
    x = centers[y] + torch.randn(n, dim, generator=g)
    if image:
        x = x.view(n, 1, 4, 4)
    cut = int(n * 0.8)
    return DataBundle(train=TensorPairs(x[:cut], y[:cut]), valid=TensorPairs(x[cut:], y[cut:]),
                      model_args={"num_classes": classes}, info={"num_classes": classes})


def mlp(dim: int = 16, classes: int = 4, hidden: int = 32) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, classes))


def trainer(tmp_path=None, model=None, data=None, **settings):
    """A Trainer of `mlp` on `blobs`; `settings` are TrainConfig's and ClassifierSettings' (label_smoothing...)."""
    from dataclasses import fields

    from zoo.training.trainer import Trainer

    task_keys = {f.name for f in fields(ClassifierSettings)}
    config = TrainConfig(**{"epochs": 2, "batch_size": 32, "lr": 1e-2, "grad_stats_every": 0, "device": "cpu",
                            **{k: v for k, v in settings.items() if k not in task_keys}})
    data = data or blobs()
    task = ClassificationTask(config, data.info)
    task.settings = ClassifierSettings(**{k: v for k, v in settings.items() if k in task_keys})
    return Trainer(model or mlp(), task, data, config, run_dir=tmp_path, callbacks=[])
