"""Recommenders: biased matrix factorization, NeuMF, a two-tower model with side features and I-AutoRec.

Every model is called as model(users, items): users (B,), items (B,) or (B, K) -> scores of the
same shape as items; without items it scores the whole catalogue, (B, num_items). Each keeps the
users' known items (to leave them out of recommendations) and the side-feature tables as buffers,
so a checkpoint alone recommends; `attach` fills them, and loading a checkpoint resizes them.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

ATTACHED = ("history_indptr", "history_items", "user_tokens", "item_tokens", "train_matrix")


class _PenalizeRows(torch.autograd.Function):
    """Identity forward; backward adds reg * row / batch to the gradient of each looked-up embedding row.

    That is the gradient of (reg / 2) * mean over the batch of ||row||^2: L2 regularization of only the
    rows a batch uses, as in Funk's SVD, so frequent users and items are regularized more often.
    Weight decay, which shrinks every row at every step, fits sparse embeddings poorly.
    """

    @staticmethod
    def forward(ctx, rows: torch.Tensor, reg: float) -> torch.Tensor:
        ctx.save_for_backward(rows)
        ctx.reg = reg
        return rows.view_as(rows)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (rows,) = ctx.saved_tensors
        return grad + ctx.reg * rows / max(rows.shape[0], 1), None


class Recommender(nn.Module):
    def __init__(self, num_users: int, num_items: int, global_mean: float = 0.0, reg: float = 0.0):
        super().__init__()
        self.num_users, self.num_items, self.reg = num_users, num_items, reg
        self.global_bias = nn.Parameter(torch.tensor(float(global_mean)))
        self.register_buffer("history_indptr", torch.zeros(num_users + 1, dtype=torch.long))
        self.register_buffer("history_items", torch.zeros(0, dtype=torch.long))
        self.register_buffer("user_tokens", torch.zeros(num_users, 0, dtype=torch.long))
        self.register_buffer("item_tokens", torch.zeros(num_items, 0, dtype=torch.long))
        self.register_load_state_dict_pre_hook(self._resize_attached)

    def _resize_attached(self, module, state_dict: dict[str, Any], prefix: str, *args) -> None:
        # these buffers' sizes depend on the data (not on model_args): take the checkpoint's
        for name in ATTACHED:
            if prefix + name in state_dict:
                setattr(self, name, torch.empty_like(state_dict[prefix + name], device=getattr(self, name).device))

    def attach(self, history=None, user_tokens: torch.Tensor | None = None,
               item_tokens: torch.Tensor | None = None, train_ratings=None) -> None:
        """Give the model the users' known items (a data.History) and the padded side-feature tables.

        train_ratings, (users, items, ratings) of the training split, is for models that read ratings
        as input (AutoRec); the others ignore it.
        """
        device = self.global_bias.device
        if history is not None:
            self.history_indptr = torch.as_tensor(history.indptr, dtype=torch.long, device=device)
            self.history_items = torch.as_tensor(history.items, dtype=torch.long, device=device)
        if user_tokens is not None:
            self.user_tokens = user_tokens.to(device)
        if item_tokens is not None:
            self.item_tokens = item_tokens.to(device)

    def known_mask(self, users: torch.Tensor) -> torch.Tensor:
        """(B, num_items) True where the user already has the item."""
        mask = torch.zeros(len(users), self.num_items, dtype=torch.bool, device=users.device)
        for row, user in enumerate(users.tolist()):
            if 0 <= user < self.num_users:
                mask[row, self.history_items[self.history_indptr[user]:self.history_indptr[user + 1]]] = True
        return mask

    def forward(self, users: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
        if items is None:
            return self.score_all(users)
        return self.score(users.view(-1, *([1] * (items.dim() - 1))).expand_as(items), items)

    def score(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def lookup(self, table: nn.Embedding, index: torch.Tensor) -> torch.Tensor:
        """Embedding rows, L2-regularized per use while training (see _PenalizeRows)."""
        rows = table(index)
        if self.training and self.reg and torch.is_grad_enabled():
            rows = _PenalizeRows.apply(rows, self.reg)
        return rows

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        items = torch.arange(self.num_items, device=users.device).expand(len(users), -1)
        return self.score(users[:, None].expand_as(items), items)


def _embedding(n: int, dim: int, std: float) -> nn.Embedding:
    emb = nn.Embedding(n, dim)
    nn.init.normal_(emb.weight, std=std)
    return emb


class BiasedMF(Recommender):
    """r(u, i) = mu + b_u + b_i + p_u . q_i (Koren et al.; the model behind 'SVD' in the Netflix Prize)."""

    def __init__(self, num_users: int, num_items: int, global_mean: float = 0.0, dim: int = 64,
                 init_std: float = 0.05, reg: float = 0.0, user_vocab: int = 1, item_vocab: int = 1):
        super().__init__(num_users, num_items, global_mean, reg)  # side features (vocab sizes) are not used
        self.user_factors, self.item_factors = _embedding(num_users, dim, init_std), _embedding(num_items, dim, init_std)
        self.user_bias, self.item_bias = _embedding(num_users, 1, 0.0), _embedding(num_items, 1, 0.0)

    def score(self, users, items):
        dot = (self.lookup(self.user_factors, users) * self.lookup(self.item_factors, items)).sum(-1)
        return self.global_bias + self.user_bias(users).squeeze(-1) + self.item_bias(items).squeeze(-1) + dot

    def score_all(self, users):
        return (self.global_bias + self.user_bias(users) + self.item_bias.weight.T
                + self.user_factors(users) @ self.item_factors.weight.T)


class NeuMF(Recommender):
    """He et al. 2017: generalized MF (element-wise product) and an MLP over concatenated embeddings, fused by one layer."""

    def __init__(self, num_users: int, num_items: int, global_mean: float = 0.0, dim: int = 32,
                 mlp: str = "64,32,16", dropout: float = 0.0, init_std: float = 0.05, reg: float = 0.0,
                 user_vocab: int = 1, item_vocab: int = 1):
        super().__init__(num_users, num_items, global_mean, reg)
        widths = [int(w) for w in str(mlp).split(",") if w.strip()]
        self.gmf_users, self.gmf_items = _embedding(num_users, dim, init_std), _embedding(num_items, dim, init_std)
        self.mlp_users = _embedding(num_users, widths[0] // 2, init_std)
        self.mlp_items = _embedding(num_items, widths[0] // 2, init_std)
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b), nn.ReLU(), nn.Dropout(dropout)]
        self.mlp = nn.Sequential(*layers)
        self.head = nn.Linear(dim + widths[-1], 1)

    def score(self, users, items):
        gmf = self.lookup(self.gmf_users, users) * self.lookup(self.gmf_items, items)
        deep = self.mlp(torch.cat([self.lookup(self.mlp_users, users), self.lookup(self.mlp_items, items)], -1))
        return self.global_bias + self.head(torch.cat([gmf, deep], -1)).squeeze(-1)


class TwoTower(Recommender):
    """A user tower (id + features such as age, gender, occupation) and an item tower (id + genres, decade).

    Each tower is an MLP over [id embedding, mean of feature embeddings]; the score is their dot product
    plus biases. Features let it place users and items with few interactions.
    """

    def __init__(self, num_users: int, num_items: int, global_mean: float = 0.0, user_vocab: int = 1,
                 item_vocab: int = 1, dim: int = 64, hidden: int = 128, dropout: float = 0.1,
                 init_std: float = 0.05, reg: float = 0.0):
        super().__init__(num_users, num_items, global_mean, reg)
        self.user_ids, self.item_ids = _embedding(num_users, dim, init_std), _embedding(num_items, dim, init_std)
        self.user_features = nn.EmbeddingBag(user_vocab, dim, mode="mean", padding_idx=0)
        self.item_features = nn.EmbeddingBag(item_vocab, dim, mode="mean", padding_idx=0)
        for bag in (self.user_features, self.item_features):
            nn.init.normal_(bag.weight, std=init_std)
        self.user_tower, self.item_tower = (nn.Sequential(nn.Linear(2 * dim, hidden), nn.GELU(), nn.Dropout(dropout),
                                                          nn.Linear(hidden, dim)) for _ in range(2))
        self.user_bias, self.item_bias = _embedding(num_users, 1, 0.0), _embedding(num_items, 1, 0.0)

    @staticmethod
    def _bag(bag: nn.EmbeddingBag, tokens: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        if tokens.shape[1] == 0:  # no side features: the tower sees ids only
            return torch.zeros(*index.shape, bag.embedding_dim, device=index.device)
        flat = tokens[index.reshape(-1)]
        return bag(flat).view(*index.shape, -1)

    def users_vec(self, users: torch.Tensor) -> torch.Tensor:
        return self.user_tower(torch.cat([self.lookup(self.user_ids, users),
                                          self._bag(self.user_features, self.user_tokens, users)], -1))

    def items_vec(self, items: torch.Tensor) -> torch.Tensor:
        return self.item_tower(torch.cat([self.lookup(self.item_ids, items),
                                          self._bag(self.item_features, self.item_tokens, items)], -1))

    def score(self, users, items):
        dot = (self.users_vec(users) * self.items_vec(items)).sum(-1)
        return self.global_bias + self.user_bias(users).squeeze(-1) + self.item_bias(items).squeeze(-1) + dot

    def score_all(self, users):
        every = torch.arange(self.num_items, device=users.device)
        return (self.global_bias + self.user_bias(users) + self.item_bias.weight.T
                + self.users_vec(users) @ self.items_vec(every).T)


class AutoRec(Recommender):
    """Item-based AutoRec (Sedhain et al. 2015): an item's ratings by every user -> sigmoid hidden layer -> all users.

    r(u, i) = mu + (W sigmoid(V x_i + b) + c)[u], x_i the item's training ratings (0 where missing). The
    training matrix is a buffer (train_ratings from `attach`, training split only), so a checkpoint alone
    predicts. While training, each batch's own ratings are hidden from the input it is predicted from, as
    valid and test ratings are, and `dropout` of the other ratings too: the net learns to fill in missing
    ratings instead of copying its input (so a batch should be a small fraction of the training ratings).
    L2 comes from the trainer's weight decay on V and W.
    """

    def __init__(self, num_users: int, num_items: int, global_mean: float = 0.0, hidden: int = 200,
                 dropout: float = 0.2, reg: float = 0.0, user_vocab: int = 1, item_vocab: int = 1):
        super().__init__(num_users, num_items, global_mean, reg)  # side features and reg are not used
        self.dropout = dropout
        self.encoder, self.decoder = nn.Linear(num_users, hidden), nn.Linear(hidden, num_users)
        self.register_buffer("train_matrix", torch.zeros(num_items, num_users))

    def attach(self, history=None, user_tokens=None, item_tokens=None, train_ratings=None) -> None:
        super().attach(history, user_tokens, item_tokens)
        if train_ratings is not None:
            users, items, ratings = (torch.as_tensor(a) for a in train_ratings)
            flat = items.long() * self.num_users + users.long()
            total = torch.zeros(self.num_items * self.num_users).index_add_(0, flat, ratings.float())
            count = torch.zeros_like(total).index_add_(0, flat, torch.ones_like(total[flat]))
            # repeated (user, item) pairs (InstEval's lectures) enter as their mean
            self.train_matrix = (total / count.clamp_min(1)).view(self.num_items, self.num_users).to(
                self.global_bias.device)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.encoder(x))

    def score(self, users, items):
        shape, users, items = items.shape, users.reshape(-1), items.reshape(-1)
        unique, inverse = torch.unique(items, return_inverse=True)
        x = self.train_matrix[unique]
        if self.training:
            if self.dropout:
                x = x * (torch.rand_like(x) >= self.dropout)
            x = x.index_put((inverse, users), x.new_zeros(()))  # the batch's targets, unseen as at test time
        hidden = self.encode(x)[inverse]
        out = (hidden * self.decoder.weight[users]).sum(-1) + self.decoder.bias[users]
        return (self.global_bias + out).view(shape)

    def score_all(self, users):
        every = self.decoder(self.encode(self.train_matrix))  # (num_items, num_users)
        return self.global_bias + every[:, users].T


def biased_mf(num_users: int, num_items: int, **kwargs: Any) -> BiasedMF:
    return BiasedMF(num_users, num_items, **kwargs)


def neumf(num_users: int, num_items: int, **kwargs: Any) -> NeuMF:
    return NeuMF(num_users, num_items, **kwargs)


def two_tower(num_users: int, num_items: int, **kwargs: Any) -> TwoTower:
    return TwoTower(num_users, num_items, **kwargs)


def autorec(num_users: int, num_items: int, **kwargs: Any) -> AutoRec:
    return AutoRec(num_users, num_items, **kwargs)
