"""Real discovery through the `zoo` entry-point group, with fake distributions on PYTHONPATH."""
import os
import textwrap

import pytest

from zoo.testing import run_zoo

PLUGINS = {
    "zoo-good": ("good_plugin", """
        from zoo import DatasetSpec, hookimpl

        @hookimpl
        def zoo_datasets():
            return [DatasetSpec(name="good/data", summary="fine", factory="good_plugin:make", task="classification")]
    """),
    "zoo-import-fails": ("import_fails", "raise RuntimeError('boom at import')"),
    "zoo-register-fails": ("register_fails", """
        from zoo import hookimpl

        @hookimpl
        def zoo_models():
            raise ValueError('boom at registration')
    """),
    "zoo-old": ("old_plugin", "", "zoo<0.0.1"),
}


@pytest.fixture
def site(tmp_path):
    for dist, (module, source, *requires) in PLUGINS.items():
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        info = tmp_path / f"{dist.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        meta = f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n"
        meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
        (info / "METADATA").write_text(meta)
        (info / "entry_points.txt").write_text(f"[zoo]\n{module} = {module}\n")
    return {"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}


def test_broken_plugins_are_reported_and_others_still_load(site):
    result = run_zoo("plugins", "--json", env=site)
    assert result.code == 0, result.err
    import json
    statuses = {s["name"]: s for s in json.loads(result.out)}
    assert statuses["zoo-good"]["status"] == "loaded"
    assert statuses["zoo-good"]["contributed"] == ["good/data"]
    assert statuses["zoo-import-fails"]["status"] == "failed"
    assert "boom at import" in statuses["zoo-import-fails"]["error"]
    assert statuses["zoo-register-fails"]["status"] == "failed"
    assert "boom at registration" in statuses["zoo-register-fails"]["error"]
    assert statuses["zoo-old"]["status"] == "incompatible"
    assert "needs zoo<0.0.1" in statuses["zoo-old"]["error"]
    listing = run_zoo("list", env=site)
    assert "good/data" in listing.out and listing.code == 0


def test_strict_mode_makes_a_broken_plugin_fatal(site):
    result = run_zoo("list", env={**site, "ZOO_STRICT_PLUGINS": "1"})
    assert result.code == 2
    assert "zoo-import-fails" in result.err and "boom at import" in result.err
    assert "Traceback" not in result.err
