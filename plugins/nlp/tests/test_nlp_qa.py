"""nlp/report-qa: questions from MeSH tags, SQuAD's scoring, the keyword baseline, users' files, and learning."""
from __future__ import annotations

import importlib.util
import json
import random
from collections import Counter

import pytest

from zoo import ZooError
from zoo.testing import require, train_tiny
from zoo_nlp import corpora, questions

HAVE_XRAY = importlib.util.find_spec("torchxrayvision") is not None


def answers(items):
    return {q.kind: q.answer for q in items}


def test_mesh_tags_become_questions_and_answers():
    got = answers(questions.report_questions("7", ["Cardiomegaly/mild", "Opacity/lung/base/left",
                                                   "Pleural Effusion/right/small"]))
    assert got["normal"] == "no" and got["cardiomegaly"] == got["opacity"] == got["effusion"] == "yes"
    assert got["severity"] == "mild" and got["opacity_where"] == "left base" and got["effusion_side"] == "right"
    assert sum(a == "no" for k, a in got.items() if k in questions.FINDINGS) == 3  # as many no as yes
    normal = questions.report_questions("8", ["normal"])
    assert answers(normal)["normal"] == "yes" and len(normal) == 2  # one finding asked, answered no
    assert normal == questions.report_questions("8", ["normal"])  # fixed per report
    two = answers(questions.report_questions("9", ["Opacity/lung/upper lobe/right", "Opacity/lung/lingula"]))
    assert two["opacity_where"] == "right upper lobe and lingula"


def test_squad_scoring():
    assert questions.exact_match("The left base.", "left base") == 1.0
    assert questions.exact_match("left", "left base") == 0.0
    assert questions.token_f1("left", "left base") == pytest.approx(2 / 3)
    assert questions.token_f1("", "") == 1.0 and questions.token_f1("yes", "") == 0.0


def test_keyword_rules_read_negations_and_sides():
    fallback = {"effusion_side": "left"}
    assert questions.keyword_answer("effusion", "No pleural effusion or pneumothorax.", fallback) == "no"
    text = "Heart size is normal. Small right pleural effusion."
    assert questions.keyword_answer("effusion", text, fallback) == "yes"
    assert questions.keyword_answer("effusion_side", text, fallback) == "right"
    assert questions.keyword_answer("cardiomegaly", text, fallback) == "no"
    assert questions.keyword_answer("normal", text, fallback) == "no"
    assert questions.keyword_answer("cardiomegaly", "The heart is mildly enlarged.", fallback) == "yes"


def test_reports_not_questions_are_split():
    require(HAVE_XRAY, "torchxrayvision (data only) is not installed")
    from zoo_nlp import data

    splits = data.question_splits()
    texts, labels = data.report_texts()
    for part, idx in zip(splits, data.classifier_splits(labels, data.REPORT_FRACTIONS)):
        # one normal question per report: each split holds the questions of nlp/report-classify's reports
        # (compared as texts: some reports are word for word the same, so texts, not reports, may recur)
        assert Counter(c for c, _, _, k in part if k == "normal") == Counter(texts[i] for i in idx)
        assert {c for c, *_ in part} == {texts[i] for i in idx}
    test = splits[2]
    kinds = {k for *_, k in test}
    assert {"normal", "cardiomegaly", "opacity_where", "severity", "effusion_side"} <= kinds


def test_training_can_ask_every_finding_while_valid_and_test_stay_the_same():
    require(HAVE_XRAY, "torchxrayvision (data only) is not installed")
    from zoo_nlp import data

    balanced, every = data.question_splits(), data.question_splits(train_negatives=len(questions.FINDINGS))
    assert every[1:] == balanced[1:]  # the scored questions never change
    yes_no = lambda part: Counter(a for _, _, a, k in part if k in questions.FINDINGS)  # noqa: E731
    reports = Counter(c for c, _, _, k in every[0] if k == "normal")
    assert sum(yes_no(every[0]).values()) == len(questions.FINDINGS) * sum(reports.values())
    assert yes_no(every[0])["yes"] == yes_no(balanced[0])["yes"]
    assert yes_no(every[0])["no"] > 2 * yes_no(balanced[0])["no"]
    from zoo_nlp.answering import iu_questions
    with pytest.raises(ZooError, match="data.train_negatives=-1"):
        iu_questions(train_negatives=-1)
    with pytest.raises(ZooError, match="data.train_negatives=3: the IU questions' setting"):
        iu_questions(data="own.jsonl", train_negatives=3)  # never silently ignored for a user's file


def write_squad(path, n=240, seed=0):
    """Contexts that state where a finding is; questions whose answers are spans to copy out of them."""
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        finding, side = rng.choice(["nodule", "mass", "effusion", "opacity"]), rng.choice(["left", "right"])
        context = f"Report {i}. There is a small {finding} in the {side} lung. The heart is normal."
        question = rng.choice([(f"Which side is the {finding} on?", side), ("What is in the lung?", finding)])
        start = context.index(question[1], context.index("small"))
        lines.append(json.dumps({"context": context, "question": question[0],
                                 "answers": {"text": [question[1]], "answer_start": [start]}}))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_users_squad_file_is_read_and_bad_records_named(tmp_path):
    path = write_squad(tmp_path / "qa.jsonl", n=5)
    extra = [{"context": "Clear lungs.", "question": "Where?", "answers": {"text": ["left"], "answer_start": [0]}},
             {"context": "Clear lungs.", "question": "Is it normal?", "answers": ["yes"]},
             {"context": "Clear lungs.", "question": "Anything?", "answers": []}]
    path.write_text(path.read_text() + "".join(json.dumps(r) + "\n" for r in extra))
    triples, skipped = corpora.read_questions(path)
    assert len(triples) == 7 and ("Clear lungs.", "Is it normal?", "yes") in triples
    assert ("Clear lungs.", "Anything?", "") in triples  # SQuAD 2.0: no answer
    assert skipped == [f"{path}, line 6: answer 'left' is not in its context; record left out"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"context": "x", "question": "y"}) + "\n")
    with pytest.raises(ZooError, match=r"bad.jsonl, line 1: no 'answers' field"):
        corpora.read_questions(bad)


def test_span_answers_map_back_to_the_reports_own_characters():
    """Targets: every occurrence of the answer, at token level; decoding: the report's characters between the
    first token's start and the last token's end (its case and hyphen kept, which decoding ids would lose)."""
    import torch
    from zoo_nlp import answering
    from zoo_nlp.tokenization import train_wordpiece

    context = "Small LEFT-sided effusion. Right base clear; left-sided atelectasis."
    tokenizer = train_wordpiece([context, "Which side is the effusion on?"] * 3, vocab_size=120)
    encoder = answering.Encoder(tokenizer, max_length=64)
    x = encoder(context, "Which side is the effusion on?")
    classes = {answering.SPAN: 0, "yes": 1, "no": 2}
    y = answering.targets(x, "left-sided", classes)
    assert y["answer_class"] == 0 and int(y["starts"].sum()) == 2 == int(y["ends"].sum())
    offsets = x["offsets"].tolist()
    spans = list(zip(y["starts"].nonzero()[:, 0].tolist(), y["ends"].nonzero()[:, 0].tolist()))
    assert [answering.span_text(context, offsets, s, e) for s, e in spans] == ["LEFT-sided", "left-sided"]
    assert answering.targets(x, "no", classes)["answer_class"] == 2  # yes/no are classes, never spans
    assert answering.targets(x, "bilateral", classes)["answer_class"] == -100  # neither: unreachable

    # logits that point at "Right base": the decoded answer is the report's text there
    n = len(x["input_ids"])
    first = offsets.index([context.index("Right"), context.index("Right") + 5])
    last = offsets.index([context.index("base"), context.index("base") + 4])
    start, end = torch.zeros(1, n), torch.zeros(1, n)
    start[0, first], end[0, last] = 5.0, 5.0
    start[0, 1] = end[0, 1] = 50.0  # a question token scores highest but is never part of an answer
    output = {"answer_logits": torch.tensor([[3.0, 0.0, 1.0]]), "start_logits": start, "end_logits": end,
              "offsets": x["offsets"][None], "context": [context]}
    assert answering.answers_of(output, list(classes), longest=8) == ["Right base"]
    output["answer_logits"] = torch.tensor([[0.0, 0.0, 1.0]])
    assert answering.answers_of(output, list(classes), longest=8) == ["no"]
    end[0, last] = -5.0  # a span longer than `longest` tokens is never chosen
    assert answering.best_spans(start, end, x["offsets"][None, :, 0] >= 0, longest=2)[0, 0] == first


def test_report_tokens_asked_about_are_marked_and_change_the_reading():
    """match_ids mark the report's tokens that occur in the question (never the question's own); the model adds
    a learned embedding there, so the same ids read differently with the marks than without."""
    import torch
    from zoo_nlp import answering, models
    from zoo_nlp.tokenization import train_wordpiece

    context = "No effusion. Calcified granuloma in the right lung."
    tokenizer = train_wordpiece([context, "Is there a granuloma?"] * 3, vocab_size=120)
    x = answering.Encoder(tokenizer, max_length=64)(context, "Is there a granuloma?")
    marked = [span for span, m in zip(x["offsets"].tolist(), x["match_ids"].tolist()) if m]
    assert "".join(context[s:e] for s, e in marked) == "granuloma", marked
    assert not x["match_ids"][x["token_type_ids"] == 1].any()  # the question itself is never marked
    model = models.qa_encoder(3, tokenizer.get_vocab_size(), width=16, depth=1, heads=2).eval()
    torch.nn.init.normal_(model.match.weight)
    batch = answering.collate_inputs([x])
    with torch.no_grad():
        plain = model(batch["input_ids"], batch["token_type_ids"])["start_logits"]
        read = model(batch["input_ids"], batch["token_type_ids"], batch["match_ids"])["start_logits"]
    assert not torch.allclose(plain, read)


def test_answer_logits_pool_the_strongest_evidence_of_the_reports_tokens():
    """With evidence_pool, each answer's logit is the [CLS] head's plus the highest per-token evidence over the
    report's tokens only (not the question's, not padding)."""
    import torch
    from zoo_nlp import answering, models
    from zoo_nlp.tokenization import train_wordpiece

    context = "No effusion. Calcified granuloma in the right lung."
    tokenizer = train_wordpiece([context, "Is there a granuloma?"] * 3, vocab_size=120)
    encoder = answering.Encoder(tokenizer, max_length=64)
    batch = answering.collate_inputs([encoder(context, "Is there a granuloma?"), encoder("Clear.", "Is there a granuloma?")])
    torch.manual_seed(0)
    model = models.qa_encoder(3, tokenizer.get_vocab_size(), width=16, depth=1, heads=2).eval()
    hidden = {}
    model.encoder.register_forward_hook(lambda m, i, out: hidden.update(h=out.last_hidden_state))
    with torch.no_grad():
        logits = model(batch["input_ids"], batch["token_type_ids"], batch["match_ids"])["answer_logits"]
        h = hidden["h"]
        text = (batch["token_type_ids"] == 0) & (batch["input_ids"] != 0)
        for n in range(2):
            evidence = model.evidence_head(h[n][text[n]]).amax(0)
            assert torch.allclose(logits[n], model.answer_head(h[n, 0]) + evidence, atol=1e-5)
        # the test can tell: pooling every position (question, [CLS], padding) would give other logits
        assert (model.evidence_head(h).amax(1) > model.evidence_head(h).masked_fill(~text[..., None], -1e9).amax(1)).any()


def test_mention_pool_reads_only_the_reports_tokens_the_question_names():
    """With mention_pool, a second evidence pool runs over the marked report tokens only; a report that never
    names the finding gets nothing from it."""
    import torch
    from zoo_nlp import answering, models
    from zoo_nlp.tokenization import train_wordpiece

    context = "No effusion. Calcified granuloma in the right lung."
    tokenizer = train_wordpiece([context, "Is there a granuloma?"] * 3, vocab_size=120)
    encoder = answering.Encoder(tokenizer, max_length=64)
    batch = answering.collate_inputs([encoder(context, "Is there a granuloma?"), encoder("Clear.", "Is there a granuloma?")])
    torch.manual_seed(0)
    model = models.qa_encoder(3, tokenizer.get_vocab_size(), width=16, depth=1, heads=2, evidence_pool=False,
                              mention_pool=True).eval()
    hidden = {}
    model.encoder.register_forward_hook(lambda m, i, out: hidden.update(h=out.last_hidden_state))
    with torch.no_grad():
        logits = model(batch["input_ids"], batch["token_type_ids"], batch["match_ids"])["answer_logits"]
        h, marked = hidden["h"], batch["match_ids"] == 1
        assert marked[0].sum() == 1 and not marked[1].any()
        assert torch.allclose(logits[0], model.answer_head(h[0, 0]) + model.mention_head(h[0][marked[0]]).amax(0),
                              atol=1e-5)
        assert torch.allclose(logits[1], model.answer_head(h[1, 0]), atol=1e-5)
        # the test can tell: pooling all of the report's tokens would give another logit
        text = (batch["token_type_ids"] == 0) & (batch["input_ids"] != 0)
        assert not torch.allclose(model.mention_head(h[0][text[0]]).amax(0), model.mention_head(h[0][marked[0]]).amax(0))


def test_answerer_learns_spans_beyond_the_majority_answer_and_predicts(tmp_path):
    """A user's SQuAD-like file: 240 contexts, answers copied out of them. The most common answer of the
    training questions scores about 0.3 on test; the span head must beat it by a wide margin."""
    path = write_squad(tmp_path / "qa.jsonl")
    run, summary = train_tiny("nlp/report-qa", tmp_path, "data.vocab_size=300", "data.max_length=48",
                              "model.width=64", "model.depth=1", "lr=3e-3", "batch_size=16", "threads=1",
                              data=str(path), epochs=4)
    triples, _ = corpora.read_questions(path)
    majority = Counter(a for _, _, a in triples).most_common(1)[0][1] / len(triples)
    assert summary["test"]["exact_match"] > majority + 0.4, (summary["test"], majority)
    context = "There is a small mass in the right lung. The heart is normal."
    [answer] = run.predict([context], questions=("Which side is the mass on?",))
    assert answer == {"input": context, "answer": "right", "question": "Which side is the mass on?"}
    with pytest.raises(ZooError, match="--question"):
        run.predict(["There is a small mass in the right lung."])


def test_the_reader_starts_from_the_masked_lm_encoder(tmp_path, capsys):
    """nlp/report-qa with init_from an nlp/report-mlm run: every encoder tensor is the pretrained one (the
    answer and span heads start fresh), and both read the reports with the same tokenizer."""
    require(HAVE_XRAY, "torchxrayvision (data only) is not installed")
    import torch

    sets = ("data.limit=300", "data.vocab_size=800", "data.max_length=128", "model.width=32", "model.depth=1",
            "model.heads=2", "max_steps=1", "eval_limit=1", "threads=1")
    mlm, _ = train_tiny("nlp/report-mlm", tmp_path / "mlm", *sets)
    qa, _ = train_tiny("nlp/report-qa", tmp_path / "qa", *sets, f"init_from={mlm.dir}", "lr=1e-12", "ema=0")
    assert "start fresh (match.weight, answer_head.1.weight, answer_head.1.bias, ...)" in \
        capsys.readouterr().err
    pretrained = {k: v for k, v in mlm.module.state_dict().items() if k.startswith("encoder.")}
    started = qa.module.state_dict()
    assert len(pretrained) > 20
    for key, value in pretrained.items():
        assert torch.allclose(started[key], value, atol=1e-6), key
    assert mlm.predictor().info["tokenizer"] == qa.predictor().info["tokenizer"]
