"""microRTS by PPO (Schulman et al. 2017) against the built-in bots: the clipped surrogate objective on the
log-probability of a whole grid of actions (the components that apply at the cells that acted; invalid choices
stay masked), a value head's squared error to the GAE return, and an entropy bonus. Rollouts come from
zoo_games.microrts_rollouts, a round at a time; games against the bots judge it, as for the cloned policy.

Batch normalisation keeps the statistics the policy was started with (the cloned run's, with init_from): its
layers stay in evaluation mode while PPO trains, so that the policy a round's games were played with and the one
its ratios are taken against are the same function."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from zoo.training.callbacks import Callback

from ..microrts_net import entropy, log_prob
from ..plugin import PPOSettings
from .microrts import MicroRTSTask


def freeze_norms(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()


def ppo_loss(logits: torch.Tensor, value: torch.Tensor, y: dict[str, torch.Tensor], clip: float,
             value_weight: float, entropy_weight: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The PPO loss of one batch and its parts (policy, value, entropy, the share of clipped ratios)."""
    ratio = (log_prob(logits, y["actions"]) - y["logp"]).exp()
    adv = y["adv"]
    if adv.numel() > 1:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    policy = -torch.min(ratio * adv, ratio.clamp(1 - clip, 1 + clip) * adv).mean()
    value_loss = 0.5 * (value.float() - y["ret"]).pow(2).mean()
    bonus = entropy(logits, y["actions"]).mean()
    parts = {"policy": policy, "value": value_loss, "entropy": bonus,
             "clipped": ((ratio - 1).abs() > clip).float().mean()}
    return policy + value_weight * value_loss - entropy_weight * bonus, parts


class MicroRTSPPOTask(MicroRTSTask):
    name = "microrts-ppo"
    Settings = PPOSettings

    def forward(self, model: nn.Module, x: Any) -> Any:
        """(logits, value) while training; the logits alone for prediction and games."""
        if not model.training:
            return model(x["obs"], x.get("ready"), x["masks"])
        freeze_norms(model)
        return model(x["obs"], x.get("ready"), x["masks"], value=True)

    def loss(self, output, target):
        logits, value = output
        s = self.settings
        total, _ = ppo_loss(logits, value, target, s.clip, s.value_weight, s.entropy_weight)
        return total

    def metrics(self):
        return None


class RolloutFigures(Callback):
    """Adds each round's rollout figures to its row: `rollout_win_rate` (the round's games against the bots, moves
    sampled), `rollout_return` (the mean return a game, shaped rewards included) and `rollout_decisions`."""

    def on_evaluate(self, trainer, row) -> None:
        for key, value in (getattr(trainer.generator, "last", None) or {}).items():
            row[f"rollout_{key}"] = round(float(value), 4)


def rollout_figures(config) -> RolloutFigures:
    return RolloutFigures()
