"""`zoo list` with every plugin installed against `import timm; timm.list_models()`, interleaved runs."""
import statistics
import subprocess
import sys
import time

RUNS = 7
COMMANDS = {
    "zoo list": [sys.executable, "-m", "zoo", "list"],
    "import timm; timm.list_models()": [sys.executable, "-c", "import timm; timm.list_models()"],
}


def seconds(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


times = {name: [] for name in COMMANDS}
for _ in range(RUNS):
    for name, cmd in COMMANDS.items():
        times[name].append(seconds(cmd))
plugins = subprocess.run([sys.executable, "-m", "zoo", "plugins", "--json"], capture_output=True, text=True).stdout
import json  # noqa: E402

loaded = [p["name"] for p in json.loads(plugins) if p["status"] == "loaded"]
zoo, timm = statistics.median(times["zoo list"]), statistics.median(times["import timm; timm.list_models()"])
print("## `zoo list` start-up\n")
print(f"Plugins installed and loaded: {', '.join(loaded)}. Median of {RUNS} interleaved runs (wall seconds).\n")
print("| command | median s | min s | max s |\n|---|---|---|---|")
for name, values in times.items():
    print(f"| `{name}` | {statistics.median(values):.3f} | {min(values):.3f} | {max(values):.3f} |")
print(f"\nRatio zoo list / timm.list_models(): {zoo / timm:.3f}. Target: `zoo list` under 0.5 s: "
      f"{'met' if zoo < 0.5 else 'NOT met'} ({zoo:.3f} s).")
