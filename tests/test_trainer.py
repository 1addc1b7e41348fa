import json
import math

import pytest
import torch
from torch import nn

from synthetic import blobs, mlp, trainer
from zoo.training import checkpoint
from zoo.training.trainer import NonFiniteLoss


def test_training_learns(tmp_path):
    t = trainer(tmp_path, epochs=3)
    before = t.evaluate("valid")
    t.fit()
    after = t.evaluate("valid")
    assert after["loss"] < 0.5 * before["loss"]
    assert after["accuracy"] > 0.85  # chance is 0.25
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert {"train_loss", "valid_loss", "valid_accuracy", "valid_f1_macro"} <= set(rows[0])
    assert (tmp_path / "checkpoints" / "last.safetensors").is_file()
    assert (tmp_path / "checkpoints" / "best.safetensors").is_file()


def test_same_seed_same_weights():
    a, b = trainer(epochs=1), trainer(epochs=1)
    a.fit(), b.fit()
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(pa, pb)


def test_non_finite_loss_stops_and_writes_no_bad_weights(tmp_path):
    clean = trainer(tmp_path, epochs=2, max_steps=13)  # one epoch: writes last and best
    clean.fit()
    written = {p.name: p.read_bytes() for p in (tmp_path / "checkpoints").glob("*.safetensors")}
    assert set(written) == {"last.safetensors", "best.safetensors"}
    data = blobs()
    data.train.x[5] = float("nan")  # one poisoned sample, met in the second epoch
    poisoned = trainer(tmp_path, data=data, epochs=2, checkpoint_every=1)
    poisoned.resume(tmp_path / "checkpoints" / "last.safetensors")
    with pytest.raises(NonFiniteLoss, match="loss became nan"):
        poisoned.fit()
    for path in (tmp_path / "checkpoints").glob("*.safetensors"):
        for tensor in checkpoint.load(path)["model"].values():
            assert torch.isfinite(tensor).all()
    # checkpoint_every=1 wrote each step before the poisoned batch, and nothing after it
    assert checkpoint.load(tmp_path / "checkpoints" / "last.safetensors")["progress"]["step"] == poisoned.step


def test_gradient_clipping_bounds_the_update():
    t = trainer(epochs=1, max_steps=1, grad_clip=1e-3, lr=1.0, schedule="constant", optimizer="sgd", momentum=0.0,
                weight_decay=0.0)
    before = [p.detach().clone() for p in t.model.parameters()]
    t.fit()
    moved = math.sqrt(sum(float((p - b).pow(2).sum()) for p, b in zip(t.model.parameters(), before)))
    assert moved == pytest.approx(1e-3, rel=1e-3)  # sgd step = lr x clipped gradient (norm 1e-3)


def test_label_smoothing_raises_the_floor_of_the_loss():
    from zoo.config import ClassifierSettings, TrainConfig
    from zoo.tasks.classification import ClassificationTask

    logits = torch.tensor([[20.0, -20.0]])
    sharp = ClassificationTask(TrainConfig(), {"num_classes": 2}).loss(logits, torch.tensor([0]))
    smooth = ClassificationTask(TrainConfig(), {"num_classes": 2})
    smooth.settings = ClassifierSettings(label_smoothing=0.2)
    smooth = smooth.loss(logits, torch.tensor([0]))
    assert sharp < 1e-6 and smooth > 1.0  # a confident right answer is penalized when smoothing


def test_logit_adjustment_favours_rare_classes_in_predictions_not_in_the_loss():
    from zoo import ZooError
    from zoo.config import ClassifierSettings, TrainConfig
    from zoo.tasks.classification import ClassificationTask

    info = {"num_classes": 3, "class_counts": [80, 15, 5]}
    logits = torch.tensor([[2.0, 1.0, 0.5]])  # the frequent class leads, but not by much
    plain = ClassificationTask(TrainConfig(), info)
    adjusted = ClassificationTask(TrainConfig(), info)
    adjusted.settings = ClassifierSettings(logit_adjust=1.0)
    assert plain.scores(logits).argmax() == 0 and adjusted.scores(logits).argmax() == 2
    assert torch.isclose(adjusted.scores(logits).sum(), torch.tensor(1.0))
    assert adjusted.loss(logits, torch.tensor([0])) == plain.loss(logits, torch.tensor([0]))
    adjusted.info = {"num_classes": 3}
    with pytest.raises(ZooError, match="task.logit_adjust"):
        adjusted.scores(logits)


def test_resume_continues_where_the_run_stopped(tmp_path):
    full = trainer(tmp_path / "full", epochs=3)
    full.fit()
    first = trainer(tmp_path / "part", epochs=3, max_steps=13)  # 13 steps per epoch: stops after epoch 1
    first.fit()
    second = trainer(tmp_path / "part", epochs=3)
    second.resume(tmp_path / "part" / "checkpoints" / "last.safetensors")
    assert second.epoch == 1 and second.step == 13
    second.fit()
    for pa, pb in zip(full.model.parameters(), second.model.parameters()):
        assert torch.equal(pa, pb)
    assert [r["epoch"] for r in second.history] == [1, 2, 3]


def test_accumulation_matches_a_bigger_batch():
    big = trainer(epochs=1, batch_size=32, max_steps=4)
    small = trainer(epochs=1, batch_size=16, accumulate=2, max_steps=4)
    big.fit(), small.fit()
    for pa, pb in zip(big.model.parameters(), small.model.parameters()):
        assert torch.allclose(pa, pb, atol=1e-5)


def test_ema_weights_are_evaluated_and_checkpointed(tmp_path):
    t = trainer(tmp_path, epochs=2, ema=0.9)
    t.fit()
    assert t.eval_model() is t.ema.module
    assert not torch.equal(next(t.ema.module.parameters()), next(t.model.parameters()))
    saved = checkpoint.load(tmp_path / "checkpoints" / "last.safetensors")
    assert saved["ema"] is not None and "n_averaged" in saved["ema"]
    assert t.evaluate("valid")["accuracy"] > 0.8


def test_mixup_targets_are_mixed_and_still_learn():
    from zoo.training.batch_ops import mix

    x = torch.stack([torch.zeros(1, 4, 4), torch.ones(1, 4, 4)])
    soft = torch.eye(2)
    for seed in range(20):  # a seed whose permutation pairs the two samples (not the identity)
        torch.manual_seed(seed)
        mixed_x, mixed_y = mix(x, soft, mixup=0.4, cutmix=0.0)
        if mixed_y[0, 1] > 0:
            break
    assert mixed_y[0, 1] > 0, "no seed paired the two samples"
    lam = mixed_y[0, 0]  # sample 0 mixed with sample 1: its own weight lam
    assert torch.allclose(mixed_y.sum(1), torch.ones(2))
    assert torch.allclose(mixed_x[0].mean(), 1 - lam)  # pixels carry the same weights as targets
    t = trainer(epochs=4, mixup=0.2, label_smoothing=0.1)
    t.fit()
    assert t.evaluate("valid")["accuracy"] > 0.8


def test_cutmix_weight_is_the_pasted_area():
    from zoo.training.batch_ops import mix

    torch.manual_seed(3)
    x = torch.stack([torch.zeros(1, 8, 8), torch.ones(1, 8, 8)])
    for _ in range(10):
        mixed_x, mixed_y = mix(x, torch.eye(2), mixup=0.0, cutmix=1.0)
        for i in range(2):  # the fraction of each image's own pixels equals its own target weight
            own = (mixed_x[i] == x[i]).float().mean()
            assert torch.isclose(own, mixed_y[i, i]) or torch.isclose(mixed_y[i, i], torch.tensor(1.0))


def test_progressive_resizing_uses_small_images_first():
    from zoo.training.batch_ops import resize_for_epoch

    x = torch.randn(2, 1, 16, 16)
    sizes = [resize_for_epoch(x, epoch, 6, [0.5, 0.75]).shape[-1] for epoch in range(6)]
    assert sizes == [8, 8, 12, 12, 16, 16]


def test_tta_averages_over_declared_views():
    t = trainer(epochs=2, data=blobs(image=True))
    t.fit()
    plain = t.evaluate("valid")
    tta = t.evaluate("valid", tta="hflip")
    assert plain["loss"] != tta["loss"]  # the flipped view changed the averaged predictions
    from zoo.training.views import image_views, parse
    assert len(parse("hflip,shift", image_views())) == 5


def test_lr_finder_suggests_a_learning_rate_that_trains(tmp_path):
    from zoo.training.lr_finder import suggest, sweep

    lrs, losses = sweep(trainer(grad_clip=0), steps=60)
    best = suggest(lrs, losses)
    assert best == pytest.approx(lrs[losses.index(min(losses))] / 10)  # a tenth of the lr at the lowest loss
    assert min(losses) < 0.5 * losses[0]  # the loss fell during the sweep
    assert len(lrs) < 60 or losses[-1] > min(losses)  # the sweep ran until the loss diverged
    t = trainer(lr=best, epochs=2, schedule="constant")
    t.fit()
    assert t.evaluate("valid")["accuracy"] > 0.85  # the suggestion trains (chance is 0.25)


def test_gradient_monitor_records_layers_and_warns_on_vanishing(tmp_path):
    layers = []
    for _ in range(30):
        layers += [nn.Linear(16, 16), nn.Sigmoid()]
    deep = nn.Sequential(nn.Flatten(), *layers, nn.Linear(16, 4))
    warnings = []
    t = trainer(tmp_path, model=deep, epochs=1, grad_stats_every=1)
    t.log = warnings.append
    t.fit()
    assert any("vanishing gradients" in w for w in warnings)
    rows = [json.loads(line) for line in (tmp_path / "gradients.jsonl").read_text().splitlines()]
    first = rows[0]["layers"]
    assert {"grad_norm", "act_mean", "act_std", "act_zero"} <= set(next(iter(first.values())))
    assert "vanishing" in (tmp_path / "train.log").read_text()
    assert t.health.vanishing_ratio() < 1e-3
    t.health.plot(tmp_path / "gradients.png")
    assert (tmp_path / "gradients.png").stat().st_size > 1000


def test_gradient_monitor_is_quiet_on_a_healthy_network(tmp_path):
    warnings = []
    t = trainer(tmp_path, epochs=1, grad_stats_every=1)
    t.log = warnings.append
    t.fit()
    assert warnings == []


def test_channels_last_trains_to_the_same_weights():
    def conv():
        torch.manual_seed(0)
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(64, 4))

    a = trainer(model=conv(), data=blobs(image=True), epochs=1, max_steps=3)
    b = trainer(model=conv(), data=blobs(image=True), epochs=1, max_steps=3, channels_last=True)
    a.fit(), b.fit()
    assert b.model[0].weight.is_contiguous(memory_format=torch.channels_last)
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.allclose(pa, pb, atol=1e-5)


def test_torch_compile_trains_to_the_same_weights():
    a = trainer(epochs=1, max_steps=3)
    b = trainer(epochs=1, max_steps=3, compile=True)
    a.fit(), b.fit()
    assert b.net is not b.model  # the loop ran the compiled module
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.allclose(pa, pb, atol=1e-4)


def test_lr_find_command_saves_a_plot_and_suggests_a_value(tmp_path):
    from zoo.testing import run_zoo

    plot = tmp_path / "lr.png"
    result = run_zoo("lr-find", "vision/digits-resnet", "--steps", "30", "--out", str(plot), "--set", "model.width=8",
                     "--set", "data.image_size=8", "--set", "threads=1")
    assert result.code == 0, result.err
    assert plot.stat().st_size > 1000
    suggested = float(result.out.split("suggested lr:")[1].split()[0])
    assert 1e-7 < suggested < 10


def test_gradient_monitor_warns_on_exploding_gradients():
    from zoo.training.health import GradientMonitor

    warnings = []
    monitor = GradientMonitor(mlp(), every=1, out=None, warn=warnings.append)
    layers = lambda norm: {"0.weight": {"grad_norm": norm}, "1.weight": {"grad_norm": norm}}  # noqa: E731
    for step in range(6):
        monitor._check(step, layers(1.0))
    assert warnings == []
    monitor._check(6, layers(500.0))
    assert len(warnings) == 1 and "Exploding gradients" in warnings[0] and "grad_clip" in warnings[0]
    monitor._check(7, layers(float("nan")))
    assert "non-finite gradients" in warnings[1]


def test_reading_the_loss_every_k_steps_keeps_the_guard_and_the_figures(tmp_path):
    """What CUDA runs do (sync_every=50 there), checked on CPU: the losses are read in groups, the epoch's
    train_loss is the same, and a NaN still stops training, naming its step, before any weight is written."""
    every, grouped = trainer(epochs=2), trainer(epochs=2, sync_every=7)
    every.fit(), grouped.fit()
    assert [r["train_loss"] for r in every.history] == [r["train_loss"] for r in grouped.history]
    data = blobs()
    data.train.x[5] = float("nan")
    t = trainer(tmp_path, data=data, epochs=1, sync_every=7, checkpoint_every=1)
    with pytest.raises(NonFiniteLoss, match=r"loss became nan at epoch 1, step (\d+)") as caught:
        t.fit()
    bad_step = int(caught.value.args[0].split("step ")[1].split(":")[0])
    for path in (tmp_path / "checkpoints").glob("*.safetensors") if (tmp_path / "checkpoints").exists() else []:
        state = checkpoint.load(path)
        assert state["progress"]["step"] <= bad_step and all(torch.isfinite(v).all() for v in state["model"].values())


def test_console_says_how_long_training_will_take_before_and_while_it_runs():
    import io

    from zoo.training.callbacks import ConsoleLogger

    stream = io.StringIO()
    t = trainer(epochs=3)  # 13 steps per epoch
    t.callbacks = [ConsoleLogger(stream)]
    t.fit()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("expected training time: about ") and "(33 steps at " in lines[0]  # 39 - 6 timed
    assert lines[1].startswith("epoch 1 ") and " left " in lines[1] and " left " in lines[2]
    assert lines[3].startswith("epoch 3 ") and " left " not in lines[3]


def test_device_settings_that_cannot_be_met_say_so(monkeypatch):
    from zoo import ZooError
    from zoo.data import TensorPairs
    from zoo.training import device

    warnings = []
    monkeypatch.setattr(device, "cpu_has_bf16", lambda: False)
    t = trainer(precision="bf16")
    assert t.precision == "fp32"  # no CUDA device and no native bf16 on this CPU: bf16 autocast falls back
    t.log = warnings.append
    assert device.resolve_precision(t.device, "bf16", warnings.append) == "fp32" and "training in fp32" in warnings[0]
    with pytest.raises(ZooError, match="--set precision: expected auto, bf16 or fp32"):
        trainer(precision="fp8")
    with pytest.raises(ZooError, match="--set num_workers: expected auto or a number"):
        trainer(num_workers="many")
    t.world_size = 4  # as under torchrun --nproc-per-node 4
    with pytest.raises(ZooError, match="4 processes but 3 training samples"):
        t.use_train_set(TensorPairs(torch.zeros(3, 16), torch.zeros(3, dtype=torch.long)))


def test_resuming_with_more_epochs_follows_the_longer_schedule(tmp_path):
    first = trainer(tmp_path, epochs=2)
    first.fit()
    longer = trainer(tmp_path, epochs=4)
    warnings = []
    longer.log = warnings.append
    longer.resume(tmp_path / "checkpoints" / "last.safetensors")
    lr_now = longer.optimizer.param_groups[0]["lr"]
    assert "schedule now spans 4 epochs" in warnings[0]
    assert lr_now > 0.5 * longer.config.lr  # mid one-cycle of the longer schedule, not its end (2e-8)
    longer.fit()
    assert [r["epoch"] for r in longer.history] == [1, 2, 3, 4] and longer.optimizer.param_groups[0]["lr"] < 1e-6
    shorter = trainer(tmp_path, epochs=3)  # fewer epochs than the run has trained: nothing left to do, no error
    shorter.log = warnings.append
    shorter.resume(tmp_path / "checkpoints" / "last.safetensors")
    assert "already trained" in warnings[-1]
    shorter.fit()
    assert [r["epoch"] for r in shorter.history] == [1, 2, 3, 4]


def test_sizes_group_each_batch_and_keep_every_item():
    """With item sizes, each batch holds items of similar size (less padding) and an epoch still sees each
    item once; without them, batches are as mixed as the data."""
    from zoo.data import EpochSampler

    sizes = torch.randperm(400, generator=torch.Generator().manual_seed(1)).tolist()

    def spread(sampler):  # the mean over batches of (largest - smallest size in the batch)
        order = list(sampler)
        assert sorted(order) == list(range(400))
        batches = [order[i:i + 8] for i in range(0, 400, 8)]
        return sum(max(sizes[i] for i in b) - min(sizes[i] for i in b) for b in batches) / len(batches)

    assert spread(EpochSampler(400, seed=0, sizes=sizes, batch=8)) < 0.1 * spread(EpochSampler(400, seed=0))
    grouped = EpochSampler(400, seed=0, sizes=sizes, batch=8)
    grouped.set_epoch(1, start=16)  # resume two batches into epoch 1: the same order from there
    full = EpochSampler(400, seed=0, sizes=sizes, batch=8)
    full.set_epoch(1)
    assert list(grouped) == list(full)[16:]


def test_bf16_on_a_cpu_that_has_it(monkeypatch):
    """precision=bf16 on a CPU with native bf16 trains under bf16 autocast (and still learns); auto stays fp32."""
    from zoo.training import device

    cpu = torch.device("cpu")
    monkeypatch.setattr(device, "cpu_has_bf16", lambda: True)
    assert device.resolve_precision(cpu, "bf16", pytest.fail) == "bf16"
    assert device.resolve_precision(cpu, "auto", pytest.fail) == "fp32"
    with device.autocast(cpu, "bf16"):
        assert nn.Linear(4, 2)(torch.randn(3, 4)).dtype == torch.bfloat16
    with device.autocast(cpu, "fp32"), device.autocast(cpu, "auto"):
        assert nn.Linear(4, 2)(torch.randn(3, 4)).dtype == torch.float32
    t = trainer(epochs=3, precision="bf16")
    assert t.precision == "bf16"
    seen = []
    t.model.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    before = t.evaluate("valid")
    t.fit()
    after = t.evaluate("valid")
    assert set(seen) == {torch.bfloat16}  # training and evaluation ran in bf16
    assert after["loss"] < 0.5 * before["loss"] and after["accuracy"] > 0.85  # chance is 0.25
