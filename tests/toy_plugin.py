"""A small plugin that uses each extension of the trainer end to end, for the core's tests.

- toy/tictactoe-selfplay: data made during training (self-play rounds into a replay buffer), evaluation by
  playing (win rate against a random player), a tournament callback; its value network learns that the
  centre is the best opening.
- toy/denoise: targets that move with the inputs (flips of noisy and clean images together), test-time flips
  undone on the output, `zoo predict --out` writing images.
- toy/points, toy/points-multi: 2-D point regression (one prediction per sample), and the same with a second
  head (which quadrant) through MultiTask.

Registered in-process by `register()`, and for a `zoo` subprocess by `python -m toy_plugin ARGS...`.
"""
from __future__ import annotations

import sys

import torch
import torch.nn.functional as F
from torch import nn

from dataclasses import dataclass

from zoo import DatasetSpec, ModelSpec, RecipeSpec, ZooError, hookimpl
from zoo.config import EvaluatedSettings, RoundSettings
from zoo.data import DataBundle, DataGenerator, ReplayBuffer, TensorPairs
from zoo.tasks import Task
from zoo.tasks.multi import MultiTask
from zoo.tasks.regression import RegressionTask
from zoo.training.callbacks import Callback

# -- tic-tac-toe ------------------------------------------------------------------------------
LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


def winner(board: list[int]) -> int:
    for a, b, c in LINES:
        if board[a] and board[a] == board[b] == board[c]:
            return board[a]
    return 0


def encode(boards: list[list[int]]) -> torch.Tensor:
    b = torch.tensor(boards, dtype=torch.float32)
    return torch.cat([(b == 1).float(), (b == -1).float()], 1)  # N x 18: X's cells, O's cells


def greedy_move(model: nn.Module, board: list[int], player: int) -> int:
    """The move whose position the value network (X's expected outcome) likes best for `player`."""
    moves = [i for i in range(9) if board[i] == 0]
    after = [[player if j == m else v for j, v in enumerate(board)] for m in moves]
    values = model(encode(after).to(next(model.parameters()).device)).reshape(-1) * player
    return moves[int(values.argmax())]


def play(x_move, o_move) -> int:
    """One game; each side a function board -> move. The winner: 1 (X), -1 (O), 0 (draw)."""
    board, player = [0] * 9, 1
    while True:
        board[(x_move if player == 1 else o_move)(board)] = player
        if winner(board) or 0 not in board:
            return winner(board)
        player = -player


def rollouts(board: list[int], count: int, rng: torch.Generator) -> float:
    """X's mean outcome over `count` games played on from `board` by random moves: a cheap engine."""
    total = 0
    for _ in range(count):
        b = list(board)
        while not winner(b) and 0 in b:
            empty = [i for i in range(9) if b[i] == 0]
            b[empty[int(torch.randint(len(empty), (), generator=rng))]] = 1 if b.count(1) == b.count(-1) else -1
        total += winner(b)
    return total / count


class SelfPlay(DataGenerator):
    """Games of the value network against itself from a random opening, exploring at random a share of the
    other moves; every position reached is labelled by an engine (the mean outcome of random rollouts from
    it; with rollouts=0, the game's own outcome) and kept in a replay buffer."""

    def __init__(self, games: int, capacity: int, explore: float, seed: int, fail_in_round: int = 0,
                 rollouts: int = 8):
        self.games, self.explore, self.fail_in_round, self.rollouts = games, explore, fail_in_round, rollouts
        self.buffer = ReplayBuffer(capacity)
        self.rng = torch.Generator().manual_seed(seed)

    def generate(self, model, round, device) -> None:
        if round + 1 == self.fail_in_round:
            raise RuntimeError("the engine crashed")
        positions, outcomes = [], []
        for _ in range(self.games):
            seen: list[list[int]] = []

            def move(board, player=None):
                player = 1 if board.count(1) == board.count(-1) else -1
                empty = [i for i in range(9) if board[i] == 0]
                if not seen or float(torch.rand((), generator=self.rng)) < self.explore:  # openings all at random
                    choice = empty[int(torch.randint(len(empty), (), generator=self.rng))]
                else:
                    choice = greedy_move(model, board, player)
                seen.append([player if j == choice else v for j, v in enumerate(board)])
                return choice

            result = play(move, move)
            positions += seen
            if self.rollouts:
                outcomes += [rollouts(b, self.rollouts, self.rng) for b in seen]
            else:
                outcomes += [float(result)] * len(seen)
        self.buffer.add(encode(positions), torch.tensor(outcomes).unsqueeze(1))

    def dataset(self):
        return self.buffer

    def state_dict(self):
        return {"buffer": self.buffer.state_dict(), "rng": self.rng.get_state()}

    def load_state_dict(self, state) -> None:
        self.buffer.load_state_dict(state["buffer"])
        self.rng.set_state(state["rng"])


def turn(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each position turned by one of the board's 8 symmetries at random; its value does not change."""
    boards = x.view(-1, 2, 3, 3)
    turns = torch.randint(4, (x.shape[0],), device=x.device)
    mirror = torch.rand(x.shape[0], device=x.device) < 0.5
    out = torch.stack([boards[i].rot90(int(turns[i]), (1, 2)) for i in range(x.shape[0])])
    out = torch.where(mirror.view(-1, 1, 1, 1), out.flip(-1), out)
    return out.reshape(x.shape), y


def tictactoe(data=None, seed: int = 0, games: int = 150, capacity: int = 4000, explore: float = 0.3,
              rollouts: int = 8, symmetries: bool = True, fail_in_round: int = 0, poison: bool = False) -> DataBundle:
    generator = SelfPlay(games, capacity, explore, seed, fail_in_round, rollouts)
    if poison:  # a round whose targets are NaN, for the non-finite guard
        generate = generator.generate

        def poisoned(model, round, device):
            generate(model, round, device)
            if round == 1:
                generator.buffer.y[-1] = float("nan")
        generator.generate = poisoned
    return DataBundle(train=None, valid=None, generator=generator, augment=turn if symmetries else None,
                      info={"target_dims": 1})


def value_net(hidden: int = 64) -> nn.Module:
    return nn.Sequential(nn.Linear(18, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, 1), nn.Tanh())


def random_player(board: list[int]) -> int:
    empty = [i for i in range(9) if board[i] == 0]
    return empty[int(torch.randint(len(empty), ()))]


class ValueTask(RegressionTask):
    """The value of a position for X, evaluated by playing a random player, half the games as each side."""

    monitor = "win_rate"
    directions = {**RegressionTask.directions, "win_rate": "max", "loss_rate": "min"}

    def evaluate_model(self, model, dataset, split, budget, device):
        results = []
        for game in range(budget):
            if game % 2 == 0:
                results.append(play(lambda b: greedy_move(model, b, 1), random_player))
            else:
                results.append(-play(random_player, lambda b: greedy_move(model, b, -1)))
        return {"win_rate": sum(r == 1 for r in results) / budget, "loss_rate": sum(r == -1 for r in results) / budget}


def read_board(text: str, info) -> torch.Tensor:
    """'x...o....' (x, o, or . for each of the 9 cells, row by row)."""
    cells = {"x": 1, "o": -1, ".": 0}
    if len(text) != 9 or set(text.lower()) - set(cells):
        raise ZooError(f"{text!r}: a board is 9 characters of x, o and .")
    return encode([[cells[c] for c in text.lower()]])[0]


class Tournament(Callback):
    """Each round, the network plays the network of the round before: its score goes into the row.

    With TOY_KILL_AT_STEP=N in the environment it also kills its own process with SIGKILL at step N (for the
    exact-resume test: a real SIGKILL at a known moment).
    """

    directions = {"vs_previous": "max"}

    def __init__(self, config):
        import os

        self.previous = None
        self.kill_at = int(os.environ.get("TOY_KILL_AT_STEP", 0))

    def on_step_end(self, trainer, loss) -> None:
        if trainer.step == self.kill_at:
            import os
            import signal
            os.kill(os.getpid(), signal.SIGKILL)

    def on_evaluate(self, trainer, row) -> None:
        import copy

        model = trainer.eval_model()
        if self.previous is not None:
            with torch.no_grad():
                first = play(lambda b: greedy_move(model, b, 1), lambda b: greedy_move(self.previous, b, -1))
                second = -play(lambda b: greedy_move(self.previous, b, 1), lambda b: greedy_move(model, b, -1))
            row["valid_vs_previous"] = (first + second + 2) / 4  # 1: won both, 0.5: even, 0: lost both
        else:
            row["valid_vs_previous"] = 0.5
        self.previous = copy.deepcopy(model).eval()


# -- denoising: targets that move with the inputs ---------------------------------------------
def smooth_images(n: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """Soft blobs and a slanted ramp: no two images alike, and none symmetric under a flip."""
    rows = torch.linspace(0, 1, size).view(1, size, 1)
    cols = torch.linspace(0, 1, size).view(1, 1, size)
    u = torch.rand(n, 7, generator=generator)
    images = 0.3 * (u[:, 0].view(n, 1, 1) * rows + (1 - u[:, 0]).view(n, 1, 1) * cols ** 2)
    for k in (1, 4):
        cy, cx = u[:, k].view(n, 1, 1), u[:, k + 1].view(n, 1, 1)
        width = 0.05 + 0.15 * u[:, k + 2].view(n, 1, 1)
        images = images + 0.6 * torch.exp(-((rows - cy) ** 2 + (cols - cx) ** 2) / (2 * width ** 2))
    return images.clamp(0, 1).unsqueeze(1)


def flip_pairs(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Flip half the samples left-right, the noisy input and its clean target alike."""
    flip = (torch.rand(x.shape[0], device=x.device) < 0.5).view(-1, 1, 1, 1)
    return torch.where(flip, x.flip(-1), x), torch.where(flip, y.flip(-1), y)


def denoise(data=None, seed: int = 0, count: int = 384, size: int = 16, sigma: float = 0.15) -> DataBundle:
    g = torch.Generator().manual_seed(seed)
    clean = smooth_images(count, size, g)
    noisy = clean + sigma * torch.randn(clean.shape, generator=g)
    a, b = int(count * 0.7), int(count * 0.85)
    return DataBundle(train=TensorPairs(noisy[:a], clean[:a]), valid=TensorPairs(noisy[a:b], clean[a:b]),
                      test=TensorPairs(noisy[b:], clean[b:]), augment=flip_pairs, info={"size": size})


class Denoiser(nn.Module):
    """A tiny DnCNN: predicts the noise and subtracts it (a skip connection from input to output)."""

    def __init__(self, width: int = 24):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, width, 3, padding=1),
                                  nn.ReLU(), nn.Conv2d(width, 1, 3, padding=1))

    def forward(self, x):
        return x - self.body(x)


class DenoiseTask(Task):
    monitor = "psnr"
    follows_input = True

    def loss(self, output, target):
        return F.mse_loss(output.float(), target.float())

    def metrics(self):
        from torchmetrics import MetricCollection
        from torchmetrics.image import PeakSignalNoiseRatio
        return MetricCollection({"psnr": PeakSignalNoiseRatio(data_range=1.0)})

    def update_metrics(self, metrics, output, target) -> None:
        metrics.update(output.float().clamp(0, 1), target.float())

    def predict(self, output):
        return [{"mean": round(float(o.mean()), 4)} for o in output]

    def write_output(self, output, prediction, stem):
        from PIL import Image

        path = stem.with_name(stem.name + ".denoised.png")
        Image.fromarray((output[0].clamp(0, 1) * 255).round().byte().cpu().numpy()).save(path)
        return [path]


def read_png(text: str, info) -> torch.Tensor:
    from PIL import Image

    return torch.from_numpy(__import__("numpy").asarray(Image.open(text).convert("L"), dtype="float32") / 255)[None]


# -- points: vector regression, and a second head ----------------------------------------------
def points(data=None, seed: int = 0, count: int = 512, size: int = 16, multi: bool = False) -> DataBundle:
    g = torch.Generator().manual_seed(seed)
    centre = 0.15 + 0.7 * torch.rand(count, 2, generator=g)
    grid = torch.linspace(0, 1, size)
    ys, xs = grid.view(1, size, 1), grid.view(1, 1, size)
    images = torch.exp(-((xs - centre[:, 0].view(-1, 1, 1)) ** 2 + (ys - centre[:, 1].view(-1, 1, 1)) ** 2) / 0.005)
    images = (images + 0.1 * torch.randn(images.shape, generator=g)).unsqueeze(1)
    quadrant = (centre[:, 0] > 0.5).long() + 2 * (centre[:, 1] > 0.5).long()
    a, b = int(count * 0.7), int(count * 0.85)

    def part(lo, hi):
        if multi:
            return [(images[i], {"point": centre[i], "quadrant": quadrant[i]}) for i in range(lo, hi)]
        return TensorPairs(images[lo:hi], centre[lo:hi])
    info = {"target_dims": 2, "target_names": ["x", "y"], "num_classes": 4}
    return DataBundle(train=part(0, a), valid=part(a, b), test=part(b, count), info=info,
                      model_args={"multi": multi})


class PointNet(nn.Module):
    def __init__(self, multi: bool = False, width: int = 16):
        super().__init__()
        self.multi = multi
        self.body = nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.Flatten(),
                                  nn.Linear(width * 64, 64), nn.ReLU())
        self.point = nn.Linear(64, 2)
        self.quadrant = nn.Linear(64, 4) if multi else None

    def forward(self, x):
        h = self.body(x)
        if self.multi:
            return {"point": self.point(h), "quadrant": self.quadrant(h)}
        return self.point(h)


class QuadrantShare(Callback):
    """Adds a figure that is the same every epoch (the valid split's share of points in the first quadrant):
    for the test of a last epoch that ties the best."""

    directions = {"quadrant_share": "max"}

    def __init__(self, config):
        pass

    def on_evaluate(self, trainer, row) -> None:
        centres = torch.stack([trainer.data.valid[i][1] for i in range(len(trainer.data.valid))])
        row["valid_quadrant_share"] = float(((centres[:, 0] <= 0.5) & (centres[:, 1] <= 0.5)).float().mean())


class PointAndQuadrant(MultiTask):
    heads = {"point": ("regression", 1.0), "quadrant": ("classification", 0.5)}
    monitor = "point_distance"


# -- blobs: plain classification, multi-class and binary ------------------------------------------
def blobs(data=None, seed: int = 0, classes: int = 4) -> DataBundle:
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, 16, generator=g) * 2
    y = torch.randint(classes, (600,), generator=g)
    x = centres[y] + torch.randn(600, 16, generator=g)
    names = [f"class-{c}" for c in range(classes)]
    part = lambda a, b: TensorPairs(x[a:b], y[a:b] if classes > 2 else y[a:b].float())  # noqa: E731
    return DataBundle(train=part(0, 400), valid=part(400, 500), test=part(500, 600),
                      model_args={"outputs": classes if classes > 2 else 1},
                      info={"num_classes": classes, "classes": names})


def mlp(outputs: int = 4) -> nn.Module:
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, outputs))


# -- the plugin ------------------------------------------------------------------------------
TINY = {"grad_stats_every": 0, "device": "cpu", "threads": 1}


@hookimpl
def zoo_datasets():
    return [
        DatasetSpec(name="toy/tictactoe", summary="self-play positions", factory="toy_plugin:tictactoe",
                    task="regression", reader="toy_plugin:read_board"),
        DatasetSpec(name="toy/smooth", summary="noisy smooth images", factory="toy_plugin:denoise", task="denoise",
                    reader="toy_plugin:read_png"),
        DatasetSpec(name="toy/points", summary="a blob's centre", factory="toy_plugin:points", task="regression"),
        DatasetSpec(name="toy/blobs", summary="Gaussian clusters", factory="toy_plugin:blobs", task="classification"),
    ]


@hookimpl
def zoo_models():
    return [ModelSpec(name="toy/value-mlp", summary="value MLP", factory="toy_plugin:value_net"),
            ModelSpec(name="toy/dncnn", summary="tiny DnCNN", factory="toy_plugin:Denoiser"),
            ModelSpec(name="toy/pointnet", summary="CNN to a point", factory="toy_plugin:PointNet"),
            ModelSpec(name="toy/mlp", summary="MLP", factory="toy_plugin:mlp")]


@dataclass
class SelfPlaySettings(EvaluatedSettings, RoundSettings):
    """Self-play rounds, judged by games."""


@hookimpl
def zoo_recipes():
    return [
        RecipeSpec(name="toy/tictactoe-selfplay", summary="self-play value learning", dataset="toy/tictactoe",
                   model="toy/value-mlp", task="toy_plugin:ValueTask", callbacks=("toy_plugin:Tournament",),
                   task_settings="toy_plugin:SelfPlaySettings",
                   defaults={**TINY, "epochs": 6, "task.steps_per_round": 40, "batch_size": 64, "lr": 3e-3,
                             "task.eval_budget": 40, "warmup": 0.1}),
        RecipeSpec(name="toy/denoise", summary="denoise with flips", dataset="toy/smooth", model="toy/dncnn",
                   task="toy_plugin:DenoiseTask", defaults={**TINY, "epochs": 4, "batch_size": 32, "lr": 3e-3,
                                                            "task.tta": "hflip,vflip", "weight_decay": 0.0}),
        RecipeSpec(name="toy/points", summary="a point from an image", dataset="toy/points", model="toy/pointnet",
                   task="regression", callbacks=("toy_plugin:QuadrantShare",),
                   defaults={**TINY, "epochs": 6, "batch_size": 32, "lr": 3e-3}),
        RecipeSpec(name="toy/blobs", summary="4 clusters", dataset="toy/blobs", model="toy/mlp",
                   task="classification", defaults={**TINY, "epochs": 3, "batch_size": 32, "lr": 1e-2}),
        RecipeSpec(name="toy/blobs-binary", summary="2 clusters", dataset="toy/blobs", model="toy/mlp",
                   task="binary", defaults={**TINY, "epochs": 3, "batch_size": 32, "lr": 1e-2, "data.classes": 2}),
        RecipeSpec(name="toy/points-multi", summary="a point and its quadrant", dataset="toy/points",
                   model="toy/pointnet", task="toy_plugin:PointAndQuadrant",
                   task_settings="zoo.config:ClassifierSettings",
                   defaults={**TINY, "epochs": 6, "batch_size": 32, "lr": 3e-3, "data.multi": True}),
    ]


def register() -> None:
    """Add this module to the process's plugin manager (once)."""
    from zoo.plugins import PluginStatus, get_manager

    manager = get_manager()
    if not any(s.name == "zoo-toy" for s in manager.statuses):
        manager.add_plugin(sys.modules[__name__], PluginStatus(name="zoo-toy"))


if __name__ == "__main__":  # `python -m toy_plugin train toy/... --out DIR`: the zoo CLI with this plugin
    import toy_plugin  # the same module under its importable name, so factories resolve to it

    toy_plugin.register()
    from zoo.cli import main

    main(sys.argv[1:])
