"""`zoo serve`: trained runs behind an HTTP API and a web page. Needs the `serve` extra (FastAPI, uvicorn,
python-multipart, prometheus-client); nothing here is imported by `zoo list` or by training.

`zoo.serve.app.create_app(Settings(runs=[...]))` is the FastAPI app and its routes; `models` the runs it holds
(loaded, warmed, described); `requests` what a request may carry and what goes back; `guard` the token, size and
metrics middleware; `batching.Batcher` the dynamic batcher in front of each run's `zoo.predictor.Predictor`.
"""
