"""`zoo serve`: every route, error and limit through FastAPI's TestClient, the batcher on a fake Predictor, the CLI
(SIGTERM drain, a 413 before the body is read, the 0.0.0.0 warning), and the page in a real headless Chromium."""
from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="zoo serve needs the serve extra: pip install 'zoo[serve]'")
import httpx  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

import toy_plugin  # noqa: E402
from zoo.serve.app import Settings, create_app  # noqa: E402
from zoo.serve.requests import checked_text, upload_suffix  # noqa: E402
from zoo.serve.batching import Batcher, Job  # noqa: E402
from zoo import ZooError  # noqa: E402
from zoo.testing import require, train_tiny  # noqa: E402

toy_plugin.register()
TESTS = Path(__file__).parent
DENOISE, BOARD, DIGITS = "toy/denoise", "toy/tictactoe-selfplay", "vision/digits-resnet"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three tiny runs: images in and images out (toy/denoise, with flip views), text in (tic-tac-toe boards), and
    digits (a real reader, which names a bad file in one line; the page test's model)."""
    folder = tmp_path_factory.mktemp("runs")
    denoise, _ = train_tiny(DENOISE, folder, epochs=1)
    board, _ = train_tiny(BOARD, folder, "data.games=10", "task.steps_per_round=5", "task.eval_budget=4", epochs=1)
    digits, _ = train_tiny(DIGITS, folder, "model.width=8", "data.image_size=8", "batch_size=64", "task.tta=",
                           "max_steps=3", "eval_limit=1", "data.augment=none", "device=cpu")
    return {"denoise": denoise.dir, "board": board.dir, "digits": digits.dir}


@pytest.fixture(scope="module")
def png(tmp_path_factory):
    """A 16 x 16 grey PNG like the denoiser's inputs, as bytes."""
    from PIL import Image

    image = Image.linear_gradient("L").resize((16, 16))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def wait_ready(client, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = client.get("/ready")
        if answer.status_code == 200:
            return answer.json()
        assert answer.status_code == 503 and "error" not in answer.json(), answer.text
        time.sleep(0.05)
    raise AssertionError("the models never became ready")


@pytest.fixture(scope="module")
def client(runs):
    app = create_app(Settings(runs=[str(runs["denoise"]), str(runs["board"]), str(runs["digits"])],
                              max_upload_mb=0.05, max_inputs=4,
                              max_wait_ms=20, threads=1, files_kept=2))
    with TestClient(app) as c:
        wait_ready(c)
        yield c


def predict(client, name, **kwargs):
    return client.post(f"/v1/models/{name}/predict", **kwargs)


# -- routes ---------------------------------------------------------------------------------------------------------
def test_health_ready_models_card_docs(client, runs):
    assert client.get("/health").json() == {"status": "alive"}
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["models"] == {DENOISE: True, BOARD: True, DIGITS: True}
    models = {m["name"]: m for m in client.get("/v1/models").json()["models"]}
    assert set(models) == {DENOISE, BOARD, DIGITS}
    assert models[DIGITS]["input"]["kinds"] == ["image"] and models[DIGITS]["classes"] == [str(i) for i in range(10)]
    assert models[DIGITS]["data"]["licence"].startswith("CC BY 4.0")
    denoise = models[DENOISE]
    assert denoise["recipe"] == DENOISE and denoise["task"] == "toy_plugin:DenoiseTask" and denoise["ready"]
    summary = json.loads((runs["denoise"] / "summary.json").read_text())
    assert denoise["metrics"]["test"] == summary["test"]  # the run's own figures
    assert "licence" in denoise["data"] and denoise["warmed"] is True  # warmed on a synthetic PNG
    assert [o["name"] for o in denoise["options"]] == ["tta"]  # it declares flip views
    # no synthetic input is a board (9 of x, o and .): loaded, but its first request pays the first forward pass
    assert models[BOARD]["warmed"] is False and models[BOARD]["options"] == []
    assert client.get(f"/v1/models/{BOARD}").json()["recipe"] == BOARD
    card = client.get(f"/v1/models/{DENOISE}/card")
    assert card.status_code == 200 and card.text == (runs["denoise"] / "README.md").read_text()
    assert "/v1/models/{name}/predict" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and "/page/app.js" in page.text
    assert client.get("/page/app.js").status_code == 200


def test_upload_answers_what_zoo_predict_answers(client, runs, png, tmp_path):
    answer = predict(client, DENOISE, files=[("file", ("film one.png", png, "image/png"))])
    assert answer.status_code == 200, answer.text
    [got] = answer.json()["predictions"]
    (tmp_path / "film one.png").write_bytes(png)
    [expected] = toy_plugin_predictor(runs["denoise"]).predict([str(tmp_path / "film one.png")])
    assert got == {**expected, "input": "film one.png"}  # the upload's own name, not the server's copy


def toy_plugin_predictor(folder):
    from zoo.predictor import Predictor

    return Predictor(folder, device="cpu")


def test_files_as_base64_and_as_links(client, png):
    from PIL import Image

    [inline] = predict(client, f"{DENOISE}", params={"files": "base64"},
                       files=[("file", ("a.png", png, "image/png"))]).json()["predictions"]
    [image] = [f for f in inline["files"] if f["media_type"] == "image/png"]
    assert image["name"] == "a.denoised.png"
    assert Image.open(io.BytesIO(base64.b64decode(image["base64"]))).size == (16, 16)
    [linked] = predict(client, DENOISE, params={"files": "link"},
                       files=[("file", ("b.png", png, "image/png"))]).json()["predictions"]
    [url] = [f["url"] for f in linked["files"] if f["name"] == "b.denoised.png"]
    download = client.get(url)
    assert download.status_code == 200 and download.content == base64.b64decode(image["base64"])
    for _ in range(2):  # files_kept=2: the oldest request's files are gone
        predict(client, DENOISE, params={"files": "link"}, files=[("file", ("c.png", png, "image/png"))])
    assert client.get(url).status_code == 404
    assert client.get("/v1/files/not-a-key/../../etc/passwd").status_code == 404
    assert "files" not in predict(client, DENOISE, files=[("file", ("d.png", png, "image/png"))]).json()[
        "predictions"][0]


def test_json_text_and_numbers(client, runs):
    answer = predict(client, BOARD, json={"inputs": ["x...o....", "xo......."]})
    assert answer.status_code == 200, answer.text
    got = answer.json()["predictions"]
    assert got == toy_plugin_predictor(runs["board"]).predict(["x...o....", "xo......."])
    assert predict(client, BOARD, json={"input": "x...o...."}).json()["predictions"] == got[:1]
    empty = predict(client, DIGITS, files=[("f", ("a.png", b"", "image/png"))])
    assert empty.status_code == 422
    assert checked_text([1, 2.5], "x") == "1,2.5" and checked_text(3, "x") == "3"
    assert upload_suffix("../../film.DCM") == ".DCM" and upload_suffix("scan.nii.gz") == ".nii.gz"
    assert upload_suffix("weird.p n g") == "" and upload_suffix("noext") == ""


def test_tta_option_reaches_the_predictor(client, runs, png, tmp_path):
    with_views = predict(client, DENOISE, params={"tta": "true"}, files=[("file", ("a.png", png, "image/png"))])
    assert with_views.status_code == 200, with_views.text
    (tmp_path / "a.png").write_bytes(png)
    predictor = toy_plugin_predictor(runs["denoise"])
    assert with_views.json()["predictions"] == [
        {**p, "input": "a.png"} for p in predictor.predict([str(tmp_path / "a.png")], tta=True)]
    plain = predict(client, DENOISE, files=[("file", ("a.png", png, "image/png"))]).json()["predictions"]
    assert plain != with_views.json()["predictions"]  # the flips changed the output
    refused = predict(client, BOARD, json={"inputs": ["x...o...."], "options": {"tta": True}})
    assert refused.status_code == 400 and refused.json()["detail"].startswith("--tta: recipe toy/tictactoe-selfplay")


# -- errors ---------------------------------------------------------------------------------------------------------
def digit_png() -> bytes:
    from PIL import Image
    from sklearn.datasets import load_digits

    buffer = io.BytesIO()
    Image.fromarray((load_digits().images[3] * 15).astype("uint8")).save(buffer, "PNG")
    return buffer.getvalue()


def test_bad_inputs_get_the_cli_message_and_the_rest_are_predicted(client, runs, tmp_path):
    bad = b"this is not a picture"
    only_bad = predict(client, DIGITS, files=[("file", ("scan.png", bad, "image/png"))])
    assert only_bad.status_code == 422
    (tmp_path / "scan.png").write_bytes(bad)
    with pytest.raises(ZooError) as cli:  # what `zoo predict` prints after "error: "
        toy_plugin_predictor(runs["digits"]).predict([str(tmp_path / "scan.png")])
    detail = only_bad.json()["detail"]
    assert detail == str(cli.value).replace(str(tmp_path / "scan.png"), "scan.png").replace(str(tmp_path), "")
    assert detail.startswith("scan.png: not a readable image") and "\n" not in detail and "/tmp" not in detail
    mixed = predict(client, DIGITS, files=[("file", ("scan.png", bad, "image/png")),
                                           ("file", ("three.png", digit_png(), "image/png"))])
    assert mixed.status_code == 200
    first, second = mixed.json()["predictions"]
    assert first == {"input": "scan.png", "error": detail.removeprefix("scan.png: ")}
    assert second["input"] == "three.png" and "label" in second
    board = predict(client, BOARD, json={"inputs": ["not a board"]})
    assert board.status_code == 422 and "a board is 9 characters" in board.json()["detail"]
    # gathered into one batch with good ones, a request of only bad files is still refused on its own
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda i: predict(client, DIGITS, files=[(
            "file", ("scan.png" if i == 1 else f"{i}.png", bad if i == 1 else digit_png(), "image/png"))]), range(4)))
    assert [a.status_code for a in answers] == [200, 422, 200, 200] and answers[1].json()["detail"] == detail
    assert [a.json()["predictions"][0]["input"] for a in answers if a.status_code == 200] == ["0.png", "2.png", "3.png"]


def test_a_reader_that_crashes_costs_only_its_own_request(client, png):
    """toy/denoise's reader lets PIL's own error out on a bad file: the Predictor names it in one line, and the
    good requests gathered into the same batch are answered (a fault past the reader: the batcher test below)."""
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda i: predict(client, DENOISE, files=[(
            "file", (f"{i}.png", b"junk" if i == 2 else png, "image/png"))]), range(4)))
    assert [a.status_code for a in answers] == [200, 200, 422, 200]
    detail = answers[2].json()["detail"]
    assert detail.startswith("2.png: cannot be read (UnidentifiedImageError") and "/tmp" not in detail
    assert [a.json()["predictions"][0]["input"] for a in answers if a.status_code == 200] == ["0.png", "1.png", "3.png"]


@pytest.mark.parametrize("kwargs, status, words", [
    ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "not valid JSON"),
    ({"json": {"text": "x"}}, 400, "expected a JSON object"),
    ({"json": {"inputs": "x...o...."}}, 400, '"inputs" must be a list'),
    ({"json": {"inputs": []}}, 400, "give at least one INPUT"),
    ({"json": {"inputs": ["x........"] * 5}}, 400, "at most 4"),
    ({"json": {"inputs": [None]}}, 400, "expected text or numbers"),
    ({"json": {"inputs": ["/etc/passwd"]}}, 400, "may not name a file"),
    ({"json": {"inputs": [str(TESTS)]}}, 400, "may not name a file"),
    ({"json": {"inputs": ["*.py"]}}, 400, "glob"),
    ({"json": {"inputs": ["x........"], "options": {"heatmap_dir": "/tmp"}}}, 400, "unknown option"),
    ({"json": {"inputs": ["x........"], "options": {"no_such_option": "x"}}}, 400, "unknown option"),
    ({"content": b"x........", "headers": {"content-type": "text/plain"}}, 400, "multipart/form-data or JSON"),
    ({"json": {"inputs": ["x........"]}, "params": {"files": "zip"}}, 400, "files='zip'"),
])
def test_bad_requests(client, kwargs, status, words):
    answer = predict(client, BOARD, **kwargs)
    assert answer.status_code == status and words in answer.json()["detail"], answer.text


def test_plugin_option_the_recipe_does_not_read_is_refused_as_the_cli_refuses_it(client):
    from zoo.serve.models import plugin_options

    flags = [n for n, o in plugin_options().items() if o.is_flag and n != "tta"]
    if not flags:
        pytest.skip("no plugin adds a zoo predict flag in this install")
    answer = predict(client, BOARD, json={"inputs": ["x........"], "options": {flags[0]: True}})
    assert answer.status_code == 400
    assert answer.json()["detail"] == f"zoo predict: --{flags[0].replace('_', '-')} does not apply to {BOARD}"


def test_unknown_model_and_route(client):
    answer = predict(client, "vision/nope", json={"inputs": ["x"]})
    assert answer.status_code == 404 and f"served: {DENOISE}, {BOARD}, {DIGITS}" in answer.json()["detail"]
    assert client.get("/v1/models/vision/nope").status_code == 404
    assert client.get("/v1/models/vision/nope/card").status_code == 404
    assert client.get("/nothing-here").status_code == 404


def test_upload_over_the_limit_is_413(client, png):
    big = b"\0" * 60_000  # over max_upload_mb=0.05 (52,428 bytes)
    answer = predict(client, DENOISE, files=[("file", ("big.png", big, "image/png"))])
    assert answer.status_code == 413 and "--max-upload-mb" in answer.json()["detail"]

    def chunks():  # no Content-Length: counted as it streams in
        for _ in range(10):
            yield b"\0" * 10_000
    streamed = predict(client, DENOISE, content=chunks(), headers={"content-type": "multipart/form-data; boundary=x"})
    assert streamed.status_code == 413
    assert predict(client, DENOISE, files=[("file", ("a.png", png, "image/png"))]).status_code == 200  # still serving


def test_nothing_is_left_behind(client, png):
    for _ in range(3):
        predict(client, DENOISE, files=[("file", ("a.png", png, "image/png"))], params={"files": "base64"})
        predict(client, DIGITS, files=[("file", ("bad.png", b"junk", "image/png"))])
    scratch = client.app.state.status["scratch"]
    assert list((scratch / "in").iterdir()) == []  # uploads deleted once answered
    assert not [p for p in scratch.iterdir() if p.name.startswith("out-")]  # outputs sent or kept as links only
    # the JSON file the task wrote names the upload, not the server's copy of it
    [result] = predict(client, DIGITS, files=[("file", ("mine.png", digit_png(), "image/png"))],
                       params={"files": "base64"}).json()["predictions"]
    [record] = [f for f in result["files"] if f["name"] == "mine.json"]
    assert json.loads(base64.b64decode(record["base64"]))["input"] == "mine.png"


def test_metrics(client, png):
    predict(client, DENOISE, files=[("file", ("a.png", png, "image/png"))])
    text = client.get("/metrics").text
    assert 'zoo_serve_requests_total{route="/v1/models/{name:path}/predict",status="200"}' in text
    assert 'zoo_serve_request_seconds_bucket{le="0.05",model="toy/denoise"}' in text
    assert 'zoo_serve_batch_inputs_count{model="toy/denoise"}' in text
    assert 'zoo_serve_errors_total{kind="too_large"}' in text or 'zoo_serve_errors_total{kind="bad_request"}' in text


def test_concurrent_requests_are_batched(runs, png):
    app = create_app(Settings(runs=[str(runs["denoise"])], max_batch=8, max_wait_ms=1000, threads=1))
    with TestClient(app) as c:
        wait_ready(c)
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda i: predict(c, DENOISE, files=[("file", (f"{i}.png", png, "image/png"))]),
                                    range(8)))
        assert [a.json()["predictions"][0]["input"] for a in answers] == [f"{i}.png" for i in range(8)]
        text = c.get("/metrics").text
    count = float(next(line.split()[-1] for line in text.splitlines()
                       if line.startswith('zoo_serve_batch_requests_count{model="toy/denoise"}')))
    assert count < 8  # fewer Predictor calls than requests: they were gathered


def test_token(runs):
    app = create_app(Settings(runs=[str(runs["board"])], token="s3cret"))
    with TestClient(app) as c:
        assert c.get("/health").status_code == 200
        for path in ("/ready", "/v1/models", "/metrics", "/docs", "/openapi.json", f"/v1/models/{BOARD}/card"):
            assert c.get(path).status_code == 401, path
        assert c.get("/v1/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert predict(c, BOARD, json={"inputs": ["x........"]}).status_code == 401
        auth = {"Authorization": "Bearer s3cret"}
        deadline = time.monotonic() + 60
        while c.get("/ready", headers=auth).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert predict(c, BOARD, json={"inputs": ["x........"]}, headers=auth).status_code == 200
        assert c.get("/").status_code == 200  # the page's static files hold no model and no data; it asks for the token


# -- the batcher on its own ------------------------------------------------------------------------------------------
class FakePredictor:
    """Answers each input with its text; 'boom' makes the whole call fail; 'many' holds two records."""

    def __init__(self):
        self.calls, self.threads = [], []

    def predict(self, inputs, out=None, batch_size=32, **options):
        import torch

        self.calls.append(list(inputs))
        self.threads.append(torch.get_num_threads())
        if "boom" in inputs:
            raise RuntimeError("a fault of this input")
        results = []
        for x in inputs:
            results += [{"input": x, "echo": x}] * (2 if x == "many" else 1)
        return results


def test_batcher_gathers_and_keeps_faults_to_their_own_request():
    fake = FakePredictor()
    batcher = Batcher(fake, max_batch=16, max_wait_ms=200, on_start=lambda: __import__("torch").set_num_threads(1))
    try:
        futures = [batcher.submit(Job([x])) for x in ("a", "boom", "many", "b")]
        outcomes = [f.exception(timeout=10) or f.result() for f in futures]
    finally:
        batcher.close()
    assert fake.calls[0] == ["a", "boom", "many", "b"]  # gathered into one call
    assert isinstance(outcomes[1], RuntimeError)  # the bad input's request alone fails...
    assert [r["echo"] for r in outcomes[0].results] == ["a"] and [r["echo"] for r in outcomes[3].results] == ["b"]
    assert [r["echo"] for r in outcomes[2].results] == ["many", "many"]  # ...and a two-record input stays its own
    assert set(fake.threads) == {1}  # torch threads are set in the batcher's own thread


def test_batcher_without_batching_predicts_one_request_at_a_time():
    fake = FakePredictor()
    batcher = Batcher(fake, max_batch=1, max_wait_ms=50)
    try:
        assert [batcher.submit(Job([x])).result(timeout=10).results[0]["echo"] for x in "abc"] == list("abc")
        futures = [batcher.submit(Job([x])) for x in "def"]
        [f.result(timeout=10) for f in futures]
    finally:
        batcher.close()
    assert all(len(call) == 1 for call in fake.calls)


class MapWriter:
    """Writes `<stem>.heatmap.png` for each input and names it in the prediction's `heatmap`, as medical does."""

    def predict(self, inputs, out=None, batch_size=32, **options):
        results = []
        for x in inputs:
            path = Path(out) / f"{x}.heatmap.png"
            path.write_bytes(b"png of " + x.encode())
            results.append({"input": x, "heatmap": str(path)})
        return results


def test_files_named_in_a_value_go_to_their_own_request(tmp_path):
    from zoo.serve.requests import FileStore, present

    batcher = Batcher(MapWriter(), max_batch=8, max_wait_ms=200, scratch=tmp_path)
    try:
        futures = [batcher.submit(Job([x], files=True)) for x in ("a", "b")]
        outcomes = [f.result(timeout=10) for f in futures]
    finally:
        batcher.close()
    assert outcomes[0].folder != outcomes[1].folder  # gathered into one call, then split
    state = {"scratch": tmp_path, "store": FileStore(tmp_path / "files", 4)}
    [inline] = present(outcomes[0], "base64", {}, state)
    assert inline["heatmap"] == "a.heatmap.png" and str(tmp_path) not in str(inline)
    assert [(f["name"], base64.b64decode(f["base64"])) for f in inline["files"]] == [("a.heatmap.png", b"png of a")]
    [linked] = present(outcomes[1], "link", {}, state)
    assert linked["heatmap"] == "b.heatmap.png" and linked["files"][0]["url"].endswith("/b.heatmap.png")


# -- the command ------------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_checks_runs_and_warns_on_an_open_host(runs, monkeypatch, tmp_path):
    from click.testing import CliRunner

    from zoo.cli import serve as command

    started = {}
    monkeypatch.setattr(command, "start", lambda **kw: started.update(kw))
    serve = command.serve
    monkeypatch.setattr(os, "environ", {k: v for k, v in os.environ.items() if k != "ZOO_SERVE_TOKEN"})  # the
    # command sets ZOO_SERVE_SETTINGS and PROMETHEUS_MULTIPROC_DIR for its workers: not for the other tests
    result = CliRunner().invoke(serve, [str(runs["board"]), "--host", "0.0.0.0", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "warning: zoo serve binds 0.0.0.0 without --token" in result.stderr
    assert started["workers"] == 2 and started["host"] == "0.0.0.0"
    assert json.loads(os.environ["ZOO_SERVE_SETTINGS"])["threads"] == 1  # one torch thread per worker
    quiet = CliRunner().invoke(serve, [str(runs["board"]), "--token", "t"])
    assert quiet.exit_code == 0 and "warning" not in quiet.stderr
    twice = CliRunner().invoke(serve, [str(runs["board"]), str(runs["board"])])
    assert isinstance(twice.exception, Exception) and "name them apart with --name" in str(twice.exception)
    missing = CliRunner().invoke(serve, [str(tmp_path / "nope")])
    assert "not a run directory" in str(missing.exception)


def test_sigterm_drains_and_413_before_the_body(runs, png):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    server = subprocess.Popen([sys.executable, "-m", "toy_plugin", "serve", str(runs["denoise"]), "--port", str(port),
                               "--max-wait-ms", "3000", "--max-batch", "64", "--max-upload-mb", "1",
                               "--threads", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.communicate()
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "never ready"
            time.sleep(0.1)
        # 413 from the headers: the server answers before the rest of a claimed 50 MB body is sent
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(f"POST /v1/models/{DENOISE}/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data;"
                        " boundary=b\r\nContent-Length: 50000000\r\n\r\n".encode() + b"\0" * 1000)
            assert raw.recv(200).startswith(b"HTTP/1.1 413")
        # a request in flight (held 3 s by the batcher) when SIGTERM comes is still answered
        answers, sending = [], threading.Event()

        def send() -> None:
            with httpx.Client(timeout=60) as client:
                client.get(f"{base}/health")  # the connection open beforehand
                sending.set()
                answers.append(client.post(f"{base}/v1/models/{DENOISE}/predict",
                                           files=[("file", ("a.png", png, "image/png"))]))
        sender = threading.Thread(target=send)
        sender.start()
        assert sending.wait(30)
        time.sleep(1.0)
        server.send_signal(signal.SIGTERM)
        sender.join(60)
        assert answers and answers[0].status_code == 200 and answers[0].json()["predictions"][0]["input"] == "a.png"
        assert server.wait(30) == 0
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{base}/health", timeout=2)
    finally:
        if server.poll() is None:
            server.kill()
        server.wait()


def test_zoo_list_imports_no_server():
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "zoo", "list"], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines() if "|" in line}
    assert not imported & {"fastapi", "uvicorn", "starlette", "multipart", "prometheus_client"}
    assert "zoo" in imported  # the import log was read


# -- the page in a real browser ------------------------------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@contextlib.contextmanager
def served_page(runs: list[str]):
    """A real `zoo serve` app on a free loopback port, ready, and a headless Chromium page opened on it."""
    require(CHROMIUM is not None, "the page test needs Debian's chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the page test needs playwright (pip install playwright)")
    import uvicorn

    app = create_app(Settings(runs=runs, threads=1))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.config.port}"
        deadline = time.monotonic() + 120
        while not server.started or httpx.get(f"{base}/ready").status_code != 200:
            assert time.monotonic() < deadline and thread.is_alive()
            time.sleep(0.1)
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(base + "/")
            yield base, page
            browser.close()
    finally:
        server.should_exit = True
        thread.join(30)


def test_page_in_headless_chromium(runs, tmp_path):
    from PIL import Image
    from sklearn.datasets import load_digits

    digit = tmp_path / "seven.png"
    Image.fromarray((load_digits().images[7] * 15).astype("uint8")).resize((32, 32)).save(digit)
    with served_page([str(runs["digits"])]) as (base, page):
        [expected] = httpx.post(f"{base}/v1/models/vision/digits-resnet/predict",
                                files=[("file", ("seven.png", digit.read_bytes(), "image/png"))]).json()["predictions"]
        page.wait_for_selector("#model option[value='vision/digits-resnet']", state="attached")
        page.wait_for_selector("#card table")  # the model card's metrics
        page.set_input_files("#file", str(digit))
        label = page.wait_for_selector(".result .label", timeout=30_000)
        assert label.text_content() == expected["label"]
        assert page.text_content(".result h3") == "seven.png"
        assert page.locator(".result .bar").count() >= 1  # the score as a bar
        page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    assert (tmp_path / "page.png").stat().st_size > 10_000  # (the README's picture: docs/serve_screenshot.py)


@pytest.fixture(scope="module")
def film_run(tmp_path_factory):
    """A tiny medical/xray-anomaly run (the films are rendered once and cached, as the medical tests do)."""
    from zoo.plugins import get_registry

    require("medical/xray-anomaly" in get_registry(), "the DICOM page test needs the medical plugin")
    run, _ = train_tiny("medical/xray-anomaly", tmp_path_factory.mktemp("film"), "data.count=120",
                        "data.image_size=64", "batch_size=16", "eval_batch_size=64", "data.augment=none", epochs=1)
    return run.dir


def test_page_shows_a_dicom_films_label_and_its_heatmap(film_run, tmp_path):
    from pydicom.data import get_testdata_file

    film = get_testdata_file("RG1_UNCI.dcm")
    with served_page([str(film_run)]) as (base, page):
        page.wait_for_selector("#model option[value='medical/xray-anomaly']", state="attached")
        page.check("input[data-option='heatmap']")
        page.set_input_files("#file", film)
        label = page.wait_for_selector(".result .label", timeout=60_000)
        assert label.text_content() in ("normal", "abnormal", "unknown")
        heat = page.wait_for_selector(".result img[alt$='.heatmap.png']", timeout=30_000)
        assert heat.evaluate("img => img.naturalWidth") > 100  # the film with its heatmap, drawn
        page.screenshot(path=str(tmp_path / "film.png"), full_page=True)
