"""The one trainer that every recipe in every domain uses.

fit() is the whole loop: for each epoch (a round, for a recipe that generates its data: generate first),
for each batch: (augment, resize, mix) -> forward -> loss -> guard -> backward -> (every `accumulate`
batches) clip -> step -> schedule -> EMA -> maybe checkpoint; then evaluate, log, checkpoint.
The loop writes checkpoints and metrics.jsonl; progress output hangs on callbacks, and the rest of a run
directory (summary, curves, model card) is written by zoo.runs.finish once training ends.
"""
from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn
from torch.utils.data import DataLoader

from ..config import TrainConfig
from ..data import DataBundle, EpochSampler, batch_size_of, to_device
from ..errors import ZooError
from ..progress import track
from ..tasks import Task
from ..tasks.base import computed, metric_leaves
from . import checkpoint, views
from .batch_ops import mix, parse_scales, resize_for_epoch
from .callbacks import Callback, ConsoleLogger
from .device import (autocast, broadcast_tree, init_distributed, is_main, loader_workers, pick_device,
                     resolve_precision, rng_state, seed_everything, set_rng_state, world)
from .health import GradientMonitor


class NonFiniteLoss(ZooError):
    """The loss turned NaN or infinite; training stopped before writing any bad weights."""


class GenerationFailed(ZooError):
    """A recipe's data generator raised during a round; the last checkpoint is left as it was."""


class Trainer:
    def __init__(self, model: nn.Module, task: Task, data: DataBundle, config: TrainConfig,
                 run_dir: str | Path | None = None, callbacks: list[Callback] | None = None,
                 log: Callable[[str], None] | None = None):
        self.config, self.task, self.data = config, task, data
        self.run_dir = Path(run_dir) if run_dir else None
        self.device = pick_device(config.device)
        self.distributed = init_distributed(self.device)
        self.rank, self.world_size = world()
        self.main = is_main()
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.callbacks = callbacks if callbacks is not None else [ConsoleLogger()]
        if self.main and self.run_dir:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        self.precision = resolve_precision(self.device, config.precision, self.warn)
        self.workers = loader_workers(self.device, str(config.num_workers))
        seed_everything(config.seed, config.deterministic)
        if config.threads:
            torch.set_num_threads(config.threads)

        self.model = model.to(self.device)
        if config.init_from:
            self.init_from(config.init_from)
        if config.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.ema = None
        if config.ema:
            from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
            self.ema = AveragedModel(self.model, multi_avg_fn=get_ema_multi_avg_fn(config.ema), use_buffers=True)
        self.net = self.model  # what the loop calls: compiled and/or DDP-wrapped
        if self.distributed:
            from torch.nn.parallel import DistributedDataParallel
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = DistributedDataParallel(self.model, device_ids=ids)
        if config.compile:
            self.net = torch.compile(self.net)

        self.generator = data.generator
        if self.generator is not None:  # a round of generated data gets a fixed number of steps
            if not task.settings.steps_per_round:
                raise ZooError("--set task.steps_per_round: a recipe that generates its data needs at least 1")
            self.batches_per_epoch = task.settings.steps_per_round * config.accumulate
        else:
            self.use_train_set(data.train)
        self.steps_per_epoch = math.ceil(self.batches_per_epoch / config.accumulate)
        self.params = [p for p in self.model.parameters() if p.requires_grad]  # clipped and guarded each step
        self.optimizer = self._optimizer()
        self.scheduler = self._scheduler()
        self.scales = parse_scales(config.progressive_resize)
        self.views = views.parse(task.settings.tta, task.views())  # refuses an unknown view now, not after training
        self.monitor = config.monitor or task.monitor
        self.directions = {"loss": "min", "train_loss": "min"}  # by metric name, as evaluations report them
        for cb in self.callbacks:
            self.directions.update(getattr(cb, "directions", {}))
        self.health = None
        if config.grad_stats_every and self.main:
            self.health = GradientMonitor(self.model, config.grad_stats_every, self.run_dir, self.warn)
        # progress, saved in every checkpoint
        self.epoch = self.batch = self.step = 0  # batch: batches done inside the current epoch
        self.loss_sum, self.loss_count = 0.0, 0
        self.pending: list[tuple[str, int, int, torch.Tensor]] = []  # losses and norms not yet read (_guard)
        self.sync_every = config.sync_every or (50 if self.device.type == "cuda" else 1)
        self.last_loss = math.nan
        self.best: float | None = None
        self.best_epoch = 0  # the epoch whose weights best.safetensors holds
        self.history: list[dict[str, Any]] = []
        self.generate_seconds = 0.0

    # -- set-up ----------------------------------------------------------------------------
    def use_train_set(self, dataset) -> None:
        """Train on `dataset` from now on: the fixed training split, or a round's generated data."""
        cfg = self.config
        length = self.batches_per_epoch * cfg.batch_size if self.generator is not None else None
        if len(dataset) == 0:
            raise ZooError("the training data is empty" + (f" after round {self.epoch + 1}" if length else ""))
        if length is None and len(dataset) < self.world_size:
            raise ZooError(f"{self.world_size} processes but {len(dataset)} training samples: each process needs "
                           "at least one; use fewer processes (torchrun --nproc-per-node)")
        sizes = self.data.lengths if dataset is self.data.train else None  # a round's generated data has none
        self.sampler = EpochSampler(len(dataset), cfg.seed, True, self.rank, self.world_size, length, sizes,
                                    cfg.batch_size)
        self.loader = self._loader(dataset, cfg.batch_size, self.sampler)
        if self.generator is None:
            self.batches_per_epoch = len(self.loader)

    def _loader(self, dataset, batch_size: int, sampler=None) -> DataLoader:
        # A generator of its own keeps the loader from drawing on the global RNG, which exact resume restores.
        return DataLoader(dataset, batch_size=batch_size, sampler=sampler, collate_fn=self.data.collate,
                          num_workers=self.workers, pin_memory=self.device.type == "cuda",
                          generator=torch.Generator().manual_seed(0))

    def _optimizer(self) -> torch.optim.Optimizer:
        cfg = self.config
        decay, no_decay = [], []  # no weight decay on biases and normalization scales
        for p in self.model.parameters():
            if p.requires_grad:
                (decay if p.dim() > 1 else no_decay).append(p)
        groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        if cfg.optimizer == "adamw":
            return torch.optim.AdamW(groups, lr=cfg.lr)
        if cfg.optimizer == "sgd":
            return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.momentum > 0)
        raise ZooError(f"--set optimizer: expected adamw or sgd, got {cfg.optimizer!r}")

    def _scheduler(self):
        cfg, total = self.config, max(1, self.config.epochs * self.steps_per_epoch)
        if cfg.schedule == "onecycle":
            # at least two warm-up steps: OneCycleLR divides by the length of each phase
            pct = min(max(cfg.warmup, 2.0 / (total + 1)), 0.99)
            return torch.optim.lr_scheduler.OneCycleLR(self.optimizer, max_lr=cfg.lr, total_steps=total + 1,
                                                       pct_start=pct)
        if cfg.schedule == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=total)
        if cfg.schedule == "constant":
            return torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda _: 1.0)
        raise ZooError(f"--set schedule: expected onecycle, cosine or constant, got {cfg.schedule!r}")

    # -- the loop --------------------------------------------------------------------------
    def fit(self) -> dict[str, Any]:
        cfg = self.config
        self._emit("on_fit_start")
        while self.epoch < cfg.epochs and not self._done():
            if self.generator is not None and self.batch == 0:
                self.generate()
            self.net.train()
            self.sampler.set_epoch(self.epoch, start=self.batch * cfg.batch_size)
            started = time.perf_counter()
            self._emit("on_epoch_start")
            for x, y in self.loader:
                self._train_batch(x, y)
                if self._done():
                    break
            self.settle()
            row = {"epoch": self.epoch + 1, "train_loss": self.loss_sum / max(self.loss_count, 1)}
            row.update({f"valid_{k}": v for k, v in self.evaluate("valid").items()})
            row["lr"] = self.optimizer.param_groups[0]["lr"]
            row["seconds"] = round(time.perf_counter() - started, 3)
            if self.generator is not None:
                row["generate_seconds"] = round(self.generate_seconds, 3)
            self.epoch, self.batch, self.loss_sum, self.loss_count = self.epoch + 1, 0, 0.0, 0
            self._emit("on_evaluate", row=row)  # callbacks may add figures of their own
            self._end_epoch(row)
        self._emit("on_fit_end")
        return self.history[-1] if self.history else {}

    def generate(self) -> None:
        """A round of training data from the current model: rank 0 generates, the other processes receive."""
        started = time.perf_counter()
        if self.main:
            model = self.eval_model()
            model.eval()
            try:
                with torch.no_grad():
                    self.generator.generate(model, self.epoch, self.device)
            except Exception as exc:  # noqa: BLE001 - any failure of plugin code names the round
                raise GenerationFailed(
                    f"data generation failed in round {self.epoch + 1}: {type(exc).__name__}: {exc} (the last "
                    f"checkpoint, from round {self.epoch}, is intact)") from exc
            finally:
                model.train()
        if self.distributed:
            state = broadcast_tree(self.generator.state_dict() if self.main else None, self.device)
            if not self.main:
                self.generator.load_state_dict(state)
        self.use_train_set(self.generator.dataset())
        self.generate_seconds = time.perf_counter() - started

    def close(self) -> None:
        """Leave the torchrun job: wait for every rank, then tear the process group down.

        Left to interpreter exit, the teardown races with gloo's threads and can abort the process; so does a
        process group that the DDP wrapper's reducer keeps alive past `destroy_process_group`, hence the wrapper
        goes first.
        """
        if self.distributed:
            import gc

            import torch.distributed as dist
            if dist.is_initialized():
                dist.barrier()
                self.net = self.model
                gc.collect()
                dist.destroy_process_group()
            self.distributed = False

    def _done(self) -> bool:
        return bool(self.config.max_steps) and self.step >= self.config.max_steps

    def _train_batch(self, x: Any, y: Any) -> None:
        cfg = self.config
        x, y = to_device(x, self.device), to_device(y, self.device)
        if self.data.augment is not None:
            x, y = self.data.augment(x, y)
        x = resize_for_epoch(x, self.epoch, cfg.epochs, self.scales)
        if cfg.channels_last and isinstance(x, torch.Tensor) and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        if (cfg.mixup or cfg.cutmix) and self.task.mixable and isinstance(x, torch.Tensor):
            x, y = mix(x, self.task.soft_targets(y), cfg.mixup, cfg.cutmix)
        sample = self.health is not None and self.health.due(self.step) and self.batch % cfg.accumulate == 0
        if sample:
            self.health.watch_activations()
        with autocast(self.device, self.precision):
            loss = self.task.loss(self.task.forward(self.net, x), y)
        self._guard("loss", loss)
        (loss / cfg.accumulate if cfg.accumulate > 1 else loss).backward()
        self.batch += 1
        if self.batch % cfg.accumulate and self.batch < self.batches_per_epoch:
            return  # keep accumulating
        if sample:
            self.health.observe(self.step)
        # With clipping off, the norm is not computed: a non-finite gradient then shows as a non-finite loss at
        # the next step or non-finite weights at the next checkpoint, and both stop training before writing.
        if cfg.grad_clip:
            self._guard("gradient norm", torch.nn.utils.clip_grad_norm_(self.params, cfg.grad_clip))
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        self.step += 1
        self._emit("on_step_end", loss=self.last_loss)
        if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0 and self.batch < self.batches_per_epoch:
            self.save("last")

    def _guard(self, what: str, value: torch.Tensor) -> None:
        """The non-finite guard on the loss and the gradient norm. Reading a value on the host waits for the
        device, so on CUDA values wait here and are read together every `sync_every` steps, and always before
        anything is evaluated or written: training still stops before a bad weight reaches a checkpoint."""
        self.pending.append((what, self.epoch, self.step, value.detach()))
        if len(self.pending) >= self.sync_every:
            self.settle()

    def settle(self) -> None:
        """Read the pending losses and norms: raise at the first that is not finite, else add up the losses."""
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        values = torch.stack([v.float().reshape(()) for *_, v in pending]).tolist()  # one wait for the device
        for (what, epoch, step, _), value in zip(pending, values):
            if not math.isfinite(value):
                advice = "keep grad_clip on, " if what == "loss" else ""
                raise NonFiniteLoss(
                    f"{what} became {value} at epoch {epoch + 1}, step {step}: training stopped and no weights were "
                    f"written. Lower lr (now {self.config.lr}), {advice}and check the data for NaN or extreme values.")
            if what == "loss":
                self.loss_sum, self.loss_count, self.last_loss = self.loss_sum + value, self.loss_count + 1, value

    def _end_epoch(self, row: dict[str, Any]) -> None:
        self.history.append(row)
        score = row.get(f"valid_{self.monitor}")
        if score is None and any(k.startswith("valid_") for k in row):
            found = ", ".join(k[6:] for k in row if k.startswith("valid_"))
            raise ZooError(f"--set monitor={self.monitor}: the validation reports no such metric (it has {found})")
        direction = self.directions.get(self.monitor)
        if score is not None and direction is None:
            raise ZooError(f"--set monitor={self.monitor}: nothing declares whether higher or lower is better")
        better = (lambda a, b: a > b) if direction == "max" else (lambda a, b: a < b)
        improved = score is not None and (self.best is None or better(score, self.best))
        if improved:
            self.best, self.best_epoch = score, self.epoch
        if self.main and self.run_dir:
            with open(self.run_dir / "metrics.jsonl", "a") as fh:
                fh.write(json.dumps(row) + "\n")
        self.save("last")
        if improved:
            self.save("best")
        self._emit("on_epoch_end", row=row)

    # -- evaluation ------------------------------------------------------------------------
    def eval_model(self) -> nn.Module:
        """The weights to evaluate: the moving average when there is one."""
        return self.ema.module if self.ema is not None else self.model

    @torch.no_grad()
    def evaluate(self, split: str = "valid", tta: str | bool = "", dataset=None) -> dict[str, float]:
        """Loss and every metric of the task on one split, then the task's own evaluation (games, rollouts)."""
        dataset = dataset if dataset is not None else getattr(self.data, split)
        self.settle()
        model = self.eval_model()
        model.eval()
        result = self._evaluate_batches(model, dataset, tta) if dataset is not None else {}
        if self.main and self.task.evaluates_itself:  # games or rollouts once: other processes' rows are never logged
            saved = rng_state()  # evaluation draws from its own seeded stream and leaves training's untouched
            seed_everything(self.config.seed + {"valid": 1, "test": 2}.get(split, 3))
            try:
                own = self.task.evaluate_model(model, dataset, split, self.task.settings.eval_budget, self.device)
            finally:
                set_rng_state(saved)
            for name, value in own.items():
                self.directions[name] = self.task.direction(name)
                result[name] = float(value)
        model.train()
        return result

    def _evaluate_batches(self, model: nn.Module, dataset, tta: str | bool) -> dict[str, float]:
        metrics = self.task.metrics()
        if metrics is not None:
            metrics = local_only(metrics.to(self.device))
        chosen = self.views if tta is True else views.parse(tta or "", self.task.views())
        loader = self._loader(dataset, self.config.eval_batch_size)
        if self.main:  # a bar on a terminal: beam search or big splits take a while; nothing in logs
            loader = track(loader, "evaluating", lines=False)
        loss_sum, count = 0.0, 0
        for i, (x, y) in enumerate(loader):
            if self.config.eval_limit and i >= self.config.eval_limit:
                break
            x, y = to_device(x, self.device), to_device(y, self.device)
            with autocast(self.device, self.precision):
                out = views.forward(self.task, model, x, chosen)
                loss = self.task.loss(out, y)
            n = batch_size_of(y) or batch_size_of(x) or 1
            loss_sum, count = loss_sum + loss.item() * n, count + n
            if metrics is not None:
                self.task.update_metrics(metrics, out, y)
        result = {"loss": loss_sum / max(count, 1)}
        if metrics is not None:
            for name, (value, direction) in computed(self.task, metrics).items():
                result[name], self.directions[name] = value, direction
        return result

    @torch.no_grad()
    def collect(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores (Task.scores) and targets of a whole split (its first `eval_limit` batches in quick checks),
        concatenated: for plots of the final model."""
        model = self.eval_model()
        model.eval()
        scores, targets = [], []
        for i, (x, y) in enumerate(self._loader(getattr(self.data, split), self.config.eval_batch_size)):
            if self.config.eval_limit and i >= self.config.eval_limit:
                break
            x = to_device(x, self.device)
            with autocast(self.device, self.precision):
                scores.append(self.task.scores(self.task.forward(model, x)).float().cpu())
            targets.append(y)
        model.train()
        return torch.cat(scores), torch.cat(targets)

    def init_from(self, source: str) -> None:
        """Start from the weights another run evaluated (fine-tuning, pretraining then fine-tuning).

        Tensors of the same name and shape are copied; the model's others (a new head) start fresh. A tensor
        of another shape, or no tensor in common, means another architecture: an error that names it.
        """
        path = checkpoint.of_run(source)
        weights = checkpoint.evaluated_weights(checkpoint.load(path))
        own = self.model.state_dict()
        shared = [k for k in weights if k in own]
        for key in shared:
            if weights[key].shape != own[key].shape:
                raise ZooError(f"init_from {source}: tensor {key} has shape {tuple(weights[key].shape)} there and "
                               f"{tuple(own[key].shape)} in this model (another architecture or size)")
        if not shared:
            raise ZooError(f"init_from {source}: no tensor of it fits this model (its first, {next(iter(weights))}, "
                           f"is not in this model; this model's first is {next(iter(own))}): another architecture")
        self.model.load_state_dict({**own, **{k: weights[k].to(own[k].device) for k in shared}})
        fresh = [k for k in own if k not in weights]
        note = f"; {len(fresh)} start fresh ({', '.join(fresh[:3])}{', ...' if len(fresh) > 3 else ''})" if fresh else ""
        self.log(f"init_from {path}: {len(shared)} of {len(own)} tensors loaded{note}")

    # -- checkpoints -----------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": rng_state(),
            "progress": {"epoch": self.epoch, "batch": self.batch, "step": self.step, "loss_sum": self.loss_sum,
                         "loss_count": self.loss_count, "best": self.best, "best_epoch": self.best_epoch,
                         "history": self.history, "directions": self.directions},
            "generator": self.generator.state_dict() if self.generator is not None else None,
            "config": asdict(self.config),
        }

    def save(self, which: str) -> None:
        """Write checkpoints/<which>.safetensors, refusing to store non-finite weights."""
        self.settle()
        if not (self.main and self.run_dir):
            return
        for name, p in self.model.state_dict().items():
            if p.is_floating_point() and not torch.isfinite(p).all():
                raise NonFiniteLoss(f"weights of {name} are not finite; checkpoint {which} was not written")
        checkpoint.save(self.run_dir / "checkpoints" / f"{which}.safetensors", self.state())

    def load_weights(self, path: str | Path) -> dict[str, Any]:
        state = checkpoint.load(path)
        try:
            self.model.load_state_dict(state["model"])
            if self.ema is not None and state.get("ema"):
                self.ema.load_state_dict(state["ema"])
        except RuntimeError as exc:
            first = str(exc).splitlines()[0]
            raise ZooError(f"{path}: weights do not fit this model ({first})") from None
        return state

    def resume(self, path: str | Path) -> None:
        """Continue exactly where the checkpoint left off: weights, optimizer, schedule, RNGs, position."""
        state = self.load_weights(path)
        self.optimizer.load_state_dict(state["optimizer"])
        self._resume_schedule(state["scheduler"], state["progress"]["step"])
        set_rng_state(state["rng"])
        p = state["progress"]
        self.epoch, self.batch, self.step = p["epoch"], p["batch"], p["step"]
        self.loss_sum, self.loss_count, self.best = p["loss_sum"], p["loss_count"], p["best"]
        self.best_epoch = p.get("best_epoch", 0)
        self.directions.update(p.get("directions", {}))
        self.history = list(p["history"])
        if self.generator is not None:
            if state.get("generator") is None:
                raise ZooError(f"{path}: holds no generator state, so this run cannot resume exactly")
            self.generator.load_state_dict(state["generator"])
            if self.batch:  # mid-round: the round's data is the generator's state; at a round's start it is made anew
                self.use_train_set(self.generator.dataset())

    def _resume_schedule(self, saved: dict[str, Any], step: int) -> None:
        """The saved schedule when its length is today's; when the run now has more (or fewer) epochs, the new
        schedule, advanced to the step reached (the learning rate then differs from the old run's: not exact)."""
        length = lambda sched: {k: sched.get(k) for k in ("total_steps", "T_max")}  # noqa: E731
        if length(saved) == length(self.scheduler.state_dict()):
            self.scheduler.load_state_dict(saved)
            return
        total = self.config.epochs * self.steps_per_epoch
        if step >= total:  # the run is already past the epochs asked for now: there is nothing left to train
            self.warn(f"the run has already trained {step} steps, as many as the {self.config.epochs} epochs asked for "
                      f"({total}): nothing is left to train")
            return
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # stepping a schedule without optimizer steps is what we mean here
            for _ in range(step):
                self.scheduler.step()
        self.warn(f"the schedule now spans {self.config.epochs} epochs: the learning rate follows it from step {step} "
                  "(a longer run, not an exact resume)")

    def warn(self, message: str) -> None:
        self.log(f"warning: {message}")
        if self.main and self.run_dir:
            with open(self.run_dir / "train.log", "a") as fh:
                fh.write(f"warning: {message}\n")

    def _emit(self, event: str, **kwargs: Any) -> None:
        if self.main:
            for cb in self.callbacks:
                getattr(cb, event)(self, **kwargs)


def local_only(metrics: Any) -> Any:
    """Compute torchmetrics from this process's own updates.

    Each rank evaluates the whole split itself (and the test split is scored by rank 0 alone), so the
    all-gather torchmetrics does under torchrun would double-count or wait forever for the other ranks.
    """
    for metric in metric_leaves(metrics):
        metric.sync_on_compute = False
        metric._to_sync = False  # torchmetrics copies the flag at construction
    return metrics
