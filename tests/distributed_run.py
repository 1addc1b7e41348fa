"""Launched by tests/test_distributed.py, under torchrun or alone: a few steps of the shared trainer."""
import sys

import torch
from torch import nn

from synthetic import blobs
from zoo.config import TrainConfig
from zoo.tasks.classification import ClassificationTask
from zoo.training.trainer import Trainer

out, batch_size = sys.argv[1], int(sys.argv[2])
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))  # no batch norm, no dropout
data = blobs(n=640)
config = TrainConfig(epochs=1, batch_size=batch_size, max_steps=5, lr=1e-2, grad_stats_every=0, device="cpu")
trainer = Trainer(model, ClassificationTask(config, data.info), data, config, run_dir=out, callbacks=[])
trainer.fit()
if trainer.main:  # like the test split at the end of a run: scored by rank 0 alone, no collective
    trainer.evaluate("valid")
trainer.close()
# one write per line: the two ranks share a pipe, and print() with several arguments writes in pieces
sys.stdout.write(f"rank {trainer.rank} of {trainer.world_size} steps {trainer.step}\n")
sys.stdout.flush()
