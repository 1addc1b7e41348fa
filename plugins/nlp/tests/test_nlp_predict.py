"""Bad input to `zoo predict` through the one path (zoo.predictor.Predictor and the tasks' hooks) for the nlp
readers: a path is never read as the text itself (a missing one is "no such file", a file that is not text an
error naming it), and the other inputs are still predicted. The runs train two steps: these tests are about
reading, not learning."""
from __future__ import annotations

import json
import random

import pytest

from zoo import ZooError
from zoo.testing import run_zoo, train_tiny

STEPS = ("threads=1", "grad_stats_every=0", "ema=0", "max_steps=2", "eval_limit=1")
QUESTION = ("Which side is the mass on?",)


def squad(path, n=40):
    rng = random.Random(0)
    rows = []
    for i in range(n):
        side = rng.choice(["left", "right"])
        context = f"Report {i}. There is a small mass in the {side} lung."
        rows.append({"context": context, "question": "Which side is the mass on?",
                     "answers": {"text": [side], "answer_start": [context.index(side, context.index("small"))]}})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    qa, _ = train_tiny("nlp/report-qa", root, *STEPS, "data.vocab_size=100", "data.max_length=32",
                       "model.width=16", "model.depth=1", "model.heads=2",
                       data=str(squad(root / "qa.jsonl")))
    rows = [(f"the {w} ran across the field number {i}", "animal") for i, w in zip(range(12), ["dog", "cat"] * 6)] + \
           [(f"use the {w} to fix shelf number {i}", "tool") for i, w in zip(range(12), ["hammer", "saw"] * 6)]
    table = root / "texts.csv"
    table.write_text("text,label\n" + "".join(f"{t},{lab}\n" for t, lab in rows))
    classify, _ = train_tiny("nlp/text-classify", root, *STEPS, "data.vocab_size=100", data=str(table))
    return {"qa": qa, "classify": classify}


def predict(runs, which, inputs, **options):
    if which == "qa":
        options.setdefault("questions", QUESTION)
    return runs[which].predict(inputs, **options)


@pytest.mark.parametrize("which", ["qa", "classify"])
@pytest.mark.parametrize("missing", ["report.txt", "reports/r1", "notes.md"])
def test_a_missing_file_is_not_answered_as_text(runs, tmp_path, which, missing):
    with pytest.raises(ZooError) as caught:
        predict(runs, which, [str(tmp_path / missing)])
    assert str(caught.value) == f"{tmp_path / missing}: no such file"


@pytest.mark.parametrize("which", ["qa", "classify"])
def test_a_file_that_is_not_text_or_is_empty_is_named_and_the_others_predicted(runs, tmp_path, which):
    binary, empty, good = tmp_path / "scan.png", tmp_path / "empty.txt", tmp_path / "report.txt"
    binary.write_bytes(bytes(range(128, 256)) * 4)
    empty.write_text("  \n")
    good.write_text("There is a small mass in the left lung.\n")
    results = predict(runs, which, [str(binary), str(empty), str(good)])
    assert [r["input"] for r in results] == [str(binary), str(empty), str(good)]
    assert "not UTF-8 text" in results[0]["error"] and "\n" not in results[0]["error"]
    assert results[1]["error"] == "empty file (no text)"
    assert "error" not in results[2]


def test_a_folder_stands_for_its_files(runs, tmp_path):
    for i in range(2):
        (tmp_path / f"r{i}.txt").write_text(f"Report {i}. There is a small mass in the right lung.\n")
    results = predict(runs, "qa", [str(tmp_path)], questions=QUESTION + ("What is in the lung?",))
    assert [(r["input"], r["question"]) for r in results] == [
        (str(tmp_path / f"r{i}.txt"), q) for i in range(2) for q in QUESTION + ("What is in the lung?",)]


def test_questions_are_needed_and_each_answer_is_written(runs, tmp_path):
    with pytest.raises(ZooError, match="needs at least one --question"):
        runs["qa"].predict(["There is a small mass in the right lung."])
    context = tmp_path / "report.txt"
    context.write_text("There is a small mass in the right lung.\n")
    results = predict(runs, "qa", [str(context)], questions=QUESTION + ("What is in the lung?",),
                      out=tmp_path / "answers")
    written = [json.loads(open(r["files"][0]).read()) for r in results]
    assert [w["question"] for w in written] == list(QUESTION + ("What is in the lung?",))
    assert [r["files"][0].rsplit("/", 1)[1] for r in results] == ["report.q1.json", "report.q2.json"]


def test_the_cli_answers_the_good_file_and_names_the_missing_one(runs, tmp_path):
    good = tmp_path / "report.txt"
    good.write_text("There is a small mass in the right lung.\n")
    result = run_zoo("predict", str(runs["qa"].dir), str(good), str(tmp_path / "gone.txt"), "--question", QUESTION[0])
    assert result.code == 2 and result.out.startswith(f"{good}\t")
    err = [line for line in result.err.strip().splitlines() if not line.startswith("predicting")]
    assert err == [f"error: {tmp_path / 'gone.txt'}: no such file"], result.err
