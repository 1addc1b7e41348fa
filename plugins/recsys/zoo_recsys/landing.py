"""recsys/landing-page: which item to show in each slot of a page, learned off policy from logged clicks.

Data: logged bandit feedback (bandits.Feedback), by default the Open Bandit Dataset sample's uniform-random log.
Model: `PagePolicy`, one network with two heads over the user's context: a reward model q(x, k, a) (click
probability of item a in slot k) and a policy pi(a | x, k) (a softmax over items per slot).
Task: `LandingTask`. Its loss is the reward model's cross-entropy on the logged clicks plus minus the policy's
off-policy value on the batch (doubly robust with the detached reward model, or plain inverse propensity), over
the training click rate so that it reads about -1, plus `entropy` x KL(pi || uniform), which keeps the policy
spread and its importance weights small. Metrics are the policy's IPW, SNIPW, DM and DR values on the split
and the logged click rate; the report bootstraps intervals on the test split and sets them beside the random
policy's click rate and Thompson Sampling's.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset
from torchmetrics import Metric

from zoo import ZooError
from zoo.data import DataBundle, split_indices
from zoo.build import default_recipe
from zoo.config import Range
from zoo.tasks import Task

from . import bandits
from .bandits import Encoding, Feedback

OBJECTIVES = ("dr", "ipw")


# -- data ---------------------------------------------------------------------------------------
class Impressions(Dataset):
    """(context, {position, action, reward, pscore}) per logged impression."""

    def __init__(self, log: Feedback):
        self.context = torch.from_numpy(log.context)
        self.target = {"position": torch.from_numpy(log.position), "action": torch.from_numpy(log.action),
                       "reward": torch.from_numpy(log.reward).float(), "pscore": torch.from_numpy(log.pscore).float()}

    def __len__(self) -> int:
        return len(self.context)

    def __getitem__(self, i: int):
        return self.context[i], {k: v[i] for k, v in self.target.items()}


def open_bandit(data: str | None = None, seed: int = 0, campaign: str = "all", folds: int = 0, fold: int = 0,
                valid: float = 0.15, test: float = 0.25) -> DataBundle:
    """The Open Bandit Dataset sample's random log of one campaign (or --data: a folder laid out like OBD, or a
    log CSV; see bandits.read_log_csv). folds=0: split by time, the last `test` share tests and the `valid` share
    before it validates. folds=F: rows cut at random (seeded) into F parts, part `fold` tests and the next validates
    (cross-fitting: F runs score every row once)."""
    compare: dict[str, Any] = {}
    if data is not None and Path(data).is_file():
        log = bandits.read_log_csv(data)
    else:
        from .obd_data import locate

        folder = Path(data) if data is not None else locate()
        log = bandits.obd_feedback(folder, "random", campaign)
        prior = folder / "prior_bts.yaml"
        if (folder / "bts").is_dir() and prior.is_file():
            ts = bandits.obd_feedback(folder, "bts", campaign, encoding=log.encoding)
            alpha, beta = bandits.bts_prior(prior, campaign)
            compare["Thompson Sampling"] = {
                "action_dist": np.round(bandits.bts_action_dist(alpha, beta, log.n_positions), 6).tolist(),
                "logged_rate": float(ts.reward.mean()), "logged_clicks": int(ts.reward.sum()), "logged_n": len(ts)}
    train_rows, valid_rows, test_rows = _split(len(log), seed, folds, fold, valid, test)
    base = float(log.reward[train_rows].mean())
    if base <= 0:
        raise ZooError(f"{log.source}: no reward in the training rows: nothing to learn from")
    info = {"actions": log.actions, "positions": log.positions, "encoding": log.encoding.to_json(),
            "base_rate": base, "source": log.source, "compare": compare,
            "uniform_logger": bool(np.allclose(log.pscore, 1.0 / log.n_actions))}
    return DataBundle(train=Impressions(log.subset(train_rows)), valid=Impressions(log.subset(valid_rows)),
                      test=Impressions(log.subset(test_rows)),
                      model_args={"context_dim": log.context.shape[1], "n_actions": log.n_actions,
                                  "n_positions": log.n_positions, "affinity": affinity_columns(log)}, info=info)


def affinity_columns(log: Feedback) -> list[int]:
    """For each item, the index in the context vector of its affinity column (`user-item_affinity_<item>` as in OBD,
    or `affinity_<item>`), -1 for none."""
    start, where = 0, {}
    for c in log.encoding.columns:
        if c["kind"] == "numeric":
            where[c["name"]] = start
        start += 1 if c["kind"] == "numeric" else len(c["categories"])
    return [where.get(f"user-item_affinity_{a}", where.get(f"affinity_{a}", -1)) for a in log.actions]


def _split(n: int, seed: int, folds: int, fold: int, valid: float, test: float):
    if folds:
        if folds < 3 or not 0 <= fold < folds:
            raise ZooError(f"--set data.folds={folds} data.fold={fold}: need folds >= 3 and 0 <= fold < folds")
        parts = split_indices(n, [1.0 / folds] * folds, seed + 104729)
        held = (fold, (fold + 1) % folds)
        train = sorted(i for f, part in enumerate(parts) if f not in held for i in part)
        return np.asarray(train, int), np.asarray(sorted(parts[held[1]]), int), np.asarray(sorted(parts[fold]), int)
    if not (0 < valid < 1 and 0 < test < 1 and valid + test < 0.9):
        raise ZooError(f"--set data.valid={valid} data.test={test}: need shares in (0, 1) that leave at least 10% to train")
    n_test, n_valid = int(round(n * test)), int(round(n * valid))
    return np.arange(n - n_test - n_valid), np.arange(n - n_test - n_valid, n - n_test), np.arange(n - n_test, n)


def read_context(source: str, info: dict[str, Any]) -> torch.Tensor:
    """`zoo predict RUN context.json` (or the JSON text itself): one user's context as {feature: value}. Features
    left out count as the training average (numbers) or as an unseen value (text)."""
    path = Path(source) if len(source) < 4096 and not source.lstrip().startswith("{") else None
    where = str(path) if path is not None else "context"
    if path is not None:
        if not path.is_file():
            raise ZooError(f"{source}: no such file (give a context JSON file, or the JSON object itself)")
        text = path.read_text(encoding="utf-8", errors="replace")
    else:
        text = source
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ZooError(f"{where} line {exc.lineno}: not JSON ({exc.msg})") from None
    if not isinstance(record, dict):
        raise ZooError(f"{where}: expected a JSON object of context features, got {type(record).__name__}")
    vector, _ = Encoding(info["encoding"]).encode_one(record, where)
    return torch.from_numpy(vector)


# -- model --------------------------------------------------------------------------------------
class PagePolicy(nn.Module):
    """context (B, d) -> {'reward': click logits (B, K, A), 'policy': logits (B, K, A)}.

    reward: a factorised logit u(x) . e_a + b_a + b_k (item embeddings shared across slots, a slot bias);
    policy: a linear head per slot on the same features, zero at start (the uniform policy, weights 1).
    """

    def __init__(self, context_dim: int, n_actions: int, n_positions: int, hidden: int = 64, dim: int = 16,
                 dropout: float = 0.1, objective: str = "dr", entropy: float = 1.0,
                 affinity: list[int] | None = None):
        super().__init__()
        # affinity[a]: the context column holding the user's affinity with item a (-1: none); one weight shared by
        # all items ties column j to item j, which a generic layer would have to learn per item from a few clicks
        index = torch.tensor(affinity if affinity else [-1] * n_actions, dtype=torch.long)
        if len(index) != n_actions:
            raise ZooError(f"model affinity: {len(index)} columns for {n_actions} items")
        self.register_buffer("affinity_index", index.clamp_min(0), persistent=False)
        self.register_buffer("affinity_mask", (index >= 0).float(), persistent=False)
        self.affinity_reward = nn.Parameter(torch.zeros(()))
        self.affinity_policy = nn.Parameter(torch.zeros(n_positions))
        if objective not in OBJECTIVES:
            raise ZooError(f"--set model.objective={objective}: expected one of {', '.join(OBJECTIVES)}")
        self.objective, self.entropy = objective, float(entropy)
        self.n_actions, self.n_positions = n_actions, n_positions
        self.trunk = nn.Sequential(nn.Linear(context_dim, hidden), nn.ReLU(), nn.Dropout(dropout))
        self.dim = dim
        self.user = nn.Linear(hidden, max(dim, 1))
        self.items = nn.Embedding(n_actions, max(dim, 1))
        nn.init.normal_(self.items.weight, std=0.01)
        self.item_bias = nn.Parameter(torch.zeros(n_actions))
        self.slot_bias = nn.Parameter(torch.full((n_positions,), -5.0))  # clicks are rare: start near 0.7%
        self.policy = nn.Linear(hidden, n_positions * n_actions)
        self.policy_bias = nn.Parameter(torch.zeros(n_positions, n_actions))
        nn.init.zeros_(self.policy.weight)
        nn.init.zeros_(self.policy.bias)

    def forward(self, context: torch.Tensor) -> dict[str, torch.Tensor]:
        context = context.float()
        h = self.trunk(context)
        aff = context[:, self.affinity_index] * self.affinity_mask  # (B, A)
        reward = self.item_bias + self.affinity_reward * aff  # (B, A)
        if self.dim:  # the user x item interaction (model.dim=0: items and affinity only)
            reward = reward + self.user(h) @ self.items.weight.T
        reward = reward[:, None, :] + self.slot_bias[None, :, None]
        policy = (self.policy(h).view(-1, self.n_positions, self.n_actions) + self.policy_bias
                  + self.affinity_policy[None, :, None] * aff[:, None, :])
        return {"reward": reward, "policy": policy}


def page_policy(context_dim: int, n_actions: int, n_positions: int, hidden: int = 64,
                dim: Annotated[int, Range(0)] = 16,  # 0: no user x item term
                dropout: float = 0.1, objective: str = "dr", entropy: float = 1.0,
                affinity: list[int] | None = None) -> PagePolicy:
    return PagePolicy(context_dim, n_actions, n_positions, hidden, dim, dropout, objective, entropy, affinity)


def build(recipe, config: dict[str, Any], data: str | None):
    """default_recipe, then the task learns with the objective the model was built for (model.objective/entropy)."""
    bundle, model, task = default_recipe(recipe, config, data)
    task.objective, task.entropy = model.objective, model.entropy
    return bundle, model, task


# -- task ---------------------------------------------------------------------------------------
def slot_rows(output: dict[str, torch.Tensor], position: torch.Tensor):
    """The reward logits and the policy's log-probabilities over items in each row's logged slot: (B, A) each."""
    rows = torch.arange(len(position), device=position.device)
    return output["reward"].float()[rows, position], output["policy"].float()[rows, position].log_softmax(-1)


def row_terms(output: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Per-row OPE terms of the network's own policy with its own reward model (see bandits.ope_terms)."""
    reward_logits, log_pi = slot_rows(output, target["position"])
    rows = torch.arange(len(log_pi), device=log_pi.device)
    pi, q = log_pi.exp(), reward_logits.sigmoid()
    action, r = target["action"], target["reward"].float()
    w = pi[rows, action] / target["pscore"].float()
    dm = (pi * q).sum(1)
    return {"w": w, "ipw": w * r, "dm": dm, "dr": dm + w * (r - q[rows, action]), "reward": r}


class OffPolicyValue(Metric):
    """The policy's IPW, SNIPW, DM and DR values over a split, and the split's logged click rate."""

    full_state_update = False
    higher_is_better = True

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        for name in ("w", "ipw", "dm", "dr", "reward", "n"):
            self.add_state(name, default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, terms: dict[str, torch.Tensor]) -> None:
        for name in ("w", "ipw", "dm", "dr", "reward"):
            setattr(self, name, getattr(self, name) + terms[name].double().sum())
        self.n += len(terms["w"])

    def compute(self) -> dict[str, torch.Tensor]:
        n = self.n.clamp_min(1)
        return {"ipw": self.ipw / n, "snipw": self.ipw / self.w.clamp_min(1e-12), "dm": self.dm / n,
                "dr": self.dr / n, "logged": self.reward / n}


class LandingTask(Task):
    name = "landing-page"
    monitor = "dr"
    directions = {"ipw": "max", "snipw": "max", "dm": "max", "dr": "max", "logged": "max"}
    objective, entropy = "dr", 1.0  # set by build() from the model's settings

    def loss(self, output: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> torch.Tensor:
        reward_logits, log_pi = slot_rows(output, target["position"])
        rows = torch.arange(len(log_pi), device=log_pi.device)
        action, r = target["action"], target["reward"].float()
        fit = F.binary_cross_entropy_with_logits(reward_logits[rows, action], r)
        pi = log_pi.exp()
        w = pi[rows, action] / target["pscore"].float()
        if self.objective == "dr":
            q = reward_logits.detach().sigmoid()
            value = (pi * q).sum(1) + w * (r - q[rows, action])
        else:
            value = w * r
        kl = (pi * log_pi).sum(1) + math.log(pi.shape[1])
        return fit + (-value / self.info["base_rate"] + self.entropy * kl).mean()

    def metrics(self):
        return OffPolicyValue()

    def update_metrics(self, metrics, output, target) -> None:
        metrics.update(row_terms(output, target))

    def check_batch(self, x: Any, y: Any, dataset: str) -> None:
        if not (isinstance(x, torch.Tensor) and x.dim() == 2 and isinstance(y, dict)
                and {"position", "action", "reward", "pscore"} <= set(y)):
            raise ZooError(f"{dataset}: a landing-page dataset yields (context (d,), {{position, action, reward, "
                           "pscore}})")

    def predict(self, output: Any) -> list[dict[str, Any]]:
        """The page: for each slot in order, the policy's likeliest item not already placed, with its estimated
        click probability (reward model) and the policy's probability of it."""
        actions, positions = self.info["actions"], self.info["positions"]
        pi = output["policy"].float().softmax(-1)
        clicks = output["reward"].float().sigmoid()
        out = []
        for b in range(pi.shape[0]):
            row: dict[str, Any] = {}
            used: set[int] = set()
            for k, slot in enumerate(positions):
                probs = pi[b, k].clone()
                if len(used) < probs.numel():
                    probs[list(used)] = -1.0
                a = int(probs.argmax())
                used.add(a)
                row[f"position {slot}"] = actions[a]
                row[f"click {slot}"] = round(float(clicks[b, k, a]), 5)
                row[f"policy {slot}"] = round(float(pi[b, k, a]), 4)
            out.append(row)
        return out

    # -- the report: intervals on the test split --------------------------------------------------
    def report(self, trainer, run_dir) -> None:
        if trainer.data.test is None:
            return
        terms = collect_terms(trainer.eval_model(), trainer.data.test, trainer.device)
        np.savez(Path(run_dir) / "ope_terms.npz", **terms)
        self._report = summarize_terms(terms, self.info)
        (Path(run_dir) / "ope.json").write_text(json.dumps(self._report, indent=2) + "\n")

    def card(self) -> str:
        report = getattr(self, "_report", None)
        return card_table(report) if report else ""


@torch.no_grad()
def collect_terms(model: nn.Module, dataset: Impressions, device) -> dict[str, np.ndarray]:
    """Everything the estimators need per test row: the logged data, the policy's action distribution and the
    reward model's click probabilities in the row's slot (numpy)."""
    model.eval()
    context = dataset.context.to(device)
    outs = [model(context[i:i + 4096]) for i in range(0, len(context), 4096)]
    output = {k: torch.cat([o[k] for o in outs]).float().cpu() for k in ("reward", "policy")}
    target = dataset.target
    return {"reward": target["reward"].double().numpy(), "action": target["action"].numpy(),
            "position": target["position"].numpy(), "pscore": target["pscore"].double().numpy(),
            "pi": output["policy"].softmax(-1).double().numpy(), "q": output["reward"].sigmoid().double().numpy()}


def policy_terms(terms: dict[str, np.ndarray], action_dist=None) -> dict[str, np.ndarray]:
    """bandits.ope_terms for the learned policy (action_dist None) or another one, with the learned reward model."""
    pi = terms["pi"].transpose(0, 2, 1) if action_dist is None else action_dist  # (rows, actions, positions)
    return bandits.ope_terms(terms["reward"], terms["action"], terms["position"], terms["pscore"], pi,
                             terms["q"].transpose(0, 2, 1))


def summarize_terms(terms: dict[str, np.ndarray], info: dict[str, Any], n_boot: int = 2000) -> dict[str, Any]:
    """Intervals of the learned policy's value (and its paired difference from the logged clicks), the logged click
    rate, and each comparison policy's estimate from the same rows beside its own logged rate."""
    learned = bandits.bootstrap(policy_terms(terms), n_boot=n_boot, baseline=terms["reward"])
    report: dict[str, Any] = {"rows": int(len(terms["reward"])), "clicks": int(terms["reward"].sum()),
                              "learned": learned, "logged": bandits.mean_interval(terms["reward"], n_boot=n_boot),
                              "logger": "uniform random" if info.get("uniform_logger") else "the logging policy",
                              "compare": {}}
    for name, spec in (info.get("compare") or {}).items():
        est = bandits.bootstrap(policy_terms(terms, np.asarray(spec["action_dist"])), n_boot=n_boot)
        report["compare"][name] = {"estimated": est, "logged_rate": spec["logged_rate"],
                                   "logged_clicks": spec["logged_clicks"], "logged_n": spec["logged_n"]}
    return report


def card_table(report: dict[str, Any]) -> str:
    pct = lambda v: f"{100 * v[0]:.3f}% [{100 * v[1]:.3f}, {100 * v[2]:.3f}]"  # noqa: E731
    lines = [f"## Off-policy evaluation (test split: {report['rows']} impressions, {report['clicks']} clicks)", "",
             "Click rates in %, 95% bootstrap intervals over impressions.", "",
             "| policy | estimate | value |", "|---|---|---|",
             f"| {report['logger']} (logged) | on-policy click rate | {pct(report['logged'])} |"]
    for k in ("ipw", "snipw", "dm", "dr"):
        if k in report["learned"]:
            lines.append(f"| learned policy | {k.upper()} | {pct(report['learned'][k])} |")
    if "dr-baseline" in report["learned"]:
        lines.append(f"| learned - logged (paired) | DR | {pct(report['learned']['dr-baseline'])} |")
    for name, c in report["compare"].items():
        for k in ("ipw", "snipw", "dr"):
            lines.append(f"| {name} | {k.upper()} from these logs | {pct(c['estimated'][k])} |")
        lines.append(f"| {name} | its own logged click rate ({c['logged_clicks']} / {c['logged_n']}) | "
                     f"{100 * c['logged_rate']:.3f}% |")
    return "\n".join(lines) + "\n"
