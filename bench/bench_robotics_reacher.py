"""robotics/reacher-bc: behaviour cloning and DAgger against the scripted expert and a random policy.

Both variants train with the recipe's defaults at an equal label budget (each round adds as many expert-labelled
states: driven by the learner with DAgger, by the expert without), three seeds each; every policy is rolled out
on the same 100 test episodes (fixed starts and targets). Success: the fingertip within 1 cm of the target at
the end of the episode. Target (issue 18): success at least 90% of the expert's, with and without DAgger.
Set REACHER_BENCH_SETS=epochs=2,task.eval_budget=5 for a smoke test (its figures mean nothing).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from recipes import train_defaults  # noqa: E402
from paired import paired_bootstrap, verdict  # noqa: E402

from zoo.reopen import open_run  # noqa: E402
from zoo_robotics import reacher  # noqa: E402

SEEDS = (0, 1, 2)
EPISODES = 100
VARIANTS = {"DAgger": {"data.dagger": "true"}, "behaviour cloning": {"data.dagger": "false"},
            "behaviour cloning, clean demonstrations": {"data.dagger": "false", "data.noise": "0"}}


def main() -> None:
    test = reacher.episode_seeds("test", EPISODES)
    runs = {"expert": reacher.rollouts(reacher.expert, test), "random": reacher.rollouts(reacher.random_policy(0), test)}
    minutes = {}
    for name, sets in VARIANTS.items():
        for seed in SEEDS:
            started = time.process_time()
            out, seconds, summary = train_defaults("robotics/reacher-bc", "REACHER_BENCH_SETS", threads=1,
                                                   sets={"seed": str(seed), **sets})
            minutes[(name, seed)] = (seconds / 60, (time.process_time() - started) / 60, summary["epochs"])
            model = open_run(out, device="cpu").module
            runs[(name, seed)] = reacher.rollouts(reacher.network_policy(model), test)
    expert_rate = runs["expert"].success.mean()

    print("## robotics: imitating a Reacher controller (`robotics/reacher-bc`)\n")
    epochs = next(iter(minutes.values()))[2]
    print(f"MuJoCo Reacher-v5 (gymnasium), {EPISODES} test episodes with fixed starts and targets, the same for every "
          f"policy. Each learner: the recipe's defaults ({epochs} rounds; round 0: 20 expert episodes, then 10 a "
          "round), one torch thread; behaviour cloning's later rounds are driven by the expert, DAgger's by the "
          "learner, all labelled by the expert, so all see as many labels. The expert's episodes stray with "
          "Gaussian noise (0.3) on its torques, labels clean (DART), except in 'clean demonstrations'. Success: "
          "fingertip within 1 cm of the target at the end of the 50-step episode.\n")
    print("| policy | seed | success | mean return | mean final distance (cm) | diverged | train min (wall / CPU) |\n"
          "|---|---|---|---|---|---|---|")
    for key, run in runs.items():
        name, seed = key if isinstance(key, tuple) else (key, "")
        cost = f"{minutes[key][0]:.1f} / {minutes[key][1]:.1f}" if key in minutes else ""
        print(f"| {name} | {seed} | {run.success.mean():.2f} | {run.returns.mean():.2f} | "
              f"{np.nanmean(run.final_cm):.2f} | {int(run.diverged.sum())} | {cost} |")
    print("\n| learner | success over seeds (mean, min-max) | / expert's | target (>= 0.9 of the expert's) |\n"
          "|---|---|---|---|")
    rates = {}
    for name in VARIANTS:
        rates[name] = np.array([runs[(name, s)].success.mean() for s in SEEDS])
        ratio = rates[name].mean() / expert_rate
        print(f"| {name} | {rates[name].mean():.3f} ({rates[name].min():.2f}-{rates[name].max():.2f}) | "
              f"{ratio:.3f} | {'met' if ratio >= 0.9 else 'NOT met'} |")
    print("\nPaired per episode (seed 0's runs; bootstrap 95% interval):\n")
    print("| comparison | measure | mean difference | 95% interval | result |\n|---|---|---|---|---|")
    pairs = [("DAgger - behaviour cloning", runs[("DAgger", 0)], runs[("behaviour cloning", 0)]),
             ("DAgger - expert", runs[("DAgger", 0)], runs["expert"]),
             ("behaviour cloning - clean demonstrations", runs[("behaviour cloning", 0)],
              runs[("behaviour cloning, clean demonstrations", 0)]),
             ("behaviour cloning - random", runs[("behaviour cloning", 0)], runs["random"])]
    for label, ours, theirs in pairs:
        for measure, a, b in (("success", ours.success, theirs.success), ("return", ours.returns, theirs.returns)):
            diff, low, high = paired_bootstrap(a.astype(float), b.astype(float))
            print(f"| {label} | {measure} | {diff:+.3f} | [{low:+.3f}, {high:+.3f}] | {verdict(low, high)} |")
    gap = rates["DAgger"] - rates["behaviour cloning"]
    print(f"\nOver the three seeds, DAgger - behaviour cloning success: {gap.mean():+.3f} "
          f"(per seed {', '.join(f'{g:+.2f}' for g in gap)}).")


if __name__ == "__main__":
    main()
