"""The runs a server holds: their names and folders checked before serving, each loaded into a Predictor with its
Batcher and warmed up, and what GET /v1/models says of it."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ZooError
from .batching import Batcher
from .metrics import Metrics

if TYPE_CHECKING:
    from .app import Settings

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")
# options the server decides itself: clients choose no folder or file on the server
SERVER_OWNED = re.compile(r"(^out$|_dir$|_path$|_file$|^device$|^batch_size$)")
# what a run reads, guessed from its reader's docstring and its dataset's summary: the page offers a matching input
KINDS = [("image", r"image|png|jpe?g|radiograph|film|camera|photo"), ("dicom", r"dicom"),
         ("audio", r"\bwav\b|flac|ogg|audio|clip|speech"), ("fen", r"\bfen\b"), ("pgn", r"\bpgn\b"),
         ("fasta", r"fasta|sequence"), ("pdb", r"\bpdb\b"), ("numbers", r"numbers|comma-separated|\.npy"),
         ("text", r"\btext\b|sentence|review")]


def resolve_runs(runs: list[str], names: list[str] | tuple[str, ...] = ()) -> list[tuple[str, Path]]:
    """(name, run folder) per RUN_DIR: its recipe's name unless --name gives one; checked before serving."""
    from ..hub import resolve
    from ..rundir import read_config

    if not runs:
        raise ZooError("zoo serve: give at least one RUN_DIR")
    if len(names) > len(runs):
        raise ZooError(f"zoo serve: {len(names)} --name for {len(runs)} RUN_DIR(s); give at most one per run")
    out: list[tuple[str, Path]] = []
    for i, given in enumerate(runs):
        run = resolve(given)  # hf://ORG/NAME[@REVISION] or a published folder, fetched and checked; a run as it is
        saved = read_config(run)
        name = names[i] if i < len(names) else saved["recipe"]
        if not NAME.match(name) or name.endswith(("/card", "/predict")):
            raise ZooError(f"--name {name!r}: use letters, digits and . _ / - (128 at most)")
        if any(name == n for n, _ in out):
            raise ZooError(f"zoo serve: two runs would be served as {name}; name them apart with --name "
                           "(one per RUN_DIR, in order)")
        out.append((name, Path(run)))
    return out


# -- one served run -------------------------------------------------------------------------------------------
class Served:
    """A run being served: its Predictor, its batcher and what /v1/models says of it."""

    def __init__(self, name: str, folder: Path):
        from ..rundir import read_config

        self.name, self.folder = name, folder
        self.recipe_name = read_config(folder)["recipe"]
        self.predictor = None
        self.batcher: Batcher | None = None
        self.warmed = False
        self.error: str | None = None
        self.described: dict[str, Any] | None = None

    @property
    def ready(self) -> bool:
        return self.batcher is not None

    def load(self, settings: Settings, metrics: Metrics, scratch: Path) -> None:
        from ..predictor import Predictor

        threads = settings.threads
        self.predictor = Predictor(self.folder, device=settings.device)
        self.warmed = warm(self.predictor, scratch)
        self.described = describe(self)

        def record(inputs: int, requests: int, seconds: float) -> None:
            metrics.batch(self.name, inputs, requests, seconds)

        self.batcher = Batcher(self.predictor, settings.max_batch, settings.max_wait_ms, scratch, on_batch=record,
                               name=self.name, on_start=(lambda: set_threads(threads)) if threads else None)

    def info(self) -> dict[str, Any]:
        if self.described is not None:
            return {**self.described, "ready": self.ready}
        return {"name": self.name, "recipe": self.recipe_name, "ready": False, "error": self.error}

    def accepted_options(self) -> dict[str, Any]:
        """The `zoo predict` options this run's task reads, by name (click.Option), plus tta when it has views."""
        task = self.predictor.task
        known = plugin_options()
        names = [n for n in getattr(task, "predict_options", ()) if n in known and not SERVER_OWNED.search(n)]
        if getattr(self.predictor, "views", None):
            names.append("tta")
        return {n: known[n] for n in names}


def set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def warm(predictor, scratch: Path) -> bool:
    """The reader imported and two forward passes run on a synthetic input of a kind the run takes (an image, a
    second of silence, the starting chess position, a sentence), so the first request pays no start-up cost."""
    candidates: list[Any] = []
    try:
        from PIL import Image

        image = scratch / "warm.png"
        Image.linear_gradient("L").resize((64, 64)).save(image)
        candidates.append(str(image))
    except Exception:  # noqa: BLE001 - Pillow missing: no image warm-up
        pass
    import wave

    sound = scratch / "warm.wav"
    with wave.open(str(sound), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000), w.writeframes(b"\0\0" * 16000)
    candidates += [str(sound), "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", "a short sentence to warm up"]
    for candidate in candidates:
        try:
            item = predictor.read(candidate)
            for _ in range(2):
                predictor.outputs([item])
            return True
        except Exception:  # noqa: BLE001 - not a kind this run reads: try the next
            continue
    return False


def describe(served: Served) -> dict[str, Any]:
    """What GET /v1/models says of a loaded run: its recipe, task, inputs, options, metrics and data licence."""
    from ..plugins import get_registry
    from ..registry.entries import import_path

    predictor = served.predictor
    recipe = predictor.recipe
    dataset = get_registry().get(recipe.dataset, kind="dataset")
    reader_doc = ""
    if dataset.reader:
        try:
            reader_doc = (import_path(dataset.reader, dataset.name).__doc__ or "").strip().splitlines()[0]
        except Exception:  # noqa: BLE001 - the page falls back to offering both a file and text
            reader_doc = ""
    text = f"{reader_doc} {dataset.summary}".lower()
    kinds = [kind for kind, pattern in KINDS if re.search(pattern, text)]
    metrics: dict[str, Any] = {}
    summary = served.folder / "summary.json"
    if summary.is_file():
        try:
            saved = json.loads(summary.read_text())
            if isinstance(saved.get("test"), dict):
                metrics["test"] = saved["test"]
            valid = saved.get("valid")
            if isinstance(valid, dict) and isinstance(valid.get("best"), dict):
                metrics["valid"] = valid["best"]
        except (OSError, ValueError):
            pass
    options = [{"name": n, "flag": bool(o.is_flag), "help": o.help or ""}
               for n, o in served.accepted_options().items()]
    return {"name": served.name, "recipe": recipe.name, "summary": recipe.summary, "task": recipe.task,
            "model": recipe.model, "dataset": dataset.name,
            "input": {"kinds": kinds, "description": reader_doc or dataset.summary},
            "options": options, "metrics": metrics,
            "data": {"source": dataset.source, "licence": dataset.licence},
            "classes": predictor.info.get("classes"), "warmed": served.warmed,
            "card": f"/v1/models/{served.name}/card"}
_PLUGIN_OPTIONS: dict[str, Any] | None = None


def plugin_options() -> dict[str, Any]:
    """The `zoo predict` options that reach a task, by parameter name: those plugins add (their
    zoo_predict_options hook, as the CLI takes them) and --tta."""
    global _PLUGIN_OPTIONS
    if _PLUGIN_OPTIONS is None:
        import click

        from ..plugins import get_manager

        options: dict[str, Any] = {"tta": click.Option(["--tta"], is_flag=True,
                                                       help="Average over the recipe's test-time views.")}
        for impl in get_manager().pm.hook.zoo_predict_options.get_hookimpls():
            try:
                found = impl.function()
            except Exception:  # noqa: BLE001 - a plugin whose hook fails adds nothing (zoo plugins reports it)
                continue
            for option in found if isinstance(found, (list, tuple)) else []:
                if isinstance(option, click.Option) and option.name not in options:
                    options[option.name] = option
        _PLUGIN_OPTIONS = options
    return _PLUGIN_OPTIONS
