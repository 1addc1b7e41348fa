"""recsys/landing-page: the bandit-log reader, the off-policy estimators (by hand, against obp, against the truth on
the Open Bandit Dataset) and off-policy learning through zoo's trainer on a simulated log whose truth is known."""
import json

import numpy as np
import pytest
import torch

from zoo import DataMissing, ZooError
from zoo.testing import require, run_zoo, train_tiny
from zoo_recsys import bandits
from zoo_recsys.landing import read_context

torch.set_num_threads(1)

ITEMS = ["shoe", "hat", "bag", "coat", "scarf", "belt"]
BEST = {"a": 0, "b": 3, "c": 5}  # the item each segment clicks


def click_prob(segment: np.ndarray, slot: np.ndarray) -> np.ndarray:
    """(rows, items): 2% everywhere, plus 30% (slot 1) or 18% (slot 2) on the segment's item."""
    p = np.full((len(segment), len(ITEMS)), 0.02)
    best = np.array([BEST[s] for s in segment])
    p[np.arange(len(segment)), best] += np.where(slot == 1, 0.30, 0.18)
    return p


def simulated_log(path, n=3000, seed=0):
    """A log of a uniform random policy over 6 items in 2 slots; returns the contexts' segments and slots."""
    rng = np.random.default_rng(seed)
    segment = rng.choice(list(BEST), n)
    slot = rng.integers(1, 3, n)
    action = rng.integers(0, len(ITEMS), n)
    clicks = rng.random(n) < click_prob(segment, slot)[np.arange(n), action]
    lines = ["timestamp,segment,age,action,position,reward,propensity"]
    for i in range(n):
        lines.append(f"{i},{segment[i]},{rng.normal(40, 10):.1f},{ITEMS[action[i]]},{slot[i]},{int(clicks[i])},"
                     f"{1 / len(ITEMS):.6f}")
    path.write_text("\n".join(lines) + "\n")
    return segment, slot


def obd_folder():
    from zoo_recsys.obd_data import locate

    try:
        return locate(fetch=False)
    except DataMissing as exc:
        require(False, str(exc))


# -- estimators ---------------------------------------------------------------------------------
def test_estimators_by_hand():
    reward = np.array([1.0, 0.0, 1.0, 0.0])
    action = np.array([0, 1, 1, 0])
    position = np.array([0, 0, 1, 1])
    pscore = np.full(4, 0.5)
    dist = np.array([[0.8, 0.1], [0.2, 0.9]])  # (actions, positions), the same for every row
    q = np.full((4, 2, 2), 0.25)
    terms = bandits.ope_terms(reward, action, position, pscore, dist, q)
    w = np.array([0.8, 0.2, 0.9, 0.1]) / 0.5
    assert np.allclose(terms["w"], w)
    est = bandits.estimates(terms)
    assert est["ipw"] == pytest.approx((w * reward).mean())
    assert est["snipw"] == pytest.approx((w * reward).sum() / w.sum())
    assert est["dr"] == pytest.approx(np.mean(0.25 + w * (reward - 0.25)))
    interval = bandits.bootstrap(terms, n_boot=400)
    for name, (point, low, high) in interval.items():
        assert low <= point <= high, name


def test_estimators_match_obp():
    """The same numbers as obp's IPW, SNIPW and DR on one log (obp 0.5.7 needs --ignore-requires-python on 3.11)."""
    try:
        from obp.ope import DoublyRobust, InverseProbabilityWeighting, SelfNormalizedInverseProbabilityWeighting
    except ImportError as exc:
        pytest.skip(f"obp is not importable ({exc}): pip install --no-deps --ignore-requires-python obp==0.5.7 "
                    "seaborn, into a venv of its own or onto PYTHONPATH")
    rng = np.random.default_rng(1)
    n, n_actions, n_positions = 3000, 12, 3
    action = rng.integers(0, n_actions, n)
    position = rng.integers(0, n_positions, n)
    pscore = rng.uniform(0.02, 0.3, n)
    reward = (rng.random(n) < 0.1).astype(float)
    dist = rng.dirichlet(np.ones(n_actions), size=(n, n_positions)).transpose(0, 2, 1)
    q = rng.uniform(0, 0.2, (n, n_actions, n_positions))
    kw = dict(reward=reward, action=action, position=position, pscore=pscore, action_dist=dist)
    ours = bandits.bootstrap(bandits.ope_terms(reward, action, position, pscore, dist, q), n_boot=1000)
    theirs = {"ipw": InverseProbabilityWeighting(), "snipw": SelfNormalizedInverseProbabilityWeighting(),
              "dr": DoublyRobust()}
    for name, estimator in theirs.items():
        extra = {"estimated_rewards_by_reg_model": q} if name == "dr" else {}
        assert ours[name][0] == pytest.approx(estimator.estimate_policy_value(**kw, **extra), rel=1e-9), name
        if name != "snipw":  # obp bootstraps SNIPW with its normaliser held fixed; ours resamples it too
            ci = estimator.estimate_interval(**kw, **extra, n_bootstrap_samples=1000, random_state=0)
            width = ours[name][2] - ours[name][1]
            assert abs(ci["95.0% CI (lower)"] - ours[name][1]) < 0.1 * width, name
            assert abs(ci["95.0% CI (upper)"] - ours[name][2]) < 0.1 * width, name


def test_thompson_sampling_estimated_from_random_logs_where_the_truth_is_known():
    """Thompson Sampling's click rate estimated from the random log contains its own logged rate (campaign all)."""
    folder = obd_folder()
    random_log = bandits.obd_feedback(folder, "random", "all")
    ts_log = bandits.obd_feedback(folder, "bts", "all")
    assert len(random_log) == 10_000 and random_log.n_actions == 80 and set(random_log.position) == {0, 1, 2}
    assert np.allclose(random_log.pscore, 1 / 80)
    alpha, beta = bandits.bts_prior(folder / "prior_bts.yaml", "all")
    dist = bandits.bts_action_dist(alpha, beta, 3, n_sim=20_000)
    assert np.allclose(dist.sum(0), 1.0)
    q = bandits.crossfit_q(random_log)
    est = bandits.bootstrap(bandits.ope_terms(random_log.reward, random_log.action, random_log.position,
                                              random_log.pscore, dist, q), n_boot=1000)
    truth = ts_log.reward.mean()
    for name in ("ipw", "snipw", "dr"):
        assert est[name][1] <= truth <= est[name][2], (name, est[name], truth)
    # the check has teeth: a policy showing the items Thompson Sampling ranks last is estimated far below the truth
    worst = np.zeros_like(dist)
    worst[np.argsort(alpha / (alpha + beta))[:3], [0, 1, 2]] = 1.0
    bad = bandits.bootstrap(bandits.ope_terms(random_log.reward, random_log.action, random_log.position,
                                              random_log.pscore, worst, q), n_boot=1000)
    assert bad["ipw"][0] < truth / 2


# -- the log reader -----------------------------------------------------------------------------
def test_log_reader(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("timestamp,segment,age,action,position,reward,propensity\n"
                    "3,a,31,hat,2,0,0.5\n1,b,40,shoe,1,1,0.25\n\n2,a,22,shoe,1,0,0.25\n")
    log = bandits.read_log_csv(path)
    assert log.actions == ["hat", "shoe"] and log.positions == ["1", "2"]
    assert log.action.tolist() == [1, 1, 0] and log.position.tolist() == [0, 0, 1]  # in timestamp order
    assert log.reward.tolist() == [1, 0, 0] and log.pscore.tolist() == [0.25, 0.25, 0.5]
    assert log.context.shape == (3, 3)  # age (standardised) + segment one-hot (a, b)


@pytest.mark.parametrize("rows, message", [
    ("a,hat,1,0,0.5\na,shoe,1,1,x\n", "line 3: propensity 'x' is not a number"),
    ("a,hat,1,0,0.5\n\na,shoe,1,1,0\n", "line 4: propensity 0 must be in (0, 1]"),
    ("a,hat,1,0,0.5\na,shoe,1,yes,0.5\n", "line 3: reward 'yes' is not a number"),
    ("a,hat,1,0,0.5\na,shoe,1.5,1,0.5\n", "line 3: position 1.5 is not an integer"),
    ("a,hat,1,0,0.5\na,shoe,1,1,0.5,9\n", "line 3"),
    ("a,hat,1,0,0.5\na,,1,1,0.5\n", "line 3: the action is empty"),
])
def test_log_reader_names_the_bad_line(tmp_path, rows, message):
    path = tmp_path / "log.csv"
    path.write_text("segment,action,position,reward,propensity\n" + rows)
    with pytest.raises(ZooError, match=None) as err:
        bandits.read_log_csv(path)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_log_reader_names_a_missing_column(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("segment,action,reward\na,hat,1\n")
    with pytest.raises(ZooError, match="line 1: no column 'propensity'"):
        bandits.read_log_csv(path)


# -- learning through zoo's trainer -------------------------------------------------------------
def test_learns_the_page_off_policy_and_predicts(tmp_path):
    """On a simulated uniform log, the learned policy's true click rate beats the uniform policy's by a margin,
    its DR estimate on the test split covers that truth, and `zoo predict` puts each segment's item first."""
    data = tmp_path / "log.csv"
    segment, slot = simulated_log(data, n=2000)  # timestamps 0..n-1: file order is time order
    run, summary = train_tiny("recsys/landing-page", tmp_path, "batch_size=128", "lr=0.01", "threads=1", "model.dim=8",
                              data=str(data), epochs=6)
    log = bandits.read_log_csv(data)
    test_rows = np.arange(len(log) - 500, len(log))  # the time split: the last 25% tests
    segments, slots = segment[test_rows], slot[test_rows]
    with torch.no_grad():
        out = run.module(torch.from_numpy(log.context[test_rows]))
    pi = out["policy"].softmax(-1)[torch.arange(len(test_rows)), torch.from_numpy(slots - 1)].numpy()
    order = [ITEMS.index(a) for a in log.actions]  # the simulator's column of each of the reader's actions
    truth = click_prob(segments, slots)[:, order]
    learned, uniform = (pi * truth).sum(1).mean(), truth.mean()
    assert learned > 2.5 * uniform, (learned, uniform)
    report = json.loads((run.dir / "ope.json").read_text())
    _, low, high = report["learned"]["dr"]
    assert low <= learned <= high and low > uniform, (report["learned"]["dr"], learned, uniform)

    context = tmp_path / "context.json"
    for segment, item in (("a", "shoe"), ("b", "coat"), ("c", "belt")):
        context.write_text(json.dumps({"segment": segment, "age": 35}))
        page = run.predict([str(context)])[0]
        assert page["position 1"] == item and page["position 2"] != item
        assert 0.1 < page["click 1"] < 0.6 and page["policy 1"] > 0.3
    got = run_zoo("predict", str(run.dir), '{"segment": "a", "height": 2}')
    assert got.code == 2 and "unknown context feature 'height'" in got.err


def test_context_reader_errors(tmp_path):
    info = {"encoding": [{"name": "age", "kind": "numeric", "mean": 40.0, "std": 10.0},
                         {"name": "segment", "kind": "category", "categories": ["a", "b"]}]}
    assert read_context('{"age": 50, "segment": "b"}', info).tolist() == [1.0, 0.0, 1.0]
    bad = tmp_path / "context.json"
    bad.write_text('{"age": 50,\n "segment": }')
    with pytest.raises(ZooError, match="context.json line 2: not JSON"):
        read_context(str(bad), info)
    with pytest.raises(ZooError, match="feature age: 'old' is not a number"):
        read_context('{"age": "old"}', info)
