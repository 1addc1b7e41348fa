"""A neural ranker from scratch for learning to rank, and the listwise losses it trains with.

ListwiseRanker scores each document of a query from its features: the features are normalised (below), a
per-document MLP embeds them, optionally `attention` self-attention blocks let the documents of one query see each
other (as allRank does, Pobrotyn et al. 2020), and a linear head gives one score per document.

Feature normalisation: x -> sign(x) log(1 + |x|), then standardised with the mean and standard deviation of the
training folds (buffers of the model, so a checkpoint predicts alone). LETOR features are counts, lengths, TF-IDF,
BM25 and link scores with heavy tails (MSLR's feature 130 reaches 16,076, 131 is 65,535 for many documents):
raw or min-max-scaled values leave most documents in a sliver of the range, and per-query scaling throws away
how a document compares with other queries' documents. The symmetric log is what Qin et al. (ICLR 2021) found
neural rankers need to be competitive with GBDTs; features constant on the training folds get a standard
deviation of 1. Training adds Gaussian noise (`noise`) to the normalised features, also after Qin et al.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

NEG = -1e4  # the score of a padded document slot (finite, so that softmax and sorting stay finite)


class ListwiseRanker(nn.Module):
    def __init__(self, num_features: int, hidden: int = 128, layers: int = 2, attention: int = 1, heads: int = 4,
                 dropout: float = 0.1, noise: float = 0.0):
        super().__init__()
        self.noise = noise
        self.register_buffer("mean", torch.zeros(num_features))
        self.register_buffer("std", torch.ones(num_features))
        blocks: list[nn.Module] = []
        width = num_features
        for _ in range(max(1, layers)):
            blocks += [nn.Linear(width, hidden), nn.LayerNorm(hidden), nn.GELU(), nn.Dropout(dropout)]
            width = hidden
        self.encoder = nn.Sequential(*blocks)
        self.attention = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(hidden, heads, 2 * hidden, dropout, activation="gelu", batch_first=True,
                                       norm_first=True), attention, enable_nested_tensor=False) if attention else None
        self.head = nn.Linear(hidden, 1)

    def attach(self, mean: torch.Tensor | None = None, std: torch.Tensor | None = None, **_) -> None:
        """The training folds' statistics of the log-transformed features (see the module's docstring)."""
        if mean is not None:
            self.mean = mean.to(self.mean)
        if std is not None:
            self.std = std.to(self.std)

    def normalise(self, features: torch.Tensor) -> torch.Tensor:
        return (log_features(features) - self.mean) / self.std

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """features (B, L, F) of L document slots, mask (B, L) True for real documents -> scores (B, L)."""
        x = self.normalise(features.float())
        if self.training and self.noise:
            x = x + self.noise * torch.randn_like(x)
        h = self.encoder(x)
        if self.attention is not None:
            h = self.attention(h, src_key_padding_mask=~mask)
        return self.head(h).squeeze(-1).masked_fill(~mask, NEG)


def log_features(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.log1p(x.abs())


def feature_stats(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation of log-transformed features (N, F); 1 where a feature is constant."""
    logged = log_features(features.double())
    std = logged.std(0, unbiased=False)
    return logged.mean(0).float(), torch.where(std > 1e-6, std, torch.ones_like(std)).float()


# -- listwise losses: scores (B, L), labels (B, L) with -1 in padded slots ----------------------------------
def listnet(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """ListNet (Cao et al. 2007): cross-entropy between the top-one distributions of the labels and the scores."""
    real = labels >= 0
    target = torch.softmax(labels.masked_fill(~real, -math.inf), -1)
    log_p = torch.log_softmax(scores.masked_fill(~real, NEG), -1)
    return -(target * log_p).masked_fill(~real, 0).sum(-1).mean()


def lambdaloss(scores: torch.Tensor, labels: torch.Tensor, mu: float = 10.0, sigma: float = 1.0) -> torch.Tensor:
    """LambdaLoss with the NDCG-Loss2++ weights (Wang et al. 2018): a bound on NDCG over every pair of documents of
    different relevance, in the order the scores give. Queries are summed and divided by the batch size."""
    real = labels >= 0
    n = labels.shape[1]
    order = scores.masked_fill(~real, -math.inf).argsort(-1, descending=True)
    s = scores.gather(1, order)
    y = labels.gather(1, order)
    ok = real.gather(1, order)
    gains = torch.where(ok, torch.pow(2.0, y.clamp_min(0)) - 1, torch.zeros_like(y))
    positions = torch.arange(1, n + 1, device=scores.device, dtype=scores.dtype)
    discount = torch.log2(1 + positions)  # D_i
    ideal = (gains.sort(-1, descending=True).values / discount).sum(-1, keepdim=True).clamp_min(1e-10)
    g = gains / ideal  # G_i
    # ndcgLoss2 weights: |1/D_{|i-j|} - 1/D_{|i-j|+1}| |G_i - G_j|; plus LambdaRank's |1/D_i - 1/D_j| |G_i - G_j|
    gap = (positions[:, None] - positions[None, :]).abs().long()
    inv = torch.cat([torch.zeros(1, device=scores.device, dtype=scores.dtype), 1 / discount])  # 1/D_0 := 0
    delta = (inv[gap.clamp(max=n)] - inv[(gap + 1).clamp(max=n)]).abs()
    delta.fill_diagonal_(0)
    g_gap = (g[:, :, None] - g[:, None, :]).abs()
    weights = mu * delta[None] * g_gap + (1 / discount[None, :, None] - 1 / discount[None, None, :]).abs() * g_gap
    pairs = (y[:, :, None] > y[:, None, :]) & ok[:, :, None] & ok[:, None, :]
    diff = (s[:, :, None] - s[:, None, :]).clamp(-1e8, 1e8)
    log_p = F.logsigmoid(sigma * diff) * weights  # log2 of (sigmoid^weights), up to the constant 1/ln 2
    return -(log_p / math.log(2)).masked_fill(~pairs, 0).sum() / max(1, labels.shape[0])


LOSSES = {"listnet": listnet, "lambdaloss": lambdaloss}


def ranker(num_features: int, **kwargs) -> ListwiseRanker:
    return ListwiseRanker(num_features, **kwargs)
