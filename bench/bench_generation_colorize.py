"""generation/colorize against the grey image and the training photos' mean colour on the same whole test photos.

The recipe is trained with its defaults (one torch thread) on colorization's own split of the built-in photos
(zoo_generation/data/colorize.py: 44 colour training photos with OpenCV's, 5 validation, 12 test), and its decoding (annealed-mean
temperature x confidence-scaled chroma) is the one the run chose on the validation photos. Targets (issue 43), both
in this one run: RGB PSNR at least the grey image's, and colourfulness at least 60% of the true photos'. "Beats" =
the paired bootstrap 95% interval of the per-photo PSNR difference lies above zero (bench/paired.py), over photos.

COLORIZE_BENCH_SETS=epochs=6,... trains with reduced settings (said in the section); COLORIZE_BENCH_RUN=RUN_DIR
scores a run trained before (its training time: the sum of its epochs' seconds); GEN_BENCH_SETS=max_steps=2,
eval_limit=1 is a smoke test whose figures mean nothing.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from paired import paired_bootstrap, verdict  # noqa: E402
from recipes import trained_or_given  # noqa: E402
from zoo_generation import baselines  # noqa: E402
from zoo_generation.data.colorize import EXTRA_PHOTOS  # noqa: E402
from zoo_generation.data.photos import MORE_PHOTOS  # noqa: E402
from zoo_generation.tasks.image import colourfulness, psnr  # noqa: E402

torch.set_num_threads(1)
SMOKE = os.environ.get("GEN_BENCH_SETS", "")
REDUCED = os.environ.get("COLORIZE_BENCH_SETS", "")
# bench_generation.py's figures of the recipe before (11 training photos, temperature 0.38, 5 test photos), 2026-12
OLD = {"grey": 18.88, "mean": 17.91, "zoo": 17.56, "zoo_colour": 31.8, "true_colour": 54.9}
# this bench's section of 2026-12-07 on the same 12 test photos, before OpenCV's 18 photos joined the 26 training ones
BEFORE_OPENCV = {"train_photos": 26, "grey": 18.38, "mean": 18.68, "zoo": 17.63, "zoo_colour": 32.5,
                 "zoo_minus_grey": "-0.74 [-2.61, +1.03] tie", "true_colour": 60.5}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sets() -> dict[str, str]:
    return dict(item.split("=", 1) for item in ",".join(x for x in (REDUCED, SMOKE) if x).split(",") if item)


def source(name: str) -> str:
    where = {**MORE_PHOTOS, **EXTRA_PHOTOS}.get(name, ("wheels",))[0]
    return {"lomiri": "lomiri-wallpapers", "plasma": "plasma-workspace-wallpapers",
            "opencv": "opencv-doc"}.get(where, "wheels/mate")


def describe(d) -> str:
    t, b, c = d
    return f"temperature {t:g}, prior {b:g}" + (f", chroma x confidence^{c:g}" if c else "")


def main() -> None:
    from zoo.reopen import open_run

    given = os.environ.get("COLORIZE_BENCH_RUN", "")
    out, took = trained_or_given("generation/colorize", given, sets())
    log(f"trained generation/colorize in {took / 60:.1f} min")
    summary = json.loads((out / "summary.json").read_text())
    run = open_run(out, device="cpu")
    trainer = run.trainer(with_data=True)
    task, model = trainer.task, trainer.eval_model().eval()
    data = trainer.data
    with torch.no_grad():  # the choice on the validation photos again (what the run stored, for a run trained
        chosen = task.choose(model, data.valid, torch.device("cpu"))  # by this code; a run trained before gets it too)
    test, rgb, mean_ab = data.test.photos, data.test.rgb, data.info["mean_ab"]
    if SMOKE:
        test = test[:3]
    names = [n for n, _ in test]
    pair = tuple(chosen[k] for k in task.KEYS)
    # beside, never chosen on test: the old decoding, and the mean of the distribution with the rebalancing undone
    fixed = [task.OLD, (1.0, 1.0, 0.0)]
    pairs = [pair] + [p for p in fixed if p != pair]
    outs: dict[str, list[torch.Tensor]] = {"grey": [], "mean": [], **{f"zoo{p}": [] for p in pairs}}
    with torch.no_grad():
        for name, lab in test:
            outs["grey"].append(baselines.grey_colours(lab))
            outs["mean"].append(baselines.mean_colour(lab, mean_ab))
            for p, o in zip(pairs, task.colorize(model, lab[:1], torch.device("cpu"), pairs)):
                outs[f"zoo{p}"].append(o)
    p_of = {k: [psnr(o, rgb[n]) for o, n in zip(v, names)] for k, v in outs.items()}
    c_of = {k: [colourfulness(o) for o in v] for k, v in outs.items()}
    true_colour = float(np.mean([colourfulness(rgb[n]) for n in names]))
    ours = f"zoo{pair}"
    (out / "bench-scores.json").write_text(json.dumps({"names": names, "psnr": p_of, "colourfulness": c_of}))
    log(f"per-photo scores: {out / 'bench-scores.json'}")

    reduced = f" **Reduced settings** (COLORIZE_BENCH_SETS={REDUCED})." if REDUCED else ""
    if given:
        reduced += f" Scored from a run trained before (COLORIZE_BENCH_RUN={given})."
    steps = summary["epochs"] * -(-len(data.train) // trainer.config.batch_size)
    photos = data.info["photos"]
    print(f"### Colorization: `generation/colorize`, {summary['epochs']} epochs ({steps} steps of "
          f"{trainer.config.batch_size} crops) in {took / 60:.1f} min, best epoch {summary['best_epoch']}.{reduced}\n")
    counts = {s: sum(source(n) == s for n in names) for s in ("wheels/mate", "lomiri-wallpapers",
                                                              "plasma-workspace-wallpapers")}
    trained = [source(n) for n in photos['train']]
    print(f"Trained on crops of {len(photos['train'])} colour photos (the wheels' and mate-backgrounds' photos, "
          f"{sum(s.endswith('wallpapers') for s in trained)} photographs of Debian's lomiri and plasma wallpaper "
          f"packages and {trained.count('opencv-doc')} of OpenCV's sample images in Debian's opencv-doc). {len(test)} whole colour test photos, never trained on ({', '.join(names)}: "
          + ", ".join(f"{v} from {k}" for k, v in counts.items() if v) + "; longer side 256 px); "
          f"{len(photos['valid'])} validation photos ({', '.join(photos['valid'])}) chose the decoding: "
          f"{chosen['rule']}, out of {len(chosen['table'])} (annealed-mean temperature x prior, how much of the class "
          "rebalancing is divided back out, x the exponent of the confidence that scales chroma). RGB PSNR (dB) "
          "against the true colours, and Hasler-Suesstrunk colourfulness (0 for grey); zoo - grey: the mean "
          "per-photo PSNR difference with its 95% paired bootstrap interval over the test photos.\n")
    print("| colours from | RGB PSNR (dB) | colourfulness | PSNR - grey's [95%] |\n|---|---|---|---|")
    rows = [("grey image (a = b = 0)", "grey"), ("mean colour of the training photos", "mean")]
    rows += [(f"**zoo, chosen on valid: {describe(p)}**" if p == pair else f"zoo, {describe(p)} (beside, not chosen)",
              f"zoo{p}") for p in pairs]
    for label, key in rows:
        cell = "-"
        if key != "grey":
            diff, low, high = paired_bootstrap(p_of[key], p_of["grey"])
            cell = f"{diff:+.2f} [{low:+.2f}, {high:+.2f}] {verdict(low, high)}"
        print(f"| {label} | {np.mean(p_of[key]):.2f} | {np.mean(c_of[key]):.1f} | {cell} |")
    print(f"| true colours | - | {true_colour:.1f} | - |")
    zp, zc, gp = float(np.mean(p_of[ours])), float(np.mean(c_of[ours])), float(np.mean(p_of["grey"]))
    psnr_met, colour_met = zp >= gp, zc >= 0.6 * true_colour
    diff, low, high = paired_bootstrap(p_of[ours], p_of["grey"])
    print(f"\nTargets in this run: RGB PSNR at least the grey image's ({zp:.2f} vs {gp:.2f}): "
          f"{'met' if psnr_met else 'NOT met'} (paired interval: {verdict(low, high)}); colourfulness at least 60% of "
          f"the true photos' ({zc:.1f} vs 0.6 x {true_colour:.1f} = {0.6 * true_colour:.1f}): "
          f"{'met' if colour_met else 'NOT met'}; both: {'met' if psnr_met and colour_met else 'NOT met'}.\n")
    print("On the validation photos (where the choice was made; grey's PSNR there "
          f"{chosen['grey_psnr']:.2f} dB), PSNR / colourfulness per decoding:\n")
    confs = sorted({r["confidence"] for r in chosen["table"]})
    cell = {tuple(r[k] for k in task.KEYS): r for r in chosen["table"]}
    print("| temperature, prior | " + " | ".join(f"confidence^{c:g}" for c in confs) + " |")
    print("|---|" + "---|" * len(confs))
    for t, b in sorted({(r["temperature"], r["prior"]) for r in chosen["table"]}):
        marks = ["**" if (t, b, c) == pair else "" for c in confs]
        print(f"| {t:g}, {b:g} | " + " | ".join(f"{m}{cell[(t, b, c)]['psnr']:.2f} / {cell[(t, b, c)]['colourfulness']:.1f}{m}"
                                           for m, c in zip(marks, confs)) + " |")
    old5 = [i for i, n in enumerate(names) if n in ("astronaut", "coffee", "china", "ladybird", "storm")]
    if old5:
        sub = {k: np.mean([v[i] for i in old5]) for k, v in p_of.items()}
        print(f"\nThe 5 test photos of before alone: grey {sub['grey']:.2f} dB, zoo {sub[ours]:.2f} dB, colourfulness "
              f"{np.mean([c_of[ours][i] for i in old5]):.1f} (true "
              f"{np.mean([colourfulness(rgb[names[i]]) for i in old5]):.1f}). Before this change "
              f"(bench_generation.py's section, 11 training photos, temperature 0.38): grey {OLD['grey']:.2f}, zoo "
              f"{OLD['zoo']:.2f} dB, colourfulness {OLD['zoo_colour']} of {OLD['true_colour']}.\n")
    b = BEFORE_OPENCV
    print(f"Before OpenCV's photos joined the training set ({b['train_photos']} training photos, the same 12 test "
          f"photos, 2026-12-07): zoo {b['zoo']:.2f} dB against grey {b['grey']:.2f} ({b['zoo_minus_grey']}), mean "
          f"colour {b['mean']:.2f}; colourfulness {b['zoo_colour']} of {b['true_colour']}.\n")
    print("The grid of results (grey input, zoo's colours, true colours per test photo) is `results.png` in the run "
          "directory; the choice and its table are `colorize.json`.\n")


if __name__ == "__main__":
    main()
