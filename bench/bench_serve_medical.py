"""`zoo serve` with the flagship: medical/xray-anomaly, one film with and without its heatmap, and the RSS of one
server holding digits and the flagship together.

Trains medical/xray-anomaly for a few steps (the recipe's own network and film size; 120 generated films, since
the serving cost does not depend on how well it learnt) and vision/digits-resnet for one epoch, serves both from
one `zoo serve` process (`--threads 1`, 127.0.0.1), then sends one film at a time (a test film of the run's own
data, as PNG): SERVE_BENCH_FILMS (100) requests without `heatmap` and as many with `?heatmap=true&files=base64`
(Grad-CAM or the anomaly map, computed and sent back as a PNG), alternating.
"""
from __future__ import annotations

import io
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_serve import ROOT, Server, log  # noqa: E402

FILMS = int(os.environ.get("SERVE_BENCH_FILMS", 100))


def film_png(run: Path) -> bytes:
    """A film of the run's data as an 8-bit PNG (what a user would drop on the page)."""
    import numpy as np
    from PIL import Image

    from zoo.build import build

    built = build("medical/xray-anomaly", sets={"data.count": "120", "device": "cpu"})
    x = built.bundle.test[0][0] if built.bundle.test is not None else built.bundle.valid[0][0]
    x = x[0].numpy()
    x = (x - x.min()) / max(1e-6, float(x.max() - x.min()))
    buffer = io.BytesIO()
    Image.fromarray((x * 255).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def main() -> None:
    warnings.simplefilter("ignore")
    from zoo.runs import train

    t = time.perf_counter()
    medical = ROOT / "xray"
    train("medical/xray-anomaly", sets={"grad_stats_every": "0", "threads": "1", "data.count": "120",
                                        "max_steps": "2"}, out=str(medical), epochs=1, callbacks=[])
    digits = ROOT / "digits"
    train("vision/digits-resnet", sets={"grad_stats_every": "0", "threads": "1"}, out=str(digits), epochs=1,
          callbacks=[])
    log(f"trained in {time.perf_counter() - t:.0f} s")
    film = film_png(medical)
    server = Server(digits, str(medical))
    url = f"{server.base}/v1/models/medical/xray-anomaly/predict"
    times: dict[str, list[float]] = {"without": [], "with": []}
    codes: dict[str, dict] = {"without": {}, "with": {}}
    heatmaps = 0
    with httpx.Client(timeout=60) as client:
        for _ in range(3):  # warm both paths
            client.post(url, params={"heatmap": "true", "files": "base64"}, files=[("file", ("film.png", film))])
        for i in range(2 * FILMS):
            kind = "with" if i % 2 else "without"
            params = {"heatmap": "true", "files": "base64"} if kind == "with" else {}
            started = time.perf_counter()
            answer = client.post(url, params=params, files=[("file", ("film.png", film, "image/png"))])
            times[kind].append(time.perf_counter() - started)
            codes[kind][answer.status_code] = codes[kind].get(answer.status_code, 0) + 1
            if kind == "with" and answer.status_code == 200:
                files = answer.json()["predictions"][0].get("files", [])
                heatmaps += any(f["name"].endswith(".heatmap.png") for f in files)
    rss = server.rss()
    code = server.stop()

    def pct(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100)[q - 1] * 1000

    print("## zoo serve: medical/xray-anomaly, one film with and without its heatmap\n")
    print(f"`python bench/run.py serve_medical` ({time.strftime('%Y-%m-%d')}; SERVE_BENCH_FILMS={FILMS}). One "
          f"`zoo serve` process holding vision/digits-resnet and medical/xray-anomaly (the recipes' own networks, "
          f"trained for a moment: the cost of serving does not depend on it), `--threads 1`, 127.0.0.1; one film "
          f"(PNG) at a time, with and without `?heatmap=true&files=base64`, alternating. Load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end (shared machine).\n")
    print("| film | requests | answered 200 | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|")
    for kind in ("without", "with"):
        label = "without heatmap" if kind == "without" else "with heatmap (PNG sent back as base64)"
        print(f"| {label} | {len(times[kind])} | {codes[kind].get(200, 0)} | {pct(times[kind], 50):.1f} | "
              f"{pct(times[kind], 99):.1f} |")
    print(f"\n- Heatmaps returned: {heatmaps} of {len(times['with'])}.")
    print(f"- Cold start to `/ready` with both models: {server.cold_start:.1f} s; RSS of the server after the run: "
          f"{rss:.0f} MB (target: 1 GB or less, {'met' if rss <= 1024 else 'not met'}); exit code on SIGTERM "
          f"{code}.\n")


if __name__ == "__main__":
    main()
