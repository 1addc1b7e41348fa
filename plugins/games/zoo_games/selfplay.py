"""AlphaZero-style self-play as a zoo DataGenerator: each round, games of the current network against itself
(MCTS with Dirichlet noise at the root, moves sampled by visit count early on), every position labelled with
the search's visit distribution (policy target) and the game's outcome for the player to move (value target),
kept in a replay buffer the shared trainer samples from."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from zoo.data import DataGenerator, ReplayBuffer

from .games import Game, action_permutations, transform
from .mcts import MCTS, NetEvaluator, pick


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """A numpy generator's state as JSON values (its 128-bit integers as strings)."""
    state = rng.bit_generator.state
    return {"bit_generator": state["bit_generator"], "state": str(state["state"]["state"]),
            "inc": str(state["state"]["inc"]), "has_uint32": int(state["has_uint32"]),
            "uinteger": int(state["uinteger"])}


def set_rng_state(rng: np.random.Generator, saved: dict[str, Any]) -> None:
    rng.bit_generator.state = {"bit_generator": saved["bit_generator"],
                               "state": {"state": int(saved["state"]), "inc": int(saved["inc"])},
                               "has_uint32": int(saved["has_uint32"]), "uinteger": int(saved["uinteger"])}


class SelfPlay(DataGenerator):
    """`games` games a round, `simulations` MCTS visits per move; the first `temperature_moves` plies are sampled
    in proportion to visit counts, the rest are the most visited move. The value target is the outcome z, or
    (1 - q_weight) z + q_weight q with q the root's search value. With `opening_plies`, each game starts from a
    random opening of 0 to `opening_plies` uniformly random moves (drawn per game, not trained on), so that the
    network learns positions its own play from the empty board never reaches."""

    def __init__(self, game: Game, games: int, simulations: int, capacity: int, seed: int,
                 temperature_moves: int = 4, c_puct: float = 1.5, dirichlet_alpha: float = 0.3, noise: float = 0.25,
                 q_weight: float = 0.0, fpu: float = 0.2, random_plies: int = 0, opening_plies: int = 0):
        self.game, self.games, self.simulations = game, games, simulations
        self.random_plies, self.opening_plies = random_plies, opening_plies
        self.temperature_moves, self.q_weight = temperature_moves, q_weight
        self.search_args = {"c_puct": c_puct, "dirichlet_alpha": dirichlet_alpha, "noise": noise, "fpu": fpu}
        self.buffer = ReplayBuffer(capacity)
        self.rng = np.random.default_rng(seed)
        self.played = 0  # games played so far, all rounds
        self.positions = 0  # network evaluations, all rounds
        self.last: dict[str, float] = {}  # figures of the last round (first player's score, game length)

    def generate(self, model, round, device) -> None:
        game = self.game
        evaluator = NetEvaluator(model, game, device)
        mcts = MCTS(game, evaluator, **self.search_args)
        roots = [mcts.root(self.opening()) for _ in range(self.games)]
        records: list[list[tuple[np.ndarray, np.ndarray, np.ndarray, float]]] = [[] for _ in roots]
        outcomes: list[float | None] = [None] * self.games
        ply = 0
        while True:
            live = [i for i in range(self.games) if outcomes[i] is None]
            if not live:
                break
            mcts.search([roots[i] for i in live], self.simulations, self.rng)
            temperature = 1.0 if ply < self.temperature_moves else 0.0
            for i in live:
                root = roots[i]
                records[i].append((game.encode(root.state), game.legal(root.state),
                                   root.policy(game.num_actions), root.q()))
                if ply < self.random_plies:  # openings the network would not choose get searched and learnt too
                    action = int(self.rng.choice(root.actions))
                else:
                    action = pick(root, temperature, self.rng)
                child = root.child(action)
                roots[i] = child if child is not None else mcts.root(game.next(root.state, action))
                if roots[i].terminal is not None:
                    outcomes[i] = roots[i].terminal  # for the player to move after the last move
            ply += 1
        planes, legal, policy, value = [], [], [], []
        firsts = []
        for record, final in zip(records, outcomes):
            n = len(record)
            for p, (x, m, pi, q) in enumerate(record):
                z = final if (n - p) % 2 == 0 else -final  # the final state is n plies after position p
                planes.append(x)
                legal.append(m)
                policy.append(pi)
                value.append((1 - self.q_weight) * z + self.q_weight * q)
            mine = final if n % 2 == 0 else -final  # for the first player
            firsts.append((mine + 1) / 2)
        self.buffer.add({"planes": torch.from_numpy(np.stack(planes)), "legal": torch.from_numpy(np.stack(legal))},
                        {"policy": torch.from_numpy(np.stack(policy)),
                         "value": torch.tensor(value, dtype=torch.float32)})
        self.played += self.games
        self.positions += evaluator.positions
        self.last = {"first_player_score": float(np.mean(firsts)), "plies": float(np.mean([len(r) for r in records]))}

    def opening(self):
        """The empty board, or with `opening_plies` a position after 0 to `opening_plies` random moves (a game
        that would end within them is drawn again)."""
        game = self.game
        for _ in range(100):
            state = game.initial()
            for _ in range(int(self.rng.integers(0, self.opening_plies + 1)) if self.opening_plies else 0):
                state = game.next(state, int(self.rng.choice(np.flatnonzero(game.legal(state)))))
                if game.result(state) is not None:
                    break
            if game.result(state) is None:
                return state
        return game.initial()

    def dataset(self):
        return self.buffer

    def state_dict(self):
        return {"buffer": self.buffer.state_dict(), "rng": rng_state(self.rng), "played": self.played,
                "positions": self.positions, "last": self.last}

    def load_state_dict(self, state) -> None:
        self.buffer.load_state_dict(state["buffer"])
        set_rng_state(self.rng, state["rng"])
        self.played, self.positions = int(state["played"]), int(state["positions"])
        self.last = dict(state.get("last") or {})


class Symmetries:
    """Training augmentation: each position turned by one of the board's symmetries at random, its legal moves
    and visit distribution permuted alike (the value does not change)."""

    def __init__(self, game: Game):
        self.names = game.symmetries
        self.perms = torch.from_numpy(action_permutations(game))

    def __call__(self, x, y):
        if len(self.names) == 1:
            return x, y
        n = x["planes"].shape[0]
        which = torch.randint(len(self.names), (n,), device=x["planes"].device)
        planes, legal, policy = x["planes"].clone(), x["legal"].clone(), y["policy"].clone()
        perms = self.perms.to(which.device)
        for s, name in enumerate(self.names):
            idx = (which == s).nonzero().reshape(-1)
            if s == 0 or len(idx) == 0:
                continue
            planes[idx] = transform(x["planes"][idx], name).contiguous()
            legal[idx] = x["legal"][idx][:, perms[s]]
            if y["policy"].dim() == 2:  # a distribution over the actions; an action index (chess) is not turned
                policy[idx] = y["policy"][idx][:, perms[s]]
        return {**x, "planes": planes, "legal": legal}, {**y, "policy": policy}
