"""robotics/object-localization: a heatmap plus depth against direct regression of the point (issue 18: "measure
which"). Same backbone, scenes and settings; `data.target=image` swaps the head (zoo_robotics.models.HeatmapNet:
soft-argmax over a small feature pyramid at 1/8 resolution, depth read under the heatmap) and has the camera's
matrices turn its (u, v, depth) into the point. Smaller than the recipe's defaults so that both fit one run:
HEADS_SETS below. Errors: Euclidean distance (cm) from the labelled grasp point on the same 500 test scenes.
Set HEADS_BENCH_SETS=epochs=1,data.train=64,... for a smoke test (its figures mean nothing).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from recipes import train_defaults  # noqa: E402
from paired import paired_bootstrap, verdict  # noqa: E402

from zoo.reopen import open_run  # noqa: E402
from zoo_robotics import data, scenes  # noqa: E402

HEADS_SETS = {"epochs": "12", "data.train": "1000", "model.arch": "resnet10t"}


def errors(out: Path) -> tuple[np.ndarray, np.ndarray]:
    trainer = open_run(out, device="cpu").trainer(with_data=True)
    model, task, test = trainer.eval_model().eval(), trainer.task, trainer.data.test
    found, looks = [], []
    with torch.no_grad():
        for i in range(len(test)):
            s = test.scene(i)
            point = data.world_point(task.scores(model(test[i][0][None]))[0].numpy(), s, test.target)
            found.append(float(np.linalg.norm(point - s["grasp"]) * 100))
            looks.append(scenes.DIFFICULTIES[int(s["difficulty"])])
    return np.array(found), np.array(looks)


def main() -> None:
    results, minutes = {}, {}
    for name, target in (("direct regression", "point"), ("heatmap + depth", "image")):
        out, seconds, summary = train_defaults("robotics/object-localization", "HEADS_BENCH_SETS", threads=2,
                                         sets={**HEADS_SETS, "data.target": target})
        results[name], minutes[name] = errors(out), seconds / 60
    looks = next(iter(results.values()))[1]
    print("## robotics: heatmap or direct regression (`robotics/object-localization`)\n")
    print(f"Both heads on the same ResNet-10t from scratch, {summary['epochs']} epochs on "
          f"{HEADS_SETS['data.train']} training scenes (96 px; smaller than the recipe's defaults, so that both fit "
          f"one run), two torch threads; {len(looks)} test scenes. Training took "
          + ", ".join(f"{minutes[n]:.1f} min ({n})" for n in results) + ".\n")
    print("| look | " + " | ".join(f"{n} median cm" for n in results) + " |\n|---|---|---|")
    groups = {**{d: looks == d for d in scenes.DIFFICULTIES}, "hard (all four)": looks != "easy",
              "all": np.ones(len(looks), bool)}
    for group, chosen in groups.items():
        print(f"| {group} | " + " | ".join(f"{np.median(e[chosen]):.2f}" for e, _ in results.values()) + " |")
    (reg, _), (heat, _) = results.values()
    print("\n| scenes | regression - heatmap (per scene, cm) | 95% interval | result for the heatmap |\n|---|---|---|---|")
    for group in ("all", "easy", "hard (all four)"):
        diff, low, high = paired_bootstrap(reg[groups[group]], heat[groups[group]])
        print(f"| {group} | {diff:+.2f} | [{low:+.2f}, {high:+.2f}] | {verdict(low, high)} |")


if __name__ == "__main__":
    main()
