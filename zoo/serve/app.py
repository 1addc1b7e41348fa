"""`zoo serve`: trained runs behind an HTTP API and a web page (FastAPI). `create_app(Settings(...))` builds it.

Every prediction goes through the run's `zoo.predictor.Predictor`, gathered with other requests by the model's
`Batcher`. Uploads are saved to a private temporary folder under a random name with their own suffix and handed
to the Predictor as paths; JSON bodies carry text (or numbers, sent on as the comma-separated text `zoo predict`
takes). Nothing a client sends is taken as a path on the server.

Routes: GET /health, /ready, /metrics, /v1/models, /v1/models/{name}, /v1/models/{name}/card,
/v1/files/{key}/{file}; POST /v1/models/{name}/predict; the page at / (static files under /page/); /docs.
"""
from __future__ import annotations

import asyncio
import base64
import glob
import hmac
import json
import mimetypes
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import UploadFile

from ..errors import ZooError
from .batching import Batcher, Job
from .metrics import Metrics

PAGE = Path(__file__).with_name("page")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")
SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,10}$")
PUBLIC = ("/health",)  # needs no token; the page's static files neither (they hold no model and no data)
FILE_MODES = ("none", "base64", "link")
TEXT_FILES = (".json", ".txt", ".csv", ".tsv", ".md", ".pgn", ".fasta", ".fa", ".pdb")
# options the server decides itself: clients choose no folder or file on the server
SERVER_OWNED = re.compile(r"(^out$|_dir$|_path$|_file$|^device$|^batch_size$)")
KINDS = [("image", r"image|png|jpe?g|radiograph|film|camera|photo"), ("dicom", r"dicom"),
         ("audio", r"\bwav\b|flac|ogg|audio|clip|speech"), ("fen", r"\bfen\b"), ("pgn", r"\bpgn\b"),
         ("fasta", r"fasta|sequence"), ("pdb", r"\bpdb\b"), ("numbers", r"numbers|comma-separated|\.npy"),
         ("text", r"\btext\b|sentence|review")]


@dataclass
class Settings:
    """What `zoo serve` was asked for."""

    runs: list[str]
    names: list[str] = field(default_factory=list)
    token: str | None = None
    max_batch: int = 32
    max_wait_ms: float = 2.0
    max_upload_mb: float = 20.0
    max_inputs: int = 64  # inputs in one request
    device: str = "auto"
    threads: int | None = None  # torch threads of this worker (None: torch's default)
    files_kept: int = 256  # requests whose files stay downloadable by link (the oldest are deleted first)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


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


class BadRequest(Exception):
    """A request refused with a status code and one line, as the CLI would word it."""

    def __init__(self, status: int, message: str, kind: str):
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


def parse_options(served: Served, given: dict[str, Any]) -> dict[str, Any]:
    """Query or JSON options, converted as `zoo predict` converts them; one the run does not read is refused."""
    import click

    known, accepted = plugin_options(), served.accepted_options()
    out: dict[str, Any] = {}
    for raw, value in given.items():
        name = raw.replace("-", "_")
        flag = f"--{name.replace('_', '-')}"
        if name not in known or SERVER_OWNED.search(name):
            raise BadRequest(400, f"zoo serve: unknown option {raw!r} (options this model takes: "
                                  f"{', '.join(accepted) or 'none'})", "bad_option")
        option = known[name]
        if option.is_flag:
            text = str(value).lower()
            if isinstance(value, bool):
                converted = value
            elif text in ("", "1", "true", "yes", "on"):
                converted = True
            elif text in ("0", "false", "no", "off"):
                converted = False
            else:
                raise BadRequest(400, f"{flag}: {value!r} is not a yes/no value", "bad_option")
        else:
            try:
                converted = option.type.convert(value, option, None)
            except click.BadParameter as exc:
                raise BadRequest(400, f"{flag}: {exc.format_message()}", "bad_option") from None
        if converted in (None, False):
            continue
        if name not in accepted:
            if name == "tta":
                raise BadRequest(400, f"--tta: recipe {served.recipe_name} declares no test-time views "
                                      "(set task.tta=hflip,...)", "bad_option")
            raise BadRequest(400, f"zoo predict: {flag} does not apply to {served.recipe_name}", "bad_option")
        out[name] = converted
    return out


def checked_text(text: Any, where: str) -> str:
    """A JSON or form text input; numbers become the comma-separated text `zoo predict` takes. Text that names a
    file or folder on the server, or a glob, is refused: clients send files as uploads."""
    if isinstance(text, bool) or text is None:
        raise BadRequest(400, f"{where}: expected text or numbers, got {json.dumps(text)}", "bad_request")
    if isinstance(text, (int, float)):
        text = repr(text)
    elif isinstance(text, list):
        if not text or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in text):
            raise BadRequest(400, f"{where}: a list must hold numbers only", "bad_request")
        text = ",".join(repr(v) for v in text)
    elif not isinstance(text, str):
        raise BadRequest(400, f"{where}: expected text or numbers, got a JSON {type(text).__name__}", "bad_request")
    if not text.strip():
        raise BadRequest(400, f"{where}: empty text", "bad_request")
    if "\0" in text:
        raise BadRequest(400, f"{where}: text holds a NUL character", "bad_request")
    spaced = any(c.isspace() for c in text)
    if os.path.lexists(text) or (not spaced and glob.has_magic(text)):
        raise BadRequest(400, f"{where}: text may not name a file, folder or glob on the server; upload files "
                              "as multipart/form-data", "bad_request")
    return text


def upload_suffix(filename: str) -> str:
    """The upload's own suffix (.png, .dcm, .nii.gz...), or none when it is not a plain one."""
    suffixes = Path(filename or "").suffixes[-2:]
    if len(suffixes) == 2 and suffixes[-1].lower() == ".gz" and SUFFIX.match(suffixes[0]):
        return "".join(suffixes)
    return suffixes[-1] if suffixes and SUFFIX.match(suffixes[-1]) else ""


class FileStore:
    """Folders of files predictions wrote, kept for download by link; the oldest go first past `keep`."""

    def __init__(self, root: Path, keep: int):
        self.root, self.keep = root, max(1, keep)
        self.root.mkdir(parents=True, exist_ok=True)
        self.kept: OrderedDict[str, Path] = OrderedDict()
        self.lock = threading.Lock()

    def add(self, folder: Path) -> str:
        key = uuid.uuid4().hex
        target = self.root / key
        folder.replace(target)
        with self.lock:
            self.kept[key] = target
            while len(self.kept) > self.keep:
                _, old = self.kept.popitem(last=False)
                shutil.rmtree(old, ignore_errors=True)
        return key

    def path(self, key: str, filename: str) -> Path | None:
        with self.lock:
            folder = self.kept.get(key)
        if folder is None or "/" in filename or filename.startswith("."):
            return None
        path = folder / filename
        return path if path.is_file() else None


# -- the app ----------------------------------------------------------------------------------------------------
class Guard:
    """Pure ASGI middleware: the bearer token (every route but /health and the page's static files) and the
    upload limit, answered 413 from the Content-Length header before any of the body is read, or as soon as a
    body without one passes the limit."""

    class TooLarge(Exception):
        pass

    def __init__(self, app, token: str | None, limit: int, metrics: Metrics):
        self.app, self.token, self.limit, self.metrics = app, token, limit, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.token and not (path in PUBLIC or path == "/" or path.startswith("/page/")):
            given = headers.get("authorization", "")
            if not (given.startswith("Bearer ") and hmac.compare_digest(given[7:].encode(), self.token.encode())):
                self.metrics.errors.labels("unauthorized").inc()
                return await self._answer(send, 401, "missing or wrong token: send Authorization: Bearer TOKEN",
                                          [(b"www-authenticate", b"Bearer")], scope)
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return await self._answer(send, 400, "Content-Length is not a number", [], scope)
            if int(length) > self.limit:
                self.metrics.errors.labels("too_large").inc()
                return await self._answer(send, 413, self._too_large(), [], scope)
        received, over, started = 0, False, False

        async def limited_receive():
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    over = True
                    raise Guard.TooLarge()
            return message

        async def watched_send(message):
            nonlocal started
            if over:  # the body passed the limit: the app's own answer to that is replaced by the 413
                return
            if message["type"] == "http.response.start":
                started = True
                self.metrics.requests.labels(route_of(scope), str(message["status"])).inc()
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except Guard.TooLarge:
            pass
        if over and not started:
            self.metrics.errors.labels("too_large").inc()
            await self._answer(send, 413, self._too_large(), [], scope, close=True)

    def _too_large(self) -> str:
        return f"upload over the limit of {self.limit / 1024 / 1024:g} MB (zoo serve --max-upload-mb)"

    async def _answer(self, send, status: int, detail: str, headers, scope, close: bool = False) -> None:
        self.metrics.requests.labels(route_of(scope), str(status)).inc()
        body = json.dumps({"detail": detail}).encode()
        extra = [(b"connection", b"close")] if close or status == 413 else []
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                *headers, *extra]})
        await send({"type": "http.response.body", "body": body})


def route_of(scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


def create_app(settings: Settings) -> FastAPI:
    """The app serving `settings.runs`; the runs load in a thread once it starts (GET /ready says when)."""
    runs = resolve_runs(settings.runs, settings.names)
    served = {name: Served(name, folder) for name, folder in runs}
    metrics = Metrics()
    state: dict[str, Any] = {"ready": False, "error": None, "scratch": None, "store": None}

    def load_all(scratch: Path) -> None:
        if settings.threads:
            set_threads(settings.threads)
        for model in served.values():
            try:
                model.load(settings, metrics, scratch)
            except Exception as exc:  # noqa: BLE001 - reported by /ready and on stderr; the others still load
                model.error = str(exc) if isinstance(exc, ZooError) else f"{type(exc).__name__}: {exc}"
                state["error"] = f"{model.name}: {model.error}"
                print(f"error: zoo serve: {model.name} ({model.folder}) could not be loaded: {model.error}",
                      file=sys.stderr, flush=True)
        state["ready"] = all(m.ready for m in served.values())

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        scratch = Path(tempfile.mkdtemp(prefix="zoo-serve-"))
        state["scratch"], state["store"] = scratch, FileStore(scratch / "files", settings.files_kept)
        (scratch / "in").mkdir()
        loader = threading.Thread(target=load_all, args=(scratch,), name="zoo-serve-loader", daemon=True)
        loader.start()
        try:
            yield
        finally:  # requests in flight have been answered (uvicorn drains them first): finish and clean up
            loader.join(60)
            for model in served.values():
                if model.batcher is not None:
                    model.batcher.close()
            shutil.rmtree(scratch, ignore_errors=True)

    app = FastAPI(title="zoo serve", summary="Predictions of trained zoo runs", lifespan=lifespan,
                  description="Each run is served under its recipe's name (or `zoo serve --name`). "
                              "`POST /v1/models/{name}/predict` takes the inputs `zoo predict` takes: files as "
                              "multipart/form-data, or JSON `{\"inputs\": [text or numbers, ...]}`.")
    app.state.settings, app.state.served, app.state.metrics, app.state.status = settings, served, metrics, state
    app.add_middleware(Guard, token=settings.token, limit=settings.max_upload_bytes, metrics=metrics)

    def refuse(status: int, message: str, kind: str) -> JSONResponse:
        metrics.errors.labels(kind).inc()
        return JSONResponse({"detail": message}, status_code=status)

    def lookup(name: str) -> Served | JSONResponse:
        model = served.get(name)
        if model is None:
            return refuse(404, f"no model named {name!r}; served: {', '.join(served)}", "not_found")
        if not model.ready:
            why = f" ({model.error})" if model.error else ""
            return refuse(503, f"model {name} is not loaded{why}", "not_ready")
        return model

    @app.get("/health", tags=["server"])
    def health() -> dict[str, str]:
        """Alive: the process answers (models may still be loading)."""
        return {"status": "alive"}

    @app.get("/ready", tags=["server"])
    def ready() -> JSONResponse:
        """200 once every model is loaded and warmed; 503 until then (or when one failed to load)."""
        body = {"ready": state["ready"], "models": {n: m.ready for n, m in served.items()}}
        if state["error"]:
            body["error"] = state["error"]
        return JSONResponse(body, status_code=200 if state["ready"] else 503)

    @app.get("/metrics", tags=["server"], response_class=PlainTextResponse)
    def prometheus() -> Response:
        """Prometheus text format: requests, latency, batch sizes, errors by kind."""
        data, content_type = metrics.text()
        return Response(data, media_type=content_type)

    @app.get("/v1/models", tags=["models"])
    def models() -> dict[str, Any]:
        """Every served model: name, recipe, task, inputs, options, metrics from summary.json, data licence."""
        return {"models": [m.info() for m in served.values()]}

    @app.get("/v1/models/{name:path}/card", tags=["models"], response_class=PlainTextResponse)
    def card(name: str) -> Response:
        """The run's model card (its README.md), as Markdown."""
        model = served.get(name)
        if model is None:
            return refuse(404, f"no model named {name!r}; served: {', '.join(served)}", "not_found")
        path = model.folder / "README.md"
        text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else f"# {name}\n\n(no card)\n"
        return Response(text, media_type="text/markdown; charset=utf-8")

    @app.get("/v1/models/{name:path}", tags=["models"])
    def one_model(name: str) -> Any:
        model = served.get(name)
        if model is None:
            return refuse(404, f"no model named {name!r}; served: {', '.join(served)}", "not_found")
        return model.info()

    @app.post("/v1/models/{name:path}/predict", tags=["models"])
    async def predict(name: str, request: Request,
                      files: str = Query("none", description="files the task writes: none, base64 or link")) -> Any:
        """The `zoo predict --json` dicts, one per input: `{"model": NAME, "predictions": [...]}`. Options of
        `zoo predict` go in the query string (`?heatmap=true`) or in the JSON body's `options`."""
        started = time.perf_counter()
        model = lookup(name)
        if isinstance(model, JSONResponse):
            return model
        workdir = state["scratch"] / "in" / uuid.uuid4().hex
        shown: dict[str, str] = {}  # saved path -> the name the client gave
        form = None
        try:
            if files not in FILE_MODES:
                raise BadRequest(400, f"files={files!r}: use one of {', '.join(FILE_MODES)}", "bad_request")
            given = {k: v for k, v in request.query_params.multi_items() if k != "files"}
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            inputs: list[Any] = []
            if content_type == "multipart/form-data":
                try:
                    form = await request.form(max_files=settings.max_inputs, max_fields=settings.max_inputs)
                except Guard.TooLarge:
                    raise
                except Exception as exc:  # noqa: BLE001 - starlette words a bad multipart body itself
                    raise BadRequest(400, f"not a readable multipart body ({getattr(exc, 'detail', exc)})",
                                     "bad_request") from None
                workdir.mkdir()
                for key, value in form.multi_items():
                    if isinstance(value, UploadFile):
                        original = Path(value.filename or "upload").name or "upload"
                        path = workdir / f"{uuid.uuid4().hex}{upload_suffix(original)}"
                        with path.open("wb") as out:
                            shutil.copyfileobj(value.file, out, 1 << 20)
                        shown[str(path)] = original
                        inputs.append(str(path))
                    else:
                        inputs.append(checked_text(value, f"form field {key!r}"))
            elif content_type in ("application/json", "text/json") or content_type.endswith("+json"):
                try:
                    body = json.loads(await request.body())
                except (ValueError, UnicodeDecodeError) as exc:
                    raise BadRequest(400, f"the body is not valid JSON ({exc})", "bad_request") from None
                if not isinstance(body, dict) or not ({"inputs", "input"} & set(body)):
                    raise BadRequest(400, 'expected a JSON object {"inputs": [text or numbers, ...]} (or "input")',
                                     "bad_request")
                unknown = set(body) - {"inputs", "input", "options"}
                if unknown:
                    raise BadRequest(400, f"unknown field {sorted(unknown)[0]!r} (use inputs, input, options)",
                                     "bad_request")
                items = body["inputs"] if "inputs" in body else [body["input"]]
                if not isinstance(items, list):
                    raise BadRequest(400, '"inputs" must be a list', "bad_request")
                extra = body.get("options") or {}
                if not isinstance(extra, dict):
                    raise BadRequest(400, '"options" must be an object', "bad_request")
                given.update(extra)
                inputs = [checked_text(v, f"inputs[{i}]") for i, v in enumerate(items)]
            else:
                raise BadRequest(400, "send files as multipart/form-data or JSON {\"inputs\": [...]} "
                                      f"(got Content-Type {content_type or 'none'!r})", "bad_request")
            if not inputs:
                raise BadRequest(400, "zoo predict: give at least one INPUT", "bad_request")
            if len(inputs) > settings.max_inputs:
                raise BadRequest(400, f"{len(inputs)} inputs in one request; at most {settings.max_inputs}",
                                 "bad_request")
            options = parse_options(model, given)
            # an option may make the task write files (medical's heatmap): into the request's own folder, never
            # into the run directory
            job = Job(inputs, options, files=files != "none" or any(k != "tta" for k in options))
            future = model.batcher.submit(job)
            try:
                outcome = await asyncio.shield(asyncio.wrap_future(future))
            except asyncio.CancelledError:  # the client went away: its files are deleted once predicted
                future.add_done_callback(discard)
                raise
        except Guard.TooLarge:
            raise
        except BadRequest as exc:
            return refuse(exc.status, scrub(exc.message, shown, state["scratch"]), exc.kind)
        except ZooError as exc:  # every input failed: the message the CLI prints
            return refuse(422, scrub(str(exc), shown, state["scratch"]), "unreadable")
        except Exception as exc:  # noqa: BLE001 - a fault of the model or the task, kept to this request
            import traceback

            traceback.print_exc()
            return refuse(500, scrub(f"internal error: {type(exc).__name__}: {exc}".splitlines()[0], shown,
                                     state["scratch"]), "internal")
        finally:
            if form is not None:
                await form.close()
            shutil.rmtree(workdir, ignore_errors=True)
        try:
            predictions = present(outcome, files, shown, state)
        finally:
            if outcome.folder is not None and outcome.folder.exists():
                shutil.rmtree(outcome.folder, ignore_errors=True)
        bad = sum("error" in p for p in predictions)
        if bad:
            metrics.errors.labels("bad_input").inc(bad)
        metrics.inputs.labels(name).inc(len(predictions) - bad)
        metrics.latency.labels(name).observe(time.perf_counter() - started)
        return {"model": name, "predictions": predictions}

    @app.get("/v1/files/{key}/{filename}", tags=["models"])
    def download(key: str, filename: str) -> Response:
        """A file a prediction wrote (asked for with ?files=link); the newest requests' files are kept."""
        path = state["store"].path(key, filename) if re.fullmatch(r"[0-9a-f]{32}", key) else None
        if path is None:
            return refuse(404, f"no file {key}/{filename} (files are kept for the newest "
                               f"{settings.files_kept} requests)", "not_found")
        return FileResponse(path, media_type=mimetypes.guess_type(filename)[0] or "application/octet-stream")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(PAGE / "index.html", media_type="text/html")

    app.mount("/page", StaticFiles(directory=PAGE), name="page")
    return app


def discard(future) -> None:
    """A job nobody waits for any more: the files it wrote go."""
    if not future.cancelled() and future.exception() is None and future.result().folder is not None:
        shutil.rmtree(future.result().folder, ignore_errors=True)


def scrub(value: Any, shown: dict[str, str], scratch: Path | None) -> Any:
    """Saved upload paths back to the names the client gave; no other server path goes out."""
    if isinstance(value, str):
        for saved, original in shown.items():
            value = value.replace(saved, original)
            stem = Path(saved).name.split(".")[0]
            value = value.replace(stem, Path(original).name.split(".")[0])
        if scratch is not None:
            value = value.replace(str(scratch), "<server>")
        return value
    if isinstance(value, dict):
        return {k: scrub(v, shown, scratch) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, shown, scratch) for v in value]
    return value


def present(outcome, mode: str, shown: dict[str, str], state: dict[str, Any]) -> list[dict[str, Any]]:
    """The job's predictions for the client: its names back, and the files it wrote (listed in `files`, or named
    by a value such as medical's `heatmap`) as base64 or links in `files`, the value then naming the file."""
    folder = outcome.folder
    inside = f"{folder}{os.sep}" if folder is not None else None

    def written_by(result: dict[str, Any]) -> list[Path]:
        paths = [Path(f) for f in result.get("files") or []]
        for key, value in result.items():
            if key != "files" and inside and isinstance(value, str) and value.startswith(inside):
                paths.append(Path(value))
        return [p for i, p in enumerate(paths) if p.is_file() and p not in paths[:i]]

    written = [written_by(r) for r in outcome.results]
    for path in (p for paths in written for p in paths):
        if path.suffix.lower() in TEXT_FILES:  # e.g. the prediction as JSON: the upload's name, not the copy's
            text = path.read_text(encoding="utf-8", errors="replace")
            path.write_text(scrub(text, shown, state["scratch"]), encoding="utf-8")
    key = state["store"].add(folder) if mode == "link" and folder is not None and any(written) else None
    out = []
    for result, paths in zip(outcome.results, written):
        had_files = "files" in result
        result.pop("files", None)
        for name, value in list(result.items()):  # a value naming a file: the file's name, as the client sees it
            if inside and isinstance(value, str) and value.startswith(inside):
                result[name] = scrub(Path(value).name, shown, None)
        result = scrub(result, shown, state["scratch"])
        if mode != "none" and (paths or had_files):
            listed = []
            for path in paths:
                entry = {"name": scrub(path.name, shown, None),
                         "media_type": mimetypes.guess_type(path.name)[0] or "application/octet-stream"}
                if mode == "base64":
                    entry["base64"] = base64.b64encode(path.read_bytes()).decode("ascii")
                else:
                    entry["url"] = f"/v1/files/{key}/{path.name}"
                listed.append(entry)
            result["files"] = listed
        out.append(result)
    return out


def from_environment() -> FastAPI:
    """The app of one `zoo serve` worker process, from the settings the CLI put in ZOO_SERVE_SETTINGS."""
    return create_app(Settings(**json.loads(os.environ["ZOO_SERVE_SETTINGS"])))
