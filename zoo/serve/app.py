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
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import UploadFile

from ..errors import ZooError
from .batching import Job
from .guard import Guard
from .metrics import Metrics
from .models import Served, resolve_runs, set_threads
from .requests import (FILE_MODES, BadRequest, FileStore, checked_text, discard, parse_options, present, scrub,
                       upload_suffix)

PAGE = Path(__file__).with_name("page")


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


def from_environment() -> FastAPI:
    """The app of one `zoo serve` worker process, from the settings the CLI put in ZOO_SERVE_SETTINGS."""
    return create_app(Settings(**json.loads(os.environ["ZOO_SERVE_SETTINGS"])))
