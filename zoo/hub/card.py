"""The model card of a published model (its README.md): the Hub's YAML front matter, then what it is, how to
load it, its data and that data's licence, its test metrics and its files.

The front matter is written by hand in YAML's flow style (every string JSON-quoted, which YAML reads as it
is), so writing a model folder needs no YAML library and no huggingface_hub.
"""
from __future__ import annotations

import json
import re
from typing import Any

UNKNOWN = {"", "n/a", "na", "unknown", "none", "?", "tbd"}

# the Hub's licence identifiers, found in a dataset's free-text licence (the more specific first)
HUB_LICENCES = [
    (r"CC[ -]?BY[ -]NC[ -]ND[ -]?4\.0", "cc-by-nc-nd-4.0"), (r"CC[ -]?BY[ -]NC[ -]SA[ -]?4\.0", "cc-by-nc-sa-4.0"),
    (r"CC[ -]?BY[ -]NC[ -]?4\.0", "cc-by-nc-4.0"), (r"CC[ -]?BY[ -]ND[ -]?4\.0", "cc-by-nd-4.0"),
    (r"CC[ -]?BY[ -]SA[ -]?4\.0", "cc-by-sa-4.0"), (r"CC[ -]?BY[ -]?4\.0", "cc-by-4.0"),
    (r"CC[ -]?BY[ -]?3\.0", "cc-by-3.0"), (r"\bCC0\b", "cc0-1.0"), (r"\bMIT\b", "mit"),
    (r"Apache[ -]2(\.0)?", "apache-2.0"), (r"BSD[ -]3", "bsd-3-clause"), (r"BSD[ -]2", "bsd-2-clause"),
    (r"\bLGPL[ -]?3", "lgpl-3.0"), (r"\bLGPL[ -]?2\.1", "lgpl-2.1"), (r"\bGPL[ -]?3", "gpl-3.0"),
    (r"\bGPL[ -]?2", "gpl-2.0"), (r"\bzlib\b", "zlib"),
    (r"Artistic[ -]2", "artistic-2.0"),
]
# what in a licence restricts the use of weights trained on the data, and how to say it
RESTRICTIONS = [
    (r"\bNC\b|-NC\b|non-?commercial|research use only|research purposes only", "non-commercial use only"),
    (r"\bND\b|-ND\b|no[ -]deriv", "no derivatives: sharing weights trained on the data may itself be barred"),
    (r"no redistribution|not (be )?redistribut", "no redistribution of the data"),
]


def unknown(licence: str) -> bool:
    return licence.strip().lower().rstrip(".") in UNKNOWN


def hub_licence(licence: str) -> str:
    """The Hub's licence id of the data's licence when its text names exactly one licence, first ('GPL-3.0
    (janggu)'), and that licence carries every restriction the text states (research use only is not 'mit');
    else 'other': text naming several licences, or opening otherwise ('ale-py is GPL-2.0; the ROM ...'), is not
    guessed at, and the publisher names the weights' licence with --license."""
    found, text = [], licence
    for pattern, hub_id in HUB_LICENCES:
        match = re.search(pattern, text, 0 if hub_id == "mit" else re.IGNORECASE)
        if match:
            found.append((match.start(), hub_id))
            text = text[:match.start()] + " " * (match.end() - match.start()) + text[match.end():]
    restricted = restrictions(licence)
    if len(found) != 1 or licence[:found[0][0]].strip() or (
            restricted and "-nc" not in found[0][1] and "-nd" not in found[0][1]):
        return "other"
    return found[0][1]


def restrictions(licence: str) -> list[str]:
    return [what for pattern, what in RESTRICTIONS if re.search(pattern, licence, re.IGNORECASE)]


def _q(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def front_matter(info: dict[str, Any]) -> str:
    lines = ["---", "library_name: zoo", f"license: {_q(info['license'])}"]
    if info["license"] == "other":
        lines += [f"license_name: {_q(info['license_name'])}"]
    lines += ["tags:"] + [f"- {_q(tag)}" for tag in info["tags"]]
    lines += ["datasets:", f"- {_q(info['dataset'])}"]
    metrics = info["metrics"]
    if metrics:
        lines += ["model-index:", f"- name: {_q(info['name'])}", "  results:", "  - task:",
                  f"      type: {_q(info['task'])}", f"      name: {_q(info['task'])}", "    dataset:",
                  f"      name: {_q(info['dataset'])}", f"      type: {_q(info['dataset'])}",
                  f"      split: {_q(info['split'])}", "    metrics:"]
        for name, value in metrics.items():
            shown = f"{info['split']} {name}"
            lines += [f"    - type: {_q(name)}", f"      value: {_q(float(value))}", f"      name: {_q(shown)}"]
    return "\n".join(lines + ["---", ""])


def render(info: dict[str, Any]) -> str:
    """README.md of a published model from what publish gathered (see zoo.hub.publish.gather)."""
    name, uri, dist = info["name"], f"hf://{info['name']}", info["distribution"]
    install = "pip install 'zoo[hub]'" + (f" {dist}" if dist and dist != "zoo" else "")
    lines = [front_matter(info), f"# {name}", "",
             f"A zoo model: recipe `{info['recipe']}` ({info['summary']}), the network "
             f"`{info['model']}` trained on `{info['dataset']}` for the task {info['task']}.", ""]
    if info["restricts"]:
        lines += [f"> **The data's licence restricts the use of these weights** ({'; '.join(info['restricts'])}). "
                  f"The weights were trained on data under: {info['licence']}. Read that licence before using or "
                  "sharing them.", ""]
    lines += ["## Use", "", "```bash", install, f"zoo pull {uri}            # into the Hub cache (--out DIR: a folder)",
              f"zoo predict {uri} INPUT...", f"zoo eval {uri}             # on the recipe's default data",
              f"zoo export {uri} --format onnx --out model.onnx", "```", "", "```python", "import zoo", "",
              f"model = zoo.load({uri!r})  # {uri}@REVISION pins a branch, tag or commit",
              "print(model.predict(['INPUT']))", "net = model.module  # the plain torch nn.Module", "```", "",
              "zoo checks every file against the sha256 in `zoo.json` before loading anything, and reads no pickle: "
              "the weights are safetensors, the settings JSON. With `HF_HUB_OFFLINE=1` a model already pulled loads "
              "from the cache without the network.", "",
              "## Data and its licence", "", f"- dataset: `{info['dataset']}`: {info['dataset_summary']}",
              f"- data: {info['data']}", f"- source: {info['source'] or 'n/a'}", f"- licence: {info['licence']}"]
    if info["notes"]:
        lines.append(f"- notes: {info['notes']}")
    lines += [f"- licence of these weights (card metadata): {info['license']}"
              + (f" ({info['license_name']})" if info["license"] == "other" else ""), ""]
    if info["metrics"]:
        lines += [f"## Results ({info['split']} split, the checkpoint `zoo eval` loads)", "",
                  "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {float(v):.4f} |" for k, v in info["metrics"].items()]
        lines.append("")
    lines += ["## Training", "", f"- settings: `config.json` (the resolved recipe); epochs {info['epochs']}, "
              f"best epoch {info['best_epoch']} by {info['monitor']}",
              f"- made with: zoo {info['zoo']}" + (f", {dist} {info['plugin_version']}" if dist else "")
              + f", torch {info['torch']}",
              f"- loads with: zoo{info['zoo_range']}" + (f", {dist}{info['plugin_range']}" if dist else ""), "",
              "## Files", "", "| file | sha256 | bytes |", "|---|---|---|"]
    lines += [f"| {f} | `{d['sha256']}` | {d['size']} |" for f, d in info["files"].items()]
    lines += ["| zoo.json | the manifest zoo checks the files against | |", ""]
    return "\n".join(lines)
