"""Monte Carlo tree search with a policy-value network (PUCT, as in AlphaZero), over many games at once.

Written by hand: the search is a few dozen lines, and no maintained library runs it over a batch of trees
with a torch network evaluating the leaves of all of them in one call, which is what makes self-play
affordable on a CPU. Each simulation descends every tree to one new leaf; the leaves of all trees are
evaluated together; values are backed up with their sign flipped at each ply (two players, zero sum).
With `solve` (when playing; self-play keeps the plain search, whose visit targets train better), game ends found
by the search are proved back up the tree (an MCTS-solver): a move proved to win is always taken, and a move
proved lost is not searched again while another remains.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import Callable

import numpy as np
import torch

from .games import Game


class Node:
    """A position in the tree. Edge statistics live in the parent as arrays over its legal actions."""

    __slots__ = ("state", "terminal", "proven", "actions", "prior", "n", "w", "exact", "children", "visits",
                 "value_sum")

    def __init__(self, state, terminal: float | None):
        self.state, self.terminal = state, terminal
        self.proven = terminal  # the exact value for the player to move, once the search has proved it
        self.actions = None  # legal actions once expanded
        self.prior = self.n = self.w = self.exact = None
        self.children: list[Node | None] = []
        self.visits, self.value_sum = 0, 0.0

    @property
    def expanded(self) -> bool:
        return self.actions is not None

    def expand(self, legal: np.ndarray, probs: np.ndarray) -> None:
        self.actions = np.flatnonzero(legal)
        p = probs[self.actions].astype(np.float64)
        total = p.sum()
        self.prior = p / total if total > 0 else np.full(len(p), 1.0 / len(p))
        self.n = np.zeros(len(self.actions))
        self.w = np.zeros(len(self.actions))
        self.exact = np.full(len(self.actions), np.nan)  # each move's proved value for this node's player
        self.children = [None] * len(self.actions)

    def policy(self, size: int) -> np.ndarray:
        """Visit counts as a distribution over all `size` actions."""
        out = np.zeros(size, dtype=np.float32)
        out[self.actions] = self.n / max(self.n.sum(), 1)
        return out

    def q(self) -> float:
        """Value of the position for the player to move: proved, else the mean of the search."""
        if self.proven is not None:
            return float(self.proven)
        return self.value_sum / self.visits if self.visits else 0.0

    def child(self, action: int) -> Node | None:
        if not self.expanded:
            return None
        i = np.flatnonzero(self.actions == action)
        return self.children[int(i[0])] if len(i) else None


Evaluate = Callable[[list], list[tuple[np.ndarray, float]]]


class NetEvaluator:
    """Priors (over all actions, illegal ones zero) and values of states from a policy-value network, batched,
    with a cache of positions already seen (the network does not change while it is used)."""

    def __init__(self, model: torch.nn.Module, game: Game, device: torch.device | str = "cpu",
                 cache_size: int = 200_000):
        from .models import fold_batchnorm

        self.model, self.game, self.device = fold_batchnorm(model), game, torch.device(device)
        self.cache: OrderedDict = OrderedDict()
        self.cache_size = cache_size
        self.positions = 0  # positions the network evaluated

    @torch.inference_mode()
    def __call__(self, states: list) -> list[tuple[np.ndarray, float]]:
        keys = [self.game.key(s) for s in states]
        todo: dict = {}
        for k, s in zip(keys, states):
            if k not in self.cache and k not in todo:
                todo[k] = s
        if todo:
            batch = list(todo.values())
            planes = torch.from_numpy(np.stack([self.game.encode(s) for s in batch])).to(self.device)
            legal = torch.from_numpy(np.stack([self.game.legal(s) for s in batch])).to(self.device)
            out = self.model(planes=planes, legal=legal)
            probs = out["policy"].float().masked_fill(~legal, -1e9).softmax(-1).cpu().numpy()
            values = out["value"].float().reshape(-1).cpu().numpy()
            self.positions += len(batch)
            for i, k in enumerate(todo):
                self.cache[k] = (probs[i], float(values[i]))
            while len(self.cache) > self.cache_size:
                self.cache.popitem(last=False)
        return [self.cache[k] for k in keys]


class MCTS:
    """PUCT search: a child's score is Q + c_puct * P * sqrt(visits of the parent) / (1 + its visits); an
    unvisited child is valued at the parent's value minus `fpu` (first-play urgency)."""

    def __init__(self, game: Game, evaluate: Evaluate, c_puct: float = 1.5, fpu: float = 0.2,
                 dirichlet_alpha: float = 0.3, noise: float = 0.25, solve: bool = False):
        self.game, self.evaluate, self.solve = game, evaluate, solve
        self.c_puct, self.fpu, self.alpha, self.noise = c_puct, fpu, dirichlet_alpha, noise

    def root(self, state) -> Node:
        return Node(state, self.game.result(state))

    def _expand(self, nodes: list[Node]) -> list[float]:
        evaluated = self.evaluate([n.state for n in nodes])
        values = []
        for node, (probs, value) in zip(nodes, evaluated):
            node.expand(self.game.legal(node.state), probs)
            values.append(value)
        return values

    def add_noise(self, root: Node, rng: np.random.Generator) -> None:
        """Dirichlet noise on the root's priors, so self-play explores moves the network does not yet like."""
        if self.noise and root.expanded and len(root.actions) > 1:
            root.prior = (1 - self.noise) * root.prior + self.noise * rng.dirichlet([self.alpha] * len(root.actions))

    def _select(self, node: Node) -> int:
        if self.solve and (node.exact == 1).any():
            return int(np.argmax(node.exact == 1))
        sqrt_visits = math.sqrt(node.visits)
        fpu = node.q() - self.fpu
        q = np.where(node.n > 0, node.w / np.maximum(node.n, 1), fpu)
        if self.solve:
            q = np.where(np.isnan(node.exact), q, node.exact)
        score = q + self.c_puct * node.prior * sqrt_visits / (1 + node.n)
        if self.solve:
            lost = node.exact == -1
            if lost.any() and not lost.all():  # lost whatever it plays: the visits still spread
                score = np.where(lost, -np.inf, score)
        return int(np.argmax(score))

    @staticmethod
    def _backup(path: list[tuple[Node, int]], leaf: Node, value: float) -> None:
        """`value` is the leaf's, for its player to move; each ply up it changes sides."""
        leaf.visits += 1
        leaf.value_sum += value
        for node, i in reversed(path):
            value = -value
            node.n[i] += 1
            node.w[i] += value
            node.visits += 1
            node.value_sum += value

    @staticmethod
    def _prove(path: list[tuple[Node, int]]) -> None:
        """Carry a proof at the end of `path` up: a node is won if one move wins, lost or drawn once every
        move is proved (its value the best of theirs)."""
        for node, i in reversed(path):
            child = node.children[i]
            if child is None or child.proven is None:
                return
            node.exact[i] = -child.proven
            if node.exact[i] == 1:
                node.proven = 1.0
            elif not np.isnan(node.exact).any():
                node.proven = float(node.exact.max())
            else:
                return

    def search(self, roots: list[Node], simulations: int, rng: np.random.Generator | None = None) -> None:
        """Grow each root's tree to at least `simulations` visits (trees kept from earlier moves count);
        with `rng`, Dirichlet noise goes on the roots' priors first."""
        live = [r for r in roots if r.terminal is None]
        fresh = [r for r in live if not r.expanded]
        if fresh:
            for node, value in zip(fresh, self._expand(fresh)):
                node.visits, node.value_sum = 1, value
        if rng is not None:
            for r in live:
                self.add_noise(r, rng)
        while True:
            live = [r for r in live if r.visits < simulations]
            if not live:
                return
            leaves, paths = [], []
            for root in live:
                node, path = root, []
                while node.expanded and (node.proven is None or not path):  # a proved root still spreads visits
                    i = self._select(node)
                    path.append((node, i))
                    child = node.children[i]
                    if child is None:
                        state = self.game.next(node.state, int(node.actions[i]))
                        child = node.children[i] = Node(state, self.game.result(state))
                    node = child
                if node.proven is not None:
                    self._backup(path, node, node.proven)
                    if self.solve:
                        self._prove(path)
                else:
                    leaves.append(node)
                    paths.append(path)
            if leaves:
                for node, path, value in zip(leaves, paths, self._expand(leaves)):
                    self._backup(path, node, value)


def pick(root: Node, temperature: float, rng: np.random.Generator | None) -> int:
    """The move to play from a searched root: a proved win, else the most visited (temperature 0) or one sampled by
    visits^(1/T), leaving out moves proved lost while another remains."""
    wins = np.flatnonzero(root.exact == 1)
    if len(wins):
        return int(root.actions[wins[0]])
    n = np.where(root.exact == -1, -1.0, root.n) if (root.exact != -1).any() else root.n
    if temperature <= 0 or rng is None or n.max() <= 0:
        best = np.flatnonzero(n == n.max())
        return int(root.actions[best[0]])
    weights = np.maximum(n, 0) ** (1.0 / temperature)
    return int(root.actions[rng.choice(len(root.actions), p=weights / weights.sum())])
