"""Logged bandit feedback and off-policy evaluation (no torch here: numpy and pandas only).

A log is one row per impression of one slot of a page: the user's context, the position, the item shown
(the action), the click (the reward) and the logging policy's probability of showing that item there (the
propensity). `Feedback` holds one, read from the Open Bandit Dataset's CSV files or from a user's CSV.

Estimators follow the Open Bandit paper (Saito et al. 2021) and its library obp: an evaluation policy is an
action distribution of shape (rounds, actions, positions), and for row i only the column of its logged
position counts. IPW: mean of w r with w = pi(a_i | x_i, k_i) / p_i; SNIPW: sum(w r) / sum(w); DR: mean of
sum_a pi(a | x_i, k_i) q(x_i, k_i, a) + w (r - q(x_i, k_i, a_i)). Intervals: a bootstrap over rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zoo import ZooError

CAMPAIGNS = ("all", "men", "women")
LOGGERS = ("random", "bts")
REQUIRED = ("action", "reward", "propensity")  # columns of a user's log CSV; `position` and `timestamp` optional
NOT_CONTEXT = ("action", "position", "reward", "propensity", "timestamp")


# -- context features --------------------------------------------------------------------------
@dataclass
class Encoding:
    """How context columns become a vector: numeric ones standardised, text ones one-hot (unseen -> zeros).

    Kept as JSON (`to_json`) in the run's info, so `zoo predict` encodes a context.json the same way.
    """

    columns: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def fit(cls, frame, columns: list[str]) -> Encoding:
        out = []
        for name in columns:
            values = frame[name]
            numeric = _numeric(values)
            if numeric is not None:
                mean, std = float(numeric.mean()), float(numeric.std())
                out.append({"name": name, "kind": "numeric", "mean": mean, "std": std if std > 0 else 1.0})
            else:
                out.append({"name": name, "kind": "category", "categories": sorted(set(values.astype(str)))})
        return cls(out)

    @property
    def dim(self) -> int:
        return sum(1 if c["kind"] == "numeric" else len(c["categories"]) for c in self.columns)

    def names(self) -> list[str]:
        return [c["name"] for c in self.columns]

    def transform(self, frame, where: str = "") -> np.ndarray:
        """Encode a DataFrame's rows; a numeric column with a value that is not a number names its line."""
        parts = []
        for c in self.columns:
            values = frame[c["name"]]
            if c["kind"] == "numeric":
                numeric = _numeric(values, strict=False)
                bad = np.flatnonzero(~np.isfinite(numeric))
                if len(bad):
                    i = int(bad[0])
                    raise ZooError(f"{where}line {_line(frame, i)}: column {c['name']}: {values.iloc[i]!r} is not a "
                                   "number")
                parts.append(((numeric - c["mean"]) / c["std"])[:, None])
            else:
                index = {v: j for j, v in enumerate(c["categories"])}
                codes = np.array([index.get(v, -1) for v in values.astype(str)])
                onehot = np.zeros((len(frame), len(c["categories"])))
                seen = codes >= 0
                onehot[np.flatnonzero(seen), codes[seen]] = 1.0
                parts.append(onehot)
        return np.concatenate(parts, 1).astype(np.float32) if parts else np.zeros((len(frame), 0), np.float32)

    def encode_one(self, record: dict[str, Any], where: str) -> tuple[np.ndarray, list[str]]:
        """One context (a JSON object) -> its vector, and the columns it left out (taken as the training mean or
        as an unseen category). A name the run does not know, or a text value for a numeric column, is an error."""
        names = self.names()
        known = set(names)
        unknown = [k for k in record if k not in known]
        if unknown:
            raise ZooError(f"{where}: unknown context feature {unknown[0]!r}; this run's features are "
                           f"{', '.join(names[:8])}{', ...' if len(names) > 8 else ''} ({len(names)} in all)")
        vector, missing = [], []
        for c in self.columns:
            value = record.get(c["name"])
            if value is None:
                missing.append(c["name"])
            if c["kind"] == "numeric":
                if value is None:
                    vector.append(0.0)  # the training mean
                    continue
                try:
                    number = float(value)
                except (TypeError, ValueError):
                    raise ZooError(f"{where}: feature {c['name']}: {value!r} is not a number") from None
                if not np.isfinite(number):
                    raise ZooError(f"{where}: feature {c['name']}: {value!r} is not a finite number")
                vector.append((number - c["mean"]) / c["std"])
            else:
                onehot = [0.0] * len(c["categories"])
                if value is not None and str(value) in c["categories"]:
                    onehot[c["categories"].index(str(value))] = 1.0
                vector += onehot
        return np.asarray(vector, np.float32), missing

    def to_json(self) -> list[dict[str, Any]]:
        return self.columns


def _numeric(values, strict: bool = True):
    """A column as floats; None (strict) when any non-empty value is not a number."""
    import pandas as pd

    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    if strict and np.isnan(numbers).any():
        return None
    return numbers


def _line(frame, i: int) -> int:
    """The file line of row i (the header is line 1), kept in the frame's `_line` attribute when it was read."""
    lines = frame.attrs.get("lines")
    return int(lines[i]) if lines is not None else i + 2


# -- logs ---------------------------------------------------------------------------------------
@dataclass
class Feedback:
    """One log: context (n, d) float32, action/position (n,) int64, reward/pscore (n,) float64, in time order."""

    context: np.ndarray
    action: np.ndarray
    position: np.ndarray
    reward: np.ndarray
    pscore: np.ndarray
    actions: list[str]  # the name of each action index
    positions: list[str]  # the name of each position index (as logged: '1', '2', '3')
    encoding: Encoding
    source: str = ""

    def __len__(self) -> int:
        return len(self.action)

    @property
    def n_actions(self) -> int:
        return len(self.actions)

    @property
    def n_positions(self) -> int:
        return len(self.positions)

    def subset(self, rows) -> Feedback:
        rows = np.asarray(rows)
        return Feedback(self.context[rows], self.action[rows], self.position[rows], self.reward[rows],
                        self.pscore[rows], self.actions, self.positions, self.encoding, self.source)


def obd_frame(folder: Path, logger: str, campaign: str):
    """One Open Bandit Dataset log (`obd/{random,bts}/{all,men,women}/{campaign}.csv`) as a DataFrame, by time."""
    import pandas as pd

    if logger not in LOGGERS:
        raise ZooError(f"logging policy {logger!r}: expected one of {', '.join(LOGGERS)}")
    if campaign not in CAMPAIGNS:
        raise ZooError(f"--set data.campaign={campaign}: expected one of {', '.join(CAMPAIGNS)}")
    path = Path(folder) / logger / campaign / f"{campaign}.csv"
    if not path.is_file():
        raise ZooError(f"{path}: no such file (an Open Bandit Dataset folder holds random/ and bts/)")
    frame = pd.read_csv(path, index_col=0)
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)


def obd_feedback(folder: Path, logger: str, campaign: str, encoding: Encoding | None = None) -> Feedback:
    """An OBD log as Feedback. Context: the 4 hashed user features (one-hot, as obp does) and the user-item
    affinities (numbers); positions 1-3 become 0-2; the item ids 0..n-1 are the actions."""
    frame = obd_frame(folder, logger, campaign)
    columns = [c for c in frame.columns if c.startswith(("user_feature", "user-item_affinity"))]
    for c in columns:
        if c.startswith("user_feature"):
            frame[c] = frame[c].astype(str)
    encoding = encoding or Encoding.fit(frame, columns)
    n_actions = int(frame["item_id"].max()) + 1
    return Feedback(encoding.transform(frame), frame["item_id"].to_numpy(np.int64),
                    frame["position"].to_numpy(np.int64) - 1, frame["click"].to_numpy(float),
                    frame["propensity_score"].to_numpy(float), [str(a) for a in range(n_actions)],
                    ["1", "2", "3"], encoding, f"obd/{logger}/{campaign}")


def read_log_csv(path: str | Path) -> Feedback:
    """A user's logged bandit feedback: a CSV with a header, one row per impression.

    Columns: `action` (the item shown: any id), `reward` (a number: 1/0 for a click), `propensity` (the logging
    policy's probability of that action, in (0, 1]), optional `position` (the slot: any integers, ranked 0..K-1;
    one slot without it), optional `timestamp` (rows are put in its order); every other column is a context
    feature (numbers are standardised, text is one-hot). A bad row is an error naming its line.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise ZooError(f"{path}: no such file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=True)
    except pd.errors.ParserError as exc:
        raise ZooError(f"{path}: {str(exc).strip().splitlines()[-1]}") from None
    except (UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ZooError(f"{path}: not a CSV file with a header ({type(exc).__name__})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ZooError(f"{path} line 1: no column {missing[0]!r} (the header needs action, reward, propensity; "
                       f"it has {', '.join(frame.columns[:10])})")
    if len(frame) == 0:
        raise ZooError(f"{path}: no rows after the header")
    frame.attrs["lines"] = _data_lines(path, len(frame))
    where = f"{path} "
    for name in ("reward", "propensity") + (("position",) if "position" in frame.columns else ()):
        numbers = pd.to_numeric(frame[name].str.strip(), errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(numbers))
        if len(bad):
            i = int(bad[0])
            raise ZooError(f"{where}line {_line(frame, i)}: {name} {frame[name].iloc[i]!r} is not a number")
        frame[name] = numbers
    bad = np.flatnonzero(~((frame["propensity"] > 0) & (frame["propensity"] <= 1)).to_numpy())
    if len(bad):
        i = int(bad[0])
        raise ZooError(f"{where}line {_line(frame, i)}: propensity {frame['propensity'].iloc[i]:g} must be in (0, 1] "
                       "(the logging policy's probability of the action it took)")
    if "position" in frame.columns:
        fractional = np.flatnonzero(frame["position"].to_numpy() != np.round(frame["position"].to_numpy()))
        if len(fractional):
            i = int(fractional[0])
            raise ZooError(f"{where}line {_line(frame, i)}: position {frame['position'].iloc[i]:g} is not an integer")
    empty = np.flatnonzero(frame["action"].str.strip().to_numpy() == "")
    if len(empty):
        raise ZooError(f"{where}line {_line(frame, int(empty[0]))}: the action is empty")
    if "timestamp" in frame.columns:
        stamps = pd.to_datetime(frame["timestamp"], errors="coerce", utc=True, format="mixed")
        if stamps.isna().any():
            numbers = pd.to_numeric(frame["timestamp"], errors="coerce")
            stamps = numbers if not numbers.isna().any() else stamps
        if stamps.isna().any():
            i = int(np.flatnonzero(stamps.isna().to_numpy())[0])
            raise ZooError(f"{where}line {_line(frame, i)}: timestamp {frame['timestamp'].iloc[i]!r} is neither a "
                           "date nor a number")
        order = np.argsort(stamps.to_numpy(), kind="stable")
        lines = frame.attrs["lines"][order]
        frame = frame.iloc[order].reset_index(drop=True)
        frame.attrs["lines"] = lines
    context = [c for c in frame.columns if c not in NOT_CONTEXT]
    encoding = Encoding.fit(frame, context)
    actions = sorted(set(frame["action"].str.strip()), key=_natural)
    index = {a: i for i, a in enumerate(actions)}
    if "position" in frame.columns:
        slots = sorted(set(frame["position"].astype(int)))
        position = np.searchsorted(slots, frame["position"].astype(int).to_numpy())
    else:
        slots, position = [1], np.zeros(len(frame), np.int64)
    if len(actions) < 2:
        raise ZooError(f"{path}: one action only ({actions[0]!r}): a policy needs at least two to choose from")
    return Feedback(encoding.transform(frame, where), frame["action"].str.strip().map(index).to_numpy(np.int64),
                    position.astype(np.int64), frame["reward"].to_numpy(float), frame["propensity"].to_numpy(float),
                    actions, [str(s) for s in slots], encoding, str(path))


def _data_lines(path: Path, rows: int) -> np.ndarray:
    """The file line of each data row (blank lines skipped as pandas skips them; no quoted line breaks assumed)."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        lines = [n for n, text in enumerate(fh, 1) if text.strip()][1:]
    return np.asarray(lines[:rows] + list(range(len(lines) + 2, len(lines) + 2 + rows - len(lines[:rows]))))


def _natural(text: str):
    """Sort numbers as numbers ('2' before '10'), then text."""
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, 0.0, text)


# -- the Bernoulli Thompson Sampling policy of ZOZOTOWN ------------------------------------------
def bts_prior(path: Path, campaign: str) -> tuple[np.ndarray, np.ndarray]:
    """The Beta(alpha, beta) parameters per item that ZOZOTOWN's Thompson Sampling ran with (obp's prior_bts.yaml)."""
    import yaml

    if not Path(path).is_file():
        raise ZooError(f"{path}: no such file (the Thompson Sampling prior ships in obp as policy/conf/prior_bts.yaml)")
    prior = yaml.safe_load(Path(path).read_text())
    if campaign not in prior:
        raise ZooError(f"{path}: no campaign {campaign!r} (it has {', '.join(prior)})")
    return np.asarray(prior[campaign]["alpha"], float), np.asarray(prior[campaign]["beta"], float)


def bts_action_dist(alpha: np.ndarray, beta: np.ndarray, n_positions: int, n_sim: int = 100_000,
                    seed: int = 12345) -> np.ndarray:
    """The page Thompson Sampling shows, as (actions, positions) probabilities, by Monte Carlo: each draw samples a
    click rate per item from its Beta and puts the top n_positions items in order (as obp's BernoulliTS does)."""
    rng = np.random.default_rng(seed)
    counts = np.zeros((len(alpha), n_positions))
    for start in range(0, n_sim, 20_000):
        draws = rng.beta(alpha, beta, size=(min(20_000, n_sim - start), len(alpha)))
        top = np.argsort(-draws, axis=1)[:, :n_positions]
        for k in range(n_positions):
            counts[:, k] += np.bincount(top[:, k], minlength=len(alpha))
    return counts / n_sim


# -- estimators ---------------------------------------------------------------------------------
def ope_terms(reward, action, position, pscore, action_dist, q_hat=None) -> dict[str, np.ndarray]:
    """Per-row terms of the estimators: w (importance weight), ipw (w r), and with q_hat (rows, actions,
    positions; the reward model's click probabilities) dm and dr. action_dist: (rows, actions, positions) or
    (actions, positions) for a policy that ignores the context."""
    reward, pscore = np.asarray(reward, float), np.asarray(pscore, float)
    action, position = np.asarray(action, np.int64), np.asarray(position, np.int64)
    rows = np.arange(len(reward))
    dist = np.asarray(action_dist, float)
    if dist.ndim == 2:
        pi_logged = dist[action, position]
        pi_slot = dist[:, position].T  # (rows, actions)
    else:
        pi_logged = dist[rows, action, position]
        pi_slot = dist[rows, :, position]
    w = pi_logged / pscore
    out = {"w": w, "ipw": w * reward}
    if q_hat is not None:
        q = np.asarray(q_hat, float)
        q_slot = q[rows, :, position]
        out["dm"] = (pi_slot * q_slot).sum(1)
        out["dr"] = out["dm"] + w * (reward - q_slot[rows, action])
    return out


def estimates(terms: dict[str, np.ndarray]) -> dict[str, float]:
    """Point estimates: ipw, snipw, and dm/dr when the terms hold them."""
    out = {"ipw": float(terms["ipw"].mean()), "snipw": float(terms["ipw"].sum() / max(terms["w"].sum(), 1e-300))}
    for name in ("dm", "dr"):
        if name in terms:
            out[name] = float(terms[name].mean())
    return out


def bootstrap(terms: dict[str, np.ndarray], n_boot: int = 2000, alpha: float = 0.05, seed: int = 0,
              baseline: np.ndarray | None = None) -> dict[str, tuple[float, float, float]]:
    """(estimate, low, high) of every estimator, by resampling rows (the same resamples for all of them).

    With `baseline` (per-row values of another policy on the same rows, e.g. the logged clicks), each estimator
    also gets `NAME-baseline`: the paired difference, resampled together.
    """
    rng = np.random.default_rng(seed)
    n = len(terms["w"])
    point = estimates(terms)
    draws: dict[str, list[np.ndarray]] = {k: [] for k in point}
    if baseline is not None:
        baseline = np.asarray(baseline, float)
        for k in list(point):
            if k != "snipw":
                draws[f"{k}-baseline"] = []
                point[f"{k}-baseline"] = point[k] - float(baseline.mean())
    for start in range(0, n_boot, 200):
        idx = rng.integers(0, n, size=(min(200, n_boot - start), n))
        for k in point:
            name = k.removesuffix("-baseline")
            if name == "snipw":
                draws[k].append(terms["ipw"][idx].sum(1) / np.maximum(terms["w"][idx].sum(1), 1e-300))
            else:
                value = terms[name][idx].mean(1)
                draws[k].append(value - baseline[idx].mean(1) if k.endswith("-baseline") else value)
    out = {}
    for k, v in draws.items():
        values = np.concatenate(v)
        low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
        out[k] = (point[k], float(low), float(high))
    return out


def mean_interval(values, n_boot: int = 2000, alpha: float = 0.05, seed: int = 0) -> tuple[float, float, float]:
    """A bootstrap interval of a plain mean (a logged click rate)."""
    values = np.asarray(values, float)
    rng = np.random.default_rng(seed)
    means = np.concatenate([values[rng.integers(0, len(values), size=(min(200, n_boot - s), len(values)))].mean(1)
                            for s in range(0, n_boot, 200)])
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(values.mean()), float(low), float(high)


def crossfit_q(log: Feedback, folds: int = 5, strength: float = 200.0, seed: int = 0) -> np.ndarray:
    """A simple reward model for DR where no network is at hand: each (item, position) click rate, shrunk toward
    its position's rate with `strength` pseudo-impressions, cross-fitted (each row's q from the other folds).
    Context-free; returns (rows, actions, positions)."""
    n, a_n, k_n = len(log), log.n_actions, log.n_positions
    fold = np.random.default_rng(seed).integers(0, folds, n)
    q = np.zeros((n, a_n, k_n))
    for f in range(folds):
        train = fold != f
        clicks = np.zeros((a_n, k_n))
        shows = np.zeros((a_n, k_n))
        np.add.at(clicks, (log.action[train], log.position[train]), log.reward[train])
        np.add.at(shows, (log.action[train], log.position[train]), 1.0)
        prior = clicks.sum(0) / np.maximum(shows.sum(0), 1)
        q[fold == f] = (clicks + strength * prior) / (shows + strength)
    return q
