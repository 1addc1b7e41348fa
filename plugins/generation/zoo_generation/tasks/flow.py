"""Class-conditional flow matching on Fashion-MNIST: sampling with classifier-free guidance, Frechet distance
and class accuracy in the features of zoo's own Fashion-MNIST classifier."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from zoo import ZooError
from zoo.tasks import Task
from zoo.tasks.base import refuse_options

from ..images import save_png
from .image import unwrap


class ClassifierFeatures(torch.nn.Module):
    """A trained classifier's penultimate features (the input of its last linear layer) and its logits."""

    def __init__(self, model: torch.nn.Module, mean, std):
        super().__init__()
        self.model = model.eval()
        linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
        if not linears:
            raise ZooError("data.classifier: its network has no final linear layer to take features before")
        self.num_features = linears[-1].in_features
        self._features = None
        linears[-1].register_forward_hook(lambda mod, inputs, out: setattr(self, "_features", inputs[0]))
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
        self.logits = None

    def forward(self, images01: torch.Tensor) -> torch.Tensor:
        self.logits = self.model((images01.float() - self.mean) / self.std)
        return self._features.flatten(1)


def load_classifier(path: str, device) -> ClassifierFeatures:
    """zoo's own Fashion-MNIST classifier, from a run directory of vision/fashion-mnist-resnet."""
    from zoo.reopen import open_run

    try:
        run = open_run(path, device=device.type)
        model = run.predictor().eval_model()
    except ZooError as exc:
        raise ZooError(f"data.classifier={path}: cannot load it ({exc}); give a run directory of "
                       "vision/fashion-mnist-resnet (zoo-vision installed)") from None
    info = run.saved["info"]
    if info.get("image_size") != 28 or info.get("channels") != 1 or info.get("num_classes") != 10:
        raise ZooError(f"data.classifier={path}: a run of {run.recipe.name} does not classify 28 px grey images "
                       "into Fashion-MNIST's 10 classes")
    for p in model.parameters():
        p.requires_grad_(False)
    return ClassifierFeatures(model, info["mean"], info["std"]).to(device)


@torch.no_grad()
def sample(model, labels: torch.Tensor, steps: int, guidance: float, generator: torch.Generator,
           shape=(1, 28, 28), null: int = 10) -> torch.Tensor:
    """Images in [0, 1] of the given classes: Euler steps of the learned flow from noise (t=1) to data (t=0),
    with classifier-free guidance v = v_none + w (v_class - v_none)."""
    device = next(model.parameters()).device
    n = len(labels)
    x = torch.randn((n, *shape), generator=generator).to(device)
    labels = labels.to(device)
    ts = torch.linspace(1.0, 0.0, steps + 1)
    for t, t_next in zip(ts[:-1], ts[1:]):
        tt = torch.full((n,), float(t), device=device)
        if guidance == 1.0:
            v = model(image=x, t=tt, label=labels)
        else:
            both = model(image=torch.cat([x, x]), t=torch.cat([tt, tt]),
                         label=torch.cat([labels, torch.full_like(labels, null)]))
            v_class, v_none = both.chunk(2)
            v = v_none + guidance * (v_class - v_none)
        x = x - (float(t) - float(t_next)) * v.float()
    return ((x.clamp(-1, 1) + 1) / 2).cpu()


class FlowMatchingTask(Task):
    """Class-conditional flow matching (Lipman et al. 2023; rectified flow): x_t = (1 - t) x + t noise with t
    drawn per sample, the network predicts the velocity noise - x; the class is dropped 10% of the time so
    one network also gives the unconditional flow that classifier-free guidance needs.

    With a classifier (data.classifier), evaluation draws `eval_budget` samples, balanced over the classes,
    and reports the Frechet distance between the classifier's features of the samples and of the split's
    images (`fid`), and how often the classifier sees the class that was asked for (`class_accuracy`).
    """

    name = "flow-matching"
    directions = {"fid": "min", "class_accuracy": "max"}
    drop_label = 0.1

    def __init__(self, config, info):
        super().__init__(config, info)
        self.monitor = "fid" if info.get("classifier") else "loss"
        self.num_classes = int(info.get("num_classes", 10))
        self.steps, self.guidance = int(info.get("steps", 30)), float(info.get("guidance", 2.0))
        self._classifier = None
        self._fid: dict[str, Any] = {}

    def forward(self, model, x):
        image, label = x["image"], x["label"]
        n = image.shape[0]
        if unwrap(model).training:
            t = torch.rand(n, device=image.device)
            noise = torch.randn_like(image)
            label = torch.where(torch.rand(n, device=image.device) < self.drop_label,
                                torch.full_like(label, self.num_classes), label)
        else:  # the same timesteps and noise at every evaluation: comparable losses across epochs
            g = torch.Generator().manual_seed(n)
            t = torch.rand(n, generator=g).to(image.device)
            noise = torch.randn(image.shape, generator=g).to(image.device)
        tt = t.view(-1, 1, 1, 1)
        v = model(image=(1 - tt) * image + tt * noise, t=t, label=label)
        return v, noise - image

    def loss(self, output, target):
        v, velocity = output
        return F.mse_loss(v.float(), velocity.float())

    def predict(self, output):
        return [{} for _ in output[0]]

    def classifier(self, device) -> ClassifierFeatures | None:
        if self._classifier is None and self.info.get("classifier"):
            self._classifier = load_classifier(self.info["classifier"], device)
        return self._classifier

    def evaluate_model(self, model, dataset, split, budget, device):
        features = self.classifier(device)
        if features is None or dataset is None:
            return {}
        from torchmetrics.image.fid import FrechetInceptionDistance

        if split not in self._fid:  # the split's real features are computed once and kept
            fid = FrechetInceptionDistance(feature=features, normalize=True, reset_real_features=False).to(device)
            loader = torch.utils.data.DataLoader(dataset, batch_size=500)
            for x, _ in loader:
                fid.update(((x["image"] + 1) / 2).to(device), real=True)
            self._fid[split] = fid
        fid = self._fid[split]
        fid.reset()
        generator = torch.Generator().manual_seed(1234)
        labels = torch.arange(budget) % self.num_classes
        hits = 0
        for chunk in labels.split(250):
            images = sample(model, chunk, self.steps, self.guidance, generator, null=self.num_classes).to(device)
            fid.update(images, real=False)
            hits += int((features.logits.argmax(1).cpu() == chunk).sum())
        return {"fid": float(fid.compute()), "class_accuracy": hits / budget}

    def sample_grid(self, model, path: Path, per_class: int = 8, seed: int = 0) -> Path:
        labels = torch.arange(self.num_classes).repeat_interleave(per_class)
        images = sample(model, labels, self.steps, self.guidance, torch.Generator().manual_seed(seed),
                        null=self.num_classes)
        from torchvision.utils import make_grid
        grid = make_grid(images, nrow=per_class, padding=2, pad_value=1.0)
        path.parent.mkdir(parents=True, exist_ok=True)
        return save_png(grid[:1], path)

    def report(self, trainer, run_dir) -> None:
        self.sample_grid(trainer.eval_model().eval(), Path(run_dir) / "samples.png")

    # Kept on purpose, the one override of Task.predict_inputs in zoo-generation: sampling reads no input. The
    # flow is integrated from noise for --count samples of the classes --label names; there is nothing for the
    # Predictor to read or batch. The network still comes from the run's Predictor.
    def predict_inputs(self, run, inputs, out_dir, options) -> list[dict[str, Any]]:
        """`zoo predict RUN --count N --label Sneaker ...`: N samples cycling over the classes asked for (all
        by default), written as PNG files to --out (default RUN_DIR/samples) with grid.png beside them."""
        from zoo.predictor import checked_out

        options = {k: v for k, v in options.items() if k not in ("batch_size", "progress")}
        count, asked = options.pop("count", None), options.pop("labels", ()) or ()
        refuse_options(options, run.recipe.name)  # --tta and the options of other plugins
        if inputs:
            raise ZooError(f"zoo predict: {run.recipe.name} generates images and takes no INPUT (got {inputs[0]!r}); "
                           "use --count N and --label CLASS")
        classes = self.info.get("classes", [str(i) for i in range(self.num_classes)])
        wanted = [self.class_index(text, classes) for text in asked] or list(range(self.num_classes))
        count = 10 if count is None else count
        if count < 1:
            raise ZooError(f"zoo predict --count: must be at least 1, got {count}")
        out_dir = checked_out(out_dir or Path(run.dir) / "samples")
        out_dir.mkdir(parents=True, exist_ok=True)
        model = run.predictor().model
        labels = torch.tensor([wanted[i % len(wanted)] for i in range(count)])
        images = torch.cat([sample(model, part, self.steps, self.guidance, torch.Generator().manual_seed(i),
                                   null=self.num_classes) for i, part in enumerate(labels.split(256))])
        results = []
        for i, (image, label) in enumerate(zip(images, labels.tolist())):
            name = classes[label].replace("/", "-").replace(" ", "-").lower()
            path = save_png(image, out_dir / f"sample{i:04d}.{name}.png")
            results.append({"input": f"sample {i}", "label": classes[label], "files": [str(path)]})
        from torchvision.utils import make_grid
        save_png(make_grid(images, nrow=min(count, 10), padding=2, pad_value=1.0)[:1], out_dir / "grid.png")
        return results

    @staticmethod
    def class_index(text: str, classes: list[str]) -> int:
        lowered = [c.lower() for c in classes]
        if text.lower() in lowered:
            return lowered.index(text.lower())
        if text.isdigit() and int(text) < len(classes):
            return int(text)
        close = [c for c in classes if text.lower() in c.lower()]
        if len(close) == 1:
            return classes.index(close[0])
        raise ZooError(f"zoo predict --label {text}: not a class of this run; its classes are {', '.join(classes)} "
                       f"(or 0-{len(classes) - 1})")


def sample_grids(config):
    """A callback that writes samples/epochNNN.png (8 samples of each class) every `data.grid_every` epochs
    and after the last."""
    from zoo.training.callbacks import Callback

    class Grids(Callback):
        def on_evaluate(self, trainer, row) -> None:
            every = int(trainer.task.info.get("grid_every", 2))
            if trainer.run_dir is None or not (trainer.epoch % max(every, 1) == 0 or trainer.epoch == config["epochs"]):
                return
            model = trainer.eval_model()
            was_training = model.training
            trainer.task.sample_grid(model.eval(), trainer.run_dir / "samples" / f"epoch{trainer.epoch:03d}.png")
            model.train(was_training)

    return Grids()
