"""MBR selection of summaries: the hand-written ROUGE-L agrees with torchmetrics', and the consensus of
the beams and retrieved impressions is what the task returns."""
from __future__ import annotations

import pytest
import torch

from zoo.config import TrainConfig
from zoo_nlp import mbr
from zoo_nlp.baselines import rouge
from zoo_nlp.tasks import Seq2SeqTask
from zoo_nlp.tokenization import decode, train_wordpiece

PAIRS = [("no acute cardiopulmonary abnormality", "no acute cardiopulmonary disease"),
         ("Heart size is normal. No effusion.", "the heart is normal in size, no pleural effusion"),
         ("stable cardiomegaly", "no active disease"), ("x", "")]


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_rouge_l_matches_torchmetrics(a, b):
    ours = mbr.rouge_l(mbr.words(a), mbr.words(b))
    assert ours == pytest.approx(rouge([a], [b])["rougeL"] if b else 0.0, abs=1e-6)


def test_consensus_picks_the_candidate_the_others_agree_with():
    candidates = ["heart is enlarged", "no acute disease", "no acute cardiopulmonary disease", "no disease"]
    assert mbr.consensus(candidates) == 1  # ROUGE-L 0.86 and 0.80 with the two that say much the same
    assert mbr.consensus(["same", "same"]) == 0  # the first among equals


def test_task_chooses_among_beams_and_retrieved_impressions():
    texts = ["no acute disease", "heart is enlarged", "no acute cardiopulmonary disease", "lungs are clear"]
    tokenizer = train_wordpiece(texts, 200)
    eos, pad = tokenizer.token_to_id("[SEP]"), tokenizer.token_to_id("[PAD]")
    ids = lambda text: tokenizer.encode(text).ids  # noqa: E731
    info = {"tokenizer": tokenizer.to_str(), "pad_id": pad, "eos_id": eos, "retrieve": 2, "mbr": True}
    task = Seq2SeqTask(TrainConfig(), info)
    # a source of two retrieved impressions, each closed by [SEP], then the findings
    source = ids("no acute disease") + [eos] + ids("no acute cardiopulmonary disease") + [eos] + ids("lungs are clear")
    assert decode(tokenizer, task.retrieved(source + [pad, pad])) == [
        "no acute disease", "no acute cardiopulmonary disease"]
    beams = [[[pad] + ids("heart is enlarged") + [eos], [pad] + ids("no acute disease") + [eos, pad]]]
    chosen = task.consensus(beams, [source])
    assert task.texts(chosen) == ["no acute disease"]  # two candidates say it, one more nearly does
