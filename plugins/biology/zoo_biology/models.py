"""Networks for sequences, tables and structures, written with plain torch layers.

- peptide_resnet: a 1-D residual CNN over amino-acid embeddings, max and mean pooled over the real residues.
- peptide_transformer: a small pre-norm transformer encoder (torch's nn.TransformerEncoder), mean pooled.
- deepbind: DeepBind (Alipanahi et al. 2015): one layer of motif detectors on one-hot DNA, max pooled, then a
  small dense layer; its first layer's filters are what biology/tf-binding draws as sequence logos.
- mlp: an MLP for tables, each hidden layer Linear -> BatchNorm -> GELU -> Dropout.
- contact_resnet: residue windows (1-D convolutions) -> pair features (both residues and their separation)
  -> a 2-D residual network with dilations -> a symmetric contact logit map.
- interface_cnn: a 1-D residual CNN over per-residue features -> one logit per residue.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _mask(ids: torch.Tensor) -> torch.Tensor:
    return (ids != 0).unsqueeze(1).float()  # N x 1 x L: 1 for residues, 0 for padding


class ResBlock1d(nn.Module):
    def __init__(self, width: int, kernel: int, dilation: int, dropout: float):
        super().__init__()
        pad = dilation * (kernel // 2)
        self.body = nn.Sequential(
            nn.BatchNorm1d(width), nn.GELU(), nn.Conv1d(width, width, kernel, padding=pad, dilation=dilation),
            nn.BatchNorm1d(width), nn.GELU(), nn.Dropout(dropout), nn.Conv1d(width, width, kernel, padding=kernel // 2))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        out = x + self.body(x)
        return out * mask if mask is not None else out


class PeptideResNet(nn.Module):
    def __init__(self, vocab_size: int, width: int, depth: int, kernel: int, dropout: float):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, width, padding_idx=0)
        self.blocks = nn.ModuleList(ResBlock1d(width, kernel, 2 ** (i % 3), dropout) for i in range(depth))
        self.head = nn.Sequential(nn.LayerNorm(2 * width), nn.Dropout(dropout), nn.Linear(2 * width, 1))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = _mask(ids)
        h = self.embed(ids).transpose(1, 2) * mask
        for block in self.blocks:
            h = block(h, mask)
        length = mask.sum(-1).clamp_min(1)
        peak = h.masked_fill(mask == 0, float("-inf")).amax(-1)
        return self.head(torch.cat([peak, h.sum(-1) / length], 1))


def peptide_resnet(vocab_size: int = 22, max_length: int = 200, width: int = 128, depth: int = 4, kernel: int = 5,
                   dropout: float = 0.2) -> nn.Module:
    return PeptideResNet(vocab_size, width, depth, kernel, dropout)


class PeptideTransformer(nn.Module):
    def __init__(self, vocab_size: int, max_length: int, width: int, depth: int, heads: int, dropout: float):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, width, padding_idx=0)
        self.position = nn.Parameter(torch.zeros(1, max_length, width))
        nn.init.normal_(self.position, std=0.02)
        layer = nn.TransformerEncoderLayer(width, heads, 4 * width, dropout, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, 1))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        ids = ids[:, : self.position.shape[1]]
        pad = ids == 0
        h = self.embed(ids) + self.position[:, : ids.shape[1]]
        h = self.norm(self.encoder(h, src_key_padding_mask=pad))
        keep = (~pad).unsqueeze(-1).float()
        return self.head((h * keep).sum(1) / keep.sum(1).clamp_min(1))


def peptide_transformer(vocab_size: int = 22, max_length: int = 200, width: int = 128, depth: int = 2,
                        heads: int = 4, dropout: float = 0.1) -> nn.Module:
    return PeptideTransformer(vocab_size, max_length, width, depth, heads, dropout)


class DeepBind(nn.Module):
    def __init__(self, filters: int, kernel: int, hidden: int, dropout: float):
        super().__init__()
        self.conv = nn.Conv1d(4, filters, kernel)  # the motif detectors (drawn as logos)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * filters, hidden), nn.ReLU(), nn.Dropout(dropout),
                                  nn.Linear(hidden, 1))

    def activations(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.activations(x)
        return self.head(torch.cat([a.amax(-1), a.mean(-1)], 1))


def deepbind(window: int = 200, filters: int = 64, kernel: int = 19, hidden: int = 64, dropout: float = 0.3) -> nn.Module:
    return DeepBind(filters, kernel, hidden, dropout)


def mlp(num_features: int, num_classes: int, hidden: int = 256, depth: int = 2, dropout: float = 0.3) -> nn.Module:
    layers: list[nn.Module] = [nn.Dropout(dropout / 2)] if dropout else []
    width = num_features
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.BatchNorm1d(hidden), nn.GELU(), nn.Dropout(dropout)]
        width = hidden
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


SEPARATION_BINS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64, 96, 128)


def separation_features(length: int, device) -> torch.Tensor:
    """One-hot bins of |i - j| (17 bins, the last open-ended): 17 x L x L."""
    idx = torch.arange(length, device=device)
    sep = (idx[:, None] - idx[None, :]).abs()
    bins = torch.bucketize(sep, torch.tensor(SEPARATION_BINS, device=device))
    return F.one_hot(bins.clamp_max(len(SEPARATION_BINS) - 1), len(SEPARATION_BINS)).permute(2, 0, 1).float()


class ResBlock2d(nn.Module):
    def __init__(self, width: int, dilation: int, dropout: float):
        super().__init__()
        self.body = nn.Sequential(
            nn.InstanceNorm2d(width, affine=True), nn.ELU(), nn.Conv2d(width, width, 3, padding=dilation, dilation=dilation),
            nn.InstanceNorm2d(width, affine=True), nn.ELU(), nn.Dropout2d(dropout), nn.Conv2d(width, width, 3, padding=1))

    def forward(self, x):
        return x + self.body(x)


class ContactResNet(nn.Module):
    def __init__(self, vocab_size: int, embed: int, width: int, depth: int, window: int, dropout: float):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed, padding_idx=0)
        self.window = nn.Sequential(nn.Conv1d(embed, embed, window, padding=window // 2), nn.GELU(),
                                    nn.Conv1d(embed, embed, window, padding=window // 2), nn.GELU())
        pair = 2 * embed + len(SEPARATION_BINS)
        self.stem = nn.Conv2d(pair, width, 1)
        self.blocks = nn.Sequential(*(ResBlock2d(width, 2 ** (i % 4), dropout) for i in range(depth)))
        self.out = nn.Sequential(nn.InstanceNorm2d(width, affine=True), nn.ELU(), nn.Conv2d(width, 1, 1))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        n, length = ids.shape
        mask = _mask(ids)
        h = self.embed(ids).transpose(1, 2) * mask
        h = (h + self.window(h)) * mask  # each residue with its sequence window
        pair = torch.cat([h.unsqueeze(3).expand(-1, -1, -1, length), h.unsqueeze(2).expand(-1, -1, length, -1),
                          separation_features(length, ids.device).unsqueeze(0).expand(n, -1, -1, -1)], 1)
        logits = self.out(self.blocks(self.stem(pair))).squeeze(1)
        return (logits + logits.transpose(1, 2)) / 2


def contact_resnet(vocab_size: int = 22, embed: int = 32, width: int = 32, depth: int = 8, window: int = 7,
                   dropout: float = 0.1) -> nn.Module:
    return ContactResNet(vocab_size, embed, width, depth, window, dropout)


class InterfaceCNN(nn.Module):
    def __init__(self, num_features: int, width: int, depth: int, kernel: int, dropout: float):
        super().__init__()
        self.stem = nn.Conv1d(num_features, width, 1)
        self.blocks = nn.ModuleList(ResBlock1d(width, kernel, 2 ** (i % 3), dropout) for i in range(depth))
        self.out = nn.Sequential(nn.BatchNorm1d(width), nn.GELU(), nn.Conv1d(width, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # N x L x F -> N x L
        mask = (x.abs().sum(-1) > 0).unsqueeze(1).float()
        h = self.stem(x.transpose(1, 2)) * mask
        for block in self.blocks:
            h = block(h, mask)
        return self.out(h).squeeze(1)


def interface_cnn(num_features: int = 24, width: int = 64, depth: int = 4, kernel: int = 5,
                  dropout: float = 0.2) -> nn.Module:
    return InterfaceCNN(num_features, width, depth, kernel, dropout)
