"""`zoo serve`: trained runs behind an HTTP API and a web page. FastAPI and uvicorn are imported inside it."""
from __future__ import annotations

import json
import os
import tempfile

import click

from ..errors import ZooError

DEVICES = click.Choice(["auto", "cpu", "cuda"])


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, metavar="RUN_DIR [RUN_DIR ...]")
@click.option("--name", "names", multiple=True, help="Serve the runs under these names (one per RUN_DIR, in "
                                                     "order; default: each run's recipe name).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes, each holding every model.")
@click.option("--threads", type=click.IntRange(min=1),
              help="torch threads per worker (default: 1 with several workers, else torch's own).")
@click.option("--token", envvar="ZOO_SERVE_TOKEN", help="Require `Authorization: Bearer TOKEN` on every route "
                                                        "but /health (or set ZOO_SERVE_TOKEN).")
@click.option("--max-batch", type=click.IntRange(min=1), default=32, show_default=True,
              help="Inputs gathered into one forward pass (1: no batching).")
@click.option("--max-wait-ms", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="How long the first request of a batch waits for others.")
@click.option("--max-upload-mb", type=click.FloatRange(min=0, min_open=True), default=20.0, show_default=True,
              help="Largest request body; a larger one is refused with 413 before it is read.")
@click.option("--device", type=DEVICES, default="auto", show_default=True)
def serve(run_dirs, names, host, port, workers, threads, token, max_batch, max_wait_ms, max_upload_mb,
          device) -> None:
    """Serve trained runs: a JSON API (POST /v1/models/NAME/predict), a web page at /, docs at /docs.

    Needs the serve extra: pip install 'zoo[serve]'. SIGTERM (or Ctrl-C) stops taking requests, answers those
    in flight and exits.
    """
    try:
        import fastapi  # noqa: F401
        import python_multipart  # noqa: F401  (python-multipart)
        import prometheus_client  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ZooError(f"zoo serve needs the serve extra ({exc.name} is missing): pip install 'zoo[serve]'") from None
    from ..serve.models import resolve_runs

    served = resolve_runs(list(run_dirs), list(names))  # bad RUN_DIRs and names: one line, before binding
    if threads is None and workers > 1:
        threads = 1  # the workers already fill the cores: threads that fight cost ten times the latency
    if host not in ("127.0.0.1", "localhost", "::1") and not token:
        click.echo(f"warning: zoo serve binds {host} without --token: anyone who can reach this machine can use "
                   "the models", err=True)
    settings = {"runs": [str(path) for _, path in served], "names": [n for n, _ in served], "token": token,
                "max_batch": max_batch, "max_wait_ms": max_wait_ms, "max_upload_mb": max_upload_mb,
                "device": device, "threads": threads}
    os.environ["ZOO_SERVE_SETTINGS"] = json.dumps(settings)
    metrics_dir = None
    if workers > 1:  # the workers' metrics added up at /metrics
        metrics_dir = tempfile.TemporaryDirectory(prefix="zoo-serve-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir.name
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    click.echo(f"serving {', '.join(n for n, _ in served)} on http://{shown}:{port}  (page /, API /docs, "
               f"ready at /ready; {workers} worker(s))", err=True)
    try:
        start(host=host, port=port, workers=workers)
    finally:
        if metrics_dir is not None:
            metrics_dir.cleanup()


def start(host: str, port: int, workers: int) -> None:
    """uvicorn, on the app factory; one worker runs in this process and exits 0 once SIGTERM's drain is done."""
    import uvicorn

    options = dict(factory=True, host=host, port=port, log_level="warning", access_log=False,
                   timeout_graceful_shutdown=60)
    if workers > 1:
        uvicorn.run("zoo.serve.app:from_environment", workers=workers, **options)
        return
    draining_server(uvicorn)(uvicorn.Config("zoo.serve.app:from_environment", **options)).run()


def draining_server(uvicorn):
    """uvicorn's Server, less its raising SIGTERM again after the drain (which would end the process by the
    signal): in-flight requests are answered, then `zoo serve` exits 0."""
    import contextlib
    import signal
    import threading

    class DrainingServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return DrainingServer


COMMANDS = (serve,)
