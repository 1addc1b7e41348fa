"""Recipes train on the shared trainer and learn; runs recommend from their directory alone."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from zoo import ZooError
from zoo.testing import require, run_zoo, train_tiny
from zoo_recsys.data import HELD_OUT, KNOWN, SAMPLED_NEGATIVE, UNSEEN
from zoo_recsys.models import autorec, biased_mf, neumf, two_tower
from zoo_recsys.tasks import LeaveOneOut

HAS_RECBOLE = importlib.util.find_spec("recbole") is not None


@pytest.fixture
def one_thread():
    """Tiny models: one thread is faster than two fighting over shared cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_leave_one_out_metric_by_hand():
    codes = torch.tensor([[HELD_OUT, SAMPLED_NEGATIVE, SAMPLED_NEGATIVE, UNSEEN, KNOWN],
                          [SAMPLED_NEGATIVE, HELD_OUT, SAMPLED_NEGATIVE, UNSEEN, KNOWN]])
    scores = torch.tensor([[0.9, 0.1, 0.2, 0.95, 5.0],  # first among sampled; second in full ranking
                           [0.9, 0.5, 0.7, 0.95, 5.0]])  # third among sampled
    metric = LeaveOneOut(k=1, full_k=2)
    metric.update(scores, codes)
    out = {k: float(v) for k, v in metric.compute().items()}
    assert out == pytest.approx({"hr@1": 0.5, "ndcg@1": 0.5, "recall@2": 0.5})
    metric = LeaveOneOut(k=10)
    metric.update(scores, codes)
    assert float(metric.compute()["ndcg@10"]) == pytest.approx((1 + 1 / np.log2(4)) / 2)


@pytest.mark.parametrize("factory", [biased_mf, neumf, two_tower, autorec])
def test_models_score_pairs_lists_and_the_catalogue_alike(factory):
    torch.manual_seed(0)
    model = factory(num_users=5, num_items=7, global_mean=3.0, user_vocab=3, item_vocab=4).eval()
    model.attach(user_tokens=torch.randint(0, 3, (5, 2)), item_tokens=torch.randint(0, 4, (7, 3)),
                 train_ratings=(np.array([0, 1, 3, 4]), np.array([2, 2, 5, 0]), np.array([4.0, 2.0, 5.0, 1.0])))
    users = torch.tensor([0, 3])
    with torch.no_grad():
        every = model(users)
        lists = model(users, torch.tensor([[1, 6], [0, 2]]))
        pairs = model(users, torch.tensor([4, 5]))
    assert every.shape == (2, 7)
    assert torch.allclose(lists, torch.stack([every[0, [1, 6]], every[1, [0, 2]]]), atol=1e-5)
    assert torch.allclose(pairs, torch.stack([every[0, 4], every[1, 5]]), atol=1e-5)


def test_autorec_fills_in_held_out_ratings(one_thread):
    """Two taste groups rate two item groups: AutoRec must predict unseen ratings far better than the mean."""
    rng = np.random.default_rng(0)
    users, items = np.meshgrid(np.arange(60), np.arange(30), indexing="ij")
    users, items = users.ravel(), items.ravel()
    ratings = np.where(users % 2 == items % 2, 4.5, 1.5) + rng.normal(0, 0.3, users.shape)
    keep = rng.random(users.shape) < 0.5  # half the matrix observed; a quarter of the rest is scored
    train, test = keep, ~keep & (rng.random(users.shape) < 0.25)
    torch.manual_seed(0)
    model = autorec(60, 30, global_mean=float(ratings[train].mean()), hidden=16, dropout=0.1)
    model.attach(train_ratings=(users[train], items[train], ratings[train]))
    u, i, r = (torch.as_tensor(a[train]) for a in (users, items, ratings))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(30):  # small batches: each batch's ratings are hidden from the input while training
        for batch in torch.randperm(len(u)).split(32):
            loss = torch.nn.functional.mse_loss(model(u[batch], i[batch]), r[batch].float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        pred = model(torch.as_tensor(users[test]), torch.as_tensor(items[test])).numpy()
    rmse = np.sqrt(np.mean((pred - ratings[test]) ** 2))
    mean_rmse = np.sqrt(np.mean((ratings[train].mean() - ratings[test]) ** 2))  # about 1.5
    assert rmse < 0.5 * mean_rmse, (rmse, mean_rmse)


def test_rating_recipe_learns_and_beats_the_mean(tmp_path, one_thread):
    require(HAS_RECBOLE, "pip install --no-deps recbole==1.2.1")
    run, summary = train_tiny("recsys/ml100k-rating", tmp_path, "lr=0.003", epochs=3)
    # predicting the training mean scores RMSE ~1.12 on this split
    assert summary["test"]["rmse"] < 1.0 and summary["test"]["mae"] < 0.8
    out = run.predict(["user=196", "196", "no-such-user"])
    assert [r.pop("input") for r in out] == ["user=196", "196", "no-such-user"]
    assert out[0] == out[1] and out[0]["user"] == "196"
    titles = [v for k, v in out[0].items() if k.isdigit()]
    assert len(titles) == 10 and all("(19" in t and "predicted rating" in t for t in titles)
    # movies user 196 already rated are never recommended back
    rated = {run.saved["info"]["titles"][i] for i in run.module.known_mask(
        torch.tensor([run.saved["info"]["user_ids"].index("196")]))[0].nonzero().flatten().tolist()}
    assert not {t.rsplit(" [", 1)[0] for t in titles} & rated
    assert out[2]["user"] == "unknown" and "most popular" in out[2]["note"]
    assert out[2]["1"].startswith("Star Wars (1977)")  # the most rated movie of MovieLens-100k


def test_ranking_recipe_beats_chance_by_far(tmp_path, one_thread):
    require(HAS_RECBOLE, "pip install --no-deps recbole==1.2.1")
    _, summary = train_tiny("recsys/ml100k-ranking", tmp_path, epochs=1)
    # a random ranking of 1 held-out item among 100 gives HR@10 = 0.10 and NDCG@10 ~ 0.045
    assert summary["test"]["hr@10"] > 0.3 and summary["test"]["ndcg@10"] > 0.15
    assert summary["test"]["recall@20"] > 0.05


def test_own_implicit_csv_with_string_ids_trains_and_predicts(tmp_path, one_thread):
    rng = np.random.default_rng(0)
    lines = ["user,item,timestamp"]
    for u in range(40):  # two taste groups: users like items of their own group
        group = u % 2
        for t, i in enumerate(rng.choice(np.arange(group * 20, group * 20 + 20), size=12, replace=False)):
            lines.append(f"user-{u},item-{i:02d},{t}")
    lines.append("loner,item-00,0")  # a single interaction: trains, is not evaluated
    data = tmp_path / "mine.csv"
    data.write_text("\n".join(lines) + "\n")
    run, summary = train_tiny("recsys/csv-ranking", tmp_path, "batch_size=64", "lr=0.02", data=str(data), epochs=6)
    assert summary["test"]["hr@10"] > 0.6  # held-out items come from the user's group: chance would be ~0.4
    result = run_zoo("predict", str(tmp_path / "recsys-csv-ranking"), "user=user-1", "ghost", "--json")
    assert result.code == 0, result.err
    assert '"user": "user-1"' in result.out and '"user": "unknown"' in result.out
    # --user is recsys's own option of `zoo predict` (plugin.zoo_predict_options): the same recommendations
    by_option = run_zoo("predict", str(tmp_path / "recsys-csv-ranking"), "--user", "user-1", "--json")
    assert by_option.code == 0, by_option.err
    assert by_option.out.splitlines()[0] == result.out.splitlines()[0]


def test_rating_recipe_refuses_implicit_csv(tmp_path):
    data = tmp_path / "clicks.csv"
    data.write_text("user,item\na,x\nb,y\n")
    with pytest.raises(ZooError, match="needs a rating column"):
        train_tiny("recsys/csv-rating", tmp_path, data=str(data))
