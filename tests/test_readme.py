"""The README's Python example runs as written (in an empty folder holding one digit image, 3.png)."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_python_example_runs(tmp_path):
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### From Python"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    three = digits.images[list(digits.target).index(3)]
    Image.fromarray((three * 255 / 16).astype("uint8")).save(tmp_path / "3.png")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("[{'input': '3.png', 'label': '") and "'accuracy':" in lines[1]
    assert (tmp_path / "runs" / "api" / "summary.json").is_file()
