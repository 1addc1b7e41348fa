"""The README's picture of `zoo serve`'s page: `python docs/serve_screenshot.py RUN_DIR docs/serve-page.png`.

Serves RUN_DIR (a vision/digits-resnet run) on 127.0.0.1, opens the page in Debian's headless chromium through
Playwright, drops a digit from scikit-learn's set (one the run did not train on: the end of the set) and saves
the page once the label shows.
"""
from __future__ import annotations

import io
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from PIL import Image
from playwright.sync_api import sync_playwright
from sklearn.datasets import load_digits

from zoo.serve.app import Settings, create_app


def main(run: str, out: str) -> None:
    digits = load_digits()
    digit = Path(tempfile.mkdtemp()) / "seven.png"
    index = len(digits.target) - 1 - list(digits.target[::-1]).index(7)
    Image.fromarray((digits.images[index] * 15).astype("uint8")).resize((32, 32), Image.NEAREST).save(digit)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(Settings(runs=[run])), host="127.0.0.1", port=port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    while not server.started or httpx.get(f"{base}/ready").status_code != 200:
        time.sleep(0.1)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 560})
        page.goto(base + "/")
        page.wait_for_selector("#card table")
        page.set_input_files("#file", str(digit))
        page.wait_for_selector(".result .label")
        page.screenshot(path=out, full_page=True)
        browser.close()
    server.should_exit = True
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
