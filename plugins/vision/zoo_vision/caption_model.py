"""The captioner: a small convolutional encoder (a grid of image features) and a small transformer decoder
(torch.nn.TransformerDecoder) that reads the grid through cross-attention; both from scratch. Beam search over
the decoder's next-word log-probabilities.
"""
from __future__ import annotations

from typing import Annotated

import torch
from torch import nn

from zoo.config import Range


def conv_block(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                         nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class CaptionNet(nn.Module):
    """Images B x C x S x S and tokens B x L ([bos] + words) -> next-word logits B x L x V (teacher forcing).

    The encoder halves the image `stages` + 1 times (S=48, 2 stages: a 6 x 6 grid of `width` features, each with
    a learned position); the decoder is `layers` pre-norm transformer layers with causal self-attention and
    cross-attention to the grid; the output layer shares the word embedding's weights."""

    def __init__(self, vocab_size: int, image_size: int = 64, max_len: int = 32, in_channels: int = 3,
                 width: Annotated[int, Range(16, 1024)] = 256, layers: Annotated[int, Range(1, 12)] = 3,
                 heads: Annotated[int, Range(1, 16)] = 4, stages: Annotated[int, Range(1, 5)] = 2,
                 channels: Annotated[int, Range(8, 256)] = 32, dropout: float = 0.1):
        super().__init__()
        if width % heads:
            raise ValueError(f"model.width={width} must be a multiple of model.heads={heads}")
        # a strided stem, then `stages` blocks of two 3x3 convolutions, each halving the grid
        blocks, c = [nn.Sequential(nn.Conv2d(in_channels, channels, 3, 2, 1, bias=False), nn.BatchNorm2d(channels),
                                   nn.ReLU(inplace=True))], channels
        for s in range(stages):
            nxt = min(channels * 2 ** (s + 1), width)
            blocks.append(conv_block(c, nxt, 2))
            c = nxt
        self.encoder = nn.Sequential(*blocks, nn.Conv2d(c, width, 1))
        grid = image_size
        for _ in range(stages + 1):
            grid = (grid + 1) // 2
        self.grid_pos = nn.Parameter(torch.zeros(1, grid * grid, width))
        self.memory_norm = nn.LayerNorm(width)
        self.embed = nn.Embedding(vocab_size, width)
        self.pos = nn.Parameter(torch.zeros(1, max_len, width))
        layer = nn.TransformerDecoderLayer(width, heads, 4 * width, dropout, batch_first=True, norm_first=True,
                                           activation="gelu")
        self.decoder = nn.TransformerDecoder(layer, layers, norm=nn.LayerNorm(width))
        self.head = nn.Linear(width, vocab_size, bias=False)
        self.head.weight = self.embed.weight
        self.width, self.max_len = width, max_len
        nn.init.normal_(self.grid_pos, std=0.02)
        nn.init.normal_(self.pos, std=0.02)
        nn.init.normal_(self.embed.weight, std=width ** -0.5)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """B x T x width: the feature grid, flattened, with positions."""
        grid = self.encoder(images).flatten(2).transpose(1, 2)
        if grid.shape[1] != self.grid_pos.shape[1]:
            raise ValueError(f"images of {images.shape[-1]} px give a {grid.shape[1]}-cell grid; this model was "
                             f"built for {self.grid_pos.shape[1]} cells (data.image_size)")
        return self.memory_norm(grid + self.grid_pos)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """One vector per image (the grid's mean, unit length): the space the nearest-neighbour baseline uses."""
        return nn.functional.normalize(self.encode(images).mean(1), dim=-1)

    def decode(self, memory: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Next-word logits B x L x V for tokens B x L given the encoded grid."""
        n = tokens.shape[1]
        if n > self.max_len:
            raise ValueError(f"{n} tokens: this model reads at most {self.max_len}")
        h = self.embed(tokens) * self.width ** 0.5 + self.pos[:, :n]
        causal = torch.triu(torch.full((n, n), float("-inf"), device=tokens.device), diagonal=1)
        return self.head(self.decoder(h, memory, tgt_mask=causal, tgt_is_causal=True))

    def forward(self, image: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(image), tokens)


def caption_net(vocab_size: int, image_size: int = 64, max_len: int = 32,
                width: Annotated[int, Range(16, 1024)] = 256, layers: Annotated[int, Range(1, 12)] = 3,
                heads: Annotated[int, Range(1, 16)] = 4, stages: Annotated[int, Range(1, 5)] = 2,
                channels: Annotated[int, Range(8, 256)] = 32,
                dropout: Annotated[float, Range(0, 1, high_open=True)] = 0.1) -> CaptionNet:
    """The model factory (vision/caption-net)."""
    return CaptionNet(vocab_size, image_size, max_len, width=width, layers=layers, heads=heads, stages=stages,
                      channels=channels, dropout=dropout)


def caption_net_example():
    """A small captioner and one teacher-forced batch, for the registry's forward test."""
    kwargs = {"vocab_size": 12, "image_size": 32, "max_len": 8, "width": 32, "layers": 1, "heads": 2}
    x = {"image": torch.randn(2, 3, 32, 32), "tokens": torch.randint(0, 12, (2, 6))}
    return kwargs, x


@torch.no_grad()
def beam_search(step, memory: torch.Tensor, bos: int, eos: int, beam: int = 3, max_len: int = 20,
                length_penalty: float = 0.0, banned: tuple[int, ...] = ()) -> tuple[torch.Tensor, torch.Tensor]:
    """The most likely sequences: `step(memory, tokens) -> log-probabilities B' x L x V` (the last position is
    read). Keeps `beam` hypotheses per input; a finished one (eos) carries its score on unchanged. The winner
    maximises sum(log p) / length ** length_penalty (length counts the eos). beam=1 is greedy decoding.
    -> tokens B x T (after bos, eos-padded) and their scores B."""
    b = memory.shape[0]
    memory = memory.repeat_interleave(beam, 0)
    seqs = torch.full((b * beam, 1), bos, dtype=torch.long, device=memory.device)
    scores = torch.full((b, beam), float("-inf"), device=memory.device)
    scores[:, 0] = 0.0
    done = torch.zeros(b * beam, dtype=torch.bool, device=memory.device)
    lengths = torch.zeros(b * beam, device=memory.device)
    vocab = None
    for _ in range(max_len):
        active = (~done).nonzero().flatten()  # only unfinished hypotheses are run through the decoder
        out = step(memory[active], seqs[active])[:, -1].float().log_softmax(-1)
        vocab = out.shape[-1]
        if banned:
            out[:, list(banned)] = float("-inf")
        # a finished hypothesis can only repeat eos, at no cost
        logp = torch.full((len(seqs), vocab), float("-inf"), device=memory.device)
        logp[done, eos] = 0.0
        logp[active] = out
        total = (scores.view(-1, 1) + logp).view(b, beam * vocab)
        scores, flat = total.topk(beam, dim=-1)
        source = (flat // vocab + torch.arange(b, device=memory.device).view(-1, 1) * beam).view(-1)
        token = (flat % vocab).view(-1)
        seqs = torch.cat([seqs[source], token.view(-1, 1)], 1)
        lengths = lengths[source] + (~done[source]).float()
        done = done[source] | (token == eos)
        if bool(done.all()):
            break
    ranked = scores.view(-1) / lengths.clamp_min(1) ** length_penalty if length_penalty else scores.view(-1)
    best = ranked.view(b, beam).argmax(-1) + torch.arange(b, device=memory.device) * beam
    return seqs[best, 1:], scores.view(-1)[best]
