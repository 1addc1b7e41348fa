"""zoo-nlp data: the real corpora, per-batch padding, truncation, and bad user input."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
import torch

from zoo import ZooError
from zoo.testing import require, run_zoo
from zoo_nlp import corpora, data
from zoo_nlp.tokenization import TruncationWarning, encode, train_wordpiece

HAVE_XRAY = importlib.util.find_spec("torchxrayvision") is not None
HAVE_WORDNET = (corpora.WORDNET_DIR / "data.noun").is_file()


def write_csv(path, rows, header="text,label"):
    path.write_text(header + "\n" + "".join(f"{t},{lab}\n" for t, lab in rows), encoding="utf-8")
    return path


def animals_and_tools(n: int = 12) -> list[tuple[str, str]]:
    return [(f"the {w} ran across the field number {i}", "animal") for i, w in zip(range(n), ["dog", "cat"] * n)] + \
           [(f"use the {w} to fix shelf number {i}", "tool") for i, w in zip(range(n), ["hammer", "saw"] * n)]


# -- the embedded corpora --------------------------------------------------------------------
def test_iu_reports_counts():
    require(HAVE_XRAY, "torchxrayvision (data only) is not installed")
    reports = corpora.iu_reports()
    assert len(reports) == 3955
    assert sum(r.normal for r in reports) == 1391
    assert sum(bool(r.findings and r.impression) for r in reports) == 3419


def test_retrieval_never_lets_a_text_pick_itself():
    from zoo_nlp.retrieval import nearest

    bank = ["heart size normal lungs clear", "heart size normal lungs clear", "large left pleural effusion"]
    assert nearest(bank, ["left pleural effusion is large"]) == [[2]]
    assert nearest(bank, bank)[:1] == [[0]] and nearest(bank, bank, leave_one_out=True)[:2] == [[1], [0]]
    assert nearest(bank, ["heart size normal"], k=3)[0][2] == 2


def test_summaries_read_the_nearest_training_impression_first():
    require(HAVE_XRAY, "torchxrayvision (data only) is not installed")
    sources, targets, (train, _, test) = data.summary_pairs(limit=300)
    bundle = data.iu_summaries(limit=300, retrieve=2)
    tokenizer = train_wordpiece([sources[i] for i in train] + [targets[i] for i in train], 6000)
    train_impressions = {tokenizer.decode(tokenizer.encode(targets[i]).ids) for i in train}
    for split in (bundle.train, bundle.test):
        for k in range(5):
            *context, findings = tokenizer.decode(split[k][0].tolist(), skip_special_tokens=False).split("[SEP]")
            assert len(context) == 2 and {c.strip() for c in context} <= train_impressions and findings.strip()
    assert bundle.info["retrieve"] and not data.iu_summaries(limit=300).info["retrieve"]


def test_wordnet_glosses_counts():
    require(HAVE_WORDNET, "the Debian package wordnet-base is not installed")
    texts, labels = corpora.wordnet_glosses()
    assert len(texts) == 117659 and len(set(labels)) == 45 == len(corpora.LEXNAMES)
    assert all(t.strip() and '"' not in t[:1] for t in texts[:1000])


def test_plugin_spec_imports_nothing_heavy():
    code = ("import sys, zoo_nlp.plugin as p; p.zoo_datasets(); p.zoo_models(); p.zoo_recipes(); "
            "print([m for m in ('torch', 'transformers', 'tokenizers') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- batching and tokenization ---------------------------------------------------------------
def test_batches_are_padded_to_their_own_longest_text():
    batch = [(torch.tensor([5, 6, 7]), torch.tensor(0)), (torch.tensor([8]), torch.tensor(1))]
    x, y = data.collate_classify(batch)
    assert x.tolist() == [[5, 6, 7], [8, 0, 0]] and y.tolist() == [0, 1]
    x, y = data.collate_seq2seq([(torch.tensor([5, 6]), torch.tensor([9, 3])), (torch.tensor([4]), torch.tensor([3]))])
    assert x["input_ids"].shape == (2, 2) and y.tolist() == [[9, 3], [3, -100]]


def test_long_texts_are_truncated_with_a_count(tmp_path):
    tokenizer = train_wordpiece(["short text", "a much longer text " * 20, "another one"], vocab_size=200)
    with pytest.warns(TruncationWarning, match=r"1 of 3 texts were longer than 20 tokens"):
        ids = encode(tokenizer, ["short text", "a much longer text " * 20, "another one"], 20)
    assert max(map(len, ids)) == 20


def test_user_csv_and_folder_load(tmp_path):
    bundle = data.text_folder(str(write_csv(tmp_path / "d.csv", animals_and_tools())), vocab_size=200)
    assert bundle.info["classes"] == ["animal", "tool"] and len(bundle.train) + len(bundle.valid) + len(bundle.test) == 24
    counts = bundle.info["class_counts"]  # training labels per class, for logit_adjust
    assert sum(counts) == len(bundle.train) and counts == [bundle.train.targets.count(c) for c in (0, 1)]
    for label in ("pos", "neg"):
        (tmp_path / "dir" / label).mkdir(parents=True)
        for i in range(4):
            (tmp_path / "dir" / label / f"{i}.txt").write_text(f"{label} document {i}", encoding="utf-8")
    texts, labels = corpora.read_labelled(tmp_path / "dir")
    assert len(texts) == 8 and set(labels) == {"pos", "neg"}


def test_jsonl_with_own_column_names(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps({"body": t, "topic": lab}) + "\n" for t, lab in animals_and_tools()))
    texts, labels = corpora.read_labelled(path, text_column="body", label_column="topic")
    assert len(texts) == 24 and labels[0] == "animal"


# -- bad input -------------------------------------------------------------------------------
def test_empty_text_names_file_and_row(tmp_path):
    path = write_csv(tmp_path / "d.csv", [("fine text", "a"), ("  ", "b"), ("more", "a")])
    with pytest.raises(ZooError, match=r"d\.csv, row 3: empty text"):
        corpora.read_labelled(path)


def test_missing_label_column_is_named(tmp_path):
    path = write_csv(tmp_path / "d.csv", [("fine text", "a")], header="text,category")
    with pytest.raises(ZooError, match=r"d\.csv: no 'label' column \(columns: 'text', 'category'\)"):
        corpora.read_labelled(path)
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text('{"text": "x", "label": "a"}\n{"text": "y"}\n')
    with pytest.raises(ZooError, match=r"d\.jsonl, line 2: no 'label' field"):
        corpora.read_labelled(jsonl)


def test_single_class_is_refused(tmp_path):
    path = write_csv(tmp_path / "d.csv", [("one", "spam"), ("two", "spam"), ("three", "spam")])
    with pytest.raises(ZooError, match=r"only one class \('spam'\)"):
        corpora.read_labelled(path)


def test_non_utf8_files_are_refused_with_their_name(tmp_path):
    csv_path = tmp_path / "latin.csv"
    csv_path.write_bytes("text,label\nok,a\ncaf\xe9 au lait,b\n".encode("latin-1"))
    with pytest.raises(ZooError, match=r"latin\.csv, line 3: not UTF-8"):
        corpora.read_labelled(csv_path)
    (tmp_path / "dir" / "a").mkdir(parents=True)
    (tmp_path / "dir" / "b").mkdir()
    (tmp_path / "dir" / "a" / "good.txt").write_text("fine")
    (tmp_path / "dir" / "b" / "bad.txt").write_bytes(b"\xff\xfe\x00broken")
    with pytest.raises(ZooError, match=r"bad\.txt, line 1: not UTF-8"):
        corpora.read_labelled(tmp_path / "dir")


def test_rare_class_is_refused(tmp_path):
    path = write_csv(tmp_path / "d.csv", animals_and_tools() + [("a lonely bird", "bird")])
    with pytest.raises(ZooError, match=r"class 'bird' has 1 example"):
        data.text_folder(str(path), vocab_size=200)


def test_cli_reports_bad_input_in_one_line(tmp_path):
    path = write_csv(tmp_path / "d.csv", [("fine text", "a")], header="body,label")
    result = run_zoo("train", "nlp/text-classify", "--data", str(path), "--out", str(tmp_path / "run"))
    assert result.code == 2
    assert "d.csv: no 'text' column" in result.err and "Traceback" not in result.err


def test_csv_keeps_line_breaks_inside_quoted_fields_and_json_arrays_are_read(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('text,label\n"hello\nworld",a\n"one, two",b\n', encoding="utf-8")
    texts, labels = corpora.read_table(path)
    assert texts == ["hello\nworld", "one, two"] and labels == ["a", "b"]
    array = tmp_path / "d.json"
    array.write_text('[{"text": "hello", "label": "a"}, {"text": "world", "label": "b"}]', encoding="utf-8")
    assert corpora.read_table(array) == (["hello", "world"], ["a", "b"])
    array.write_text('[{"text": "hello", "label": "a"}, {"text": "world"}]', encoding="utf-8")
    with pytest.raises(ZooError, match=r"d\.json, item 2: no 'label' field"):
        corpora.read_table(array)


def test_own_summarization_pairs_from_csv_and_jsonl(tmp_path):
    rows = [{"source": f"the lungs are clear. case {i}.\nno effusion.", "summary": f"normal {i}"} for i in range(20)]
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    bundle = data.iu_summaries(str(path), vocab_size=100, max_source_length=32, max_target_length=8)
    assert len(bundle.train) + len(bundle.valid) + len(bundle.test) == 20 and bundle.info["target_name"] == "summary"
    bad = tmp_path / "bad.csv"
    bad.write_text("findings,impression\na,b\n", encoding="utf-8")
    with pytest.raises(ZooError, match=r"bad\.csv: no 'source' column .*data.source_column"):
        data.iu_summaries(str(bad))
