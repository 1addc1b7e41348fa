"""Errors a plugin author meets: each is one line that names the culprit and says what to write instead."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
import uuid
from pathlib import Path

import pytest

import zoo
from zoo import PluginError, ZooError
from zoo.plugins import manager as manager_module
from zoo.plugins.manager import PluginManager, PluginStatus

HEADER = "from zoo import DatasetSpec, ModelSpec, RecipeSpec, hookimpl\n"


def plugin_from(source: str) -> types.ModuleType:
    """A plugin module built from source text, as an entry point would load it."""
    module = types.ModuleType(f"fake_plugin_{uuid.uuid4().hex[:8]}")
    exec(HEADER + textwrap.dedent(source), module.__dict__)  # noqa: S102 - test fixture code
    return module


def register(source: str, name: str = "zoo-fake", manager: PluginManager | None = None) -> PluginStatus:
    manager = manager or PluginManager()
    status = PluginStatus(name=name, version="0.1.0")
    manager.add_plugin(plugin_from(source), status)
    return status


def failure(source: str) -> str:
    status = register(source)
    assert status.status == "failed", status
    return status.error


# -- hooks ---------------------------------------------------------------------------------
def test_hookimpl_with_a_wrong_signature():
    error = failure("""
        @hookimpl
        def zoo_datasets(config):
            return []
    """)
    assert "zoo_datasets(config) takes config, which zoo never passes" in error
    assert "write `def zoo_datasets() -> list[DatasetSpec]`" in error


def test_misspelt_hook_gets_a_suggestion():
    error = failure("""
        @hookimpl
        def zoo_dataset():
            return []
    """)
    assert "@hookimpl zoo_dataset is not a zoo hook; did you mean zoo_datasets?" in error


def test_hook_without_hookimpl_is_not_silently_ignored():
    error = failure("""
        def zoo_models():
            return []
    """)
    assert "zoo_models is not decorated with @zoo.hookimpl" in error


@pytest.mark.parametrize("returned, message", [
    ("None", "zoo_recipes returned None; return a list of specs"),
    ("'demo/x'", "zoo_recipes returned str, expected a list of specs"),
    ("[{'name': 'demo/x'}]", "zoo_recipes returned a dict ({'name': 'demo/x'}) in its list, which is not a zoo entry"),
])
def test_hook_returning_the_wrong_kind_of_object(returned, message):
    error = failure(f"""
        @hookimpl
        def zoo_recipes():
            return {returned}
    """)
    assert message in error


def test_unexpected_error_in_a_hook_names_its_type():
    error = failure("""
        @hookimpl
        def zoo_models():
            raise RuntimeError("boom")
    """)
    assert error == "registration failed: RuntimeError: boom"


# -- specs ---------------------------------------------------------------------------------
def test_name_without_a_domain():
    error = failure("""
        @hookimpl
        def zoo_datasets():
            return [DatasetSpec(name="blobs", summary="s", factory="m:f")]
    """)
    assert error == ("registration failed: zoo_datasets: DatasetSpec name 'blobs' has no domain; "
                     "write it as 'yourdomain/blobs' (keys are 'domain/name')")


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "demo/a/b"}, "name 'demo/a/b' must look like 'domain/name'"),
    ({"factory": "demo.models.mlp"}, "factory 'demo.models.mlp' must look like 'package.module:callable'"),
    ({"summary": 3}, "demo/x: ModelSpec.summary must be a string, got int"),
])
def test_malformed_spec_fields(kwargs, message):
    spec = {"name": "demo/x", "summary": "s", "factory": "demo.models:mlp", **kwargs}
    with pytest.raises(PluginError, match=message.replace("(", r"\(").replace(")", r"\)")):
        zoo.ModelSpec(**spec)


def test_recipe_defaults_must_be_a_dict():
    with pytest.raises(PluginError, match="demo/r: defaults must be a dict of settings, got list"):
        zoo.RecipeSpec(name="demo/r", summary="s", dataset="demo/d", model="demo/m", task="classification",
                       defaults=[("lr", 1)])


def test_duplicate_key_names_both_providers():
    manager = PluginManager()
    source = """
        @hookimpl
        def zoo_models():
            return [ModelSpec(name="demo/mlp", summary="s", factory="demo.models:mlp")]
    """
    assert register(source, "zoo-first", manager).status == "loaded"
    second = register(source, "zoo-second", manager)
    assert second.status == "failed"
    assert "model 'demo/mlp' is registered twice: by zoo-first and by zoo-second" in second.error
    assert [e.provider for e in manager.registry] == ["zoo-first"]  # the clash left the first intact


def test_duplicate_key_inside_one_plugin():
    error = failure("""
        @hookimpl
        def zoo_models():
            spec = dict(name="demo/mlp", summary="s", factory="demo.models:mlp")
            return [ModelSpec(**spec), ModelSpec(**spec)]
    """)
    assert "model 'demo/mlp' is registered twice by zoo-fake" in error


def test_strict_mode_turns_a_failed_plugin_into_an_error(monkeypatch):
    monkeypatch.setenv("ZOO_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="plugin zoo-fake failed: registration failed: zoo_datasets: "):
        register("""
            @hookimpl
            def zoo_datasets():
                return [DatasetSpec(name="blobs", summary="s", factory="m:f")]
        """)


# -- factories, built when a recipe trains -------------------------------------------------
FACTORIES = '''
import torch
from zoo.data import DataBundle, TensorPairs


def good_data(data=None, seed=0):
    x, y = torch.randn(8, 3), torch.arange(8) % 2
    return DataBundle(train=TensorPairs(x, y), valid=TensorPairs(x, y), model_args={"n": 3},
                      info={"num_classes": 2})


def float_labels(data=None, seed=0):
    bundle = good_data()
    bundle.train = TensorPairs(torch.randn(8, 3), torch.rand(8))
    return bundle


def labels_out_of_range(data=None, seed=0):
    bundle = good_data()
    bundle.train = TensorPairs(torch.randn(8, 3), torch.full((8,), 5))
    return bundle


def a_dict(data=None, seed=0):
    return {"train": []}


def good_model(n):
    return torch.nn.Linear(n, 2)


def not_a_module(n):
    return lambda x: x


NOT_CALLABLE = "a string"
'''


@pytest.fixture
def build_with(tmp_path, monkeypatch):
    """Register a recipe over factories in a fresh module and build it through the shared code path."""
    module = f"fake_factories_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(FACTORIES)
    monkeypatch.syspath_prepend(str(tmp_path))

    def build(dataset_factory: str, model_factory: str = "good_model"):
        from zoo import runs

        manager = PluginManager()
        status = register(f"""
            @hookimpl
            def zoo_datasets():
                return [DatasetSpec(name="demo/data", summary="s", factory="{module}:{dataset_factory}",
                                    task="classification")]

            @hookimpl
            def zoo_models():
                return [ModelSpec(name="demo/model", summary="s", factory="{module}:{model_factory}")]

            @hookimpl
            def zoo_recipes():
                return [RecipeSpec(name="demo/recipe", summary="s", dataset="demo/data", model="demo/model",
                                   task="classification")]
        """, manager=manager)
        assert status.status == "loaded", status.error
        monkeypatch.setattr(manager_module, "_MANAGER", manager)
        return runs.build("demo/recipe")

    return build


def test_good_factories_build(build_with):
    built = build_with("good_data")
    assert built.model.in_features == 3


@pytest.mark.parametrize("dataset, model, message", [
    ("a_dict", "good_model", "demo/data: its factory returned dict, expected a zoo DataBundle"),
    ("good_data", "not_a_module", "demo/model: its factory returned function, expected a torch nn.Module"),
    ("NOT_CALLABLE", "good_model", "is a str, not a callable"),
    ("missing", "good_model", "demo/data: cannot import"),
])
def test_factory_returning_the_wrong_kind_of_object(build_with, dataset, model, message):
    with pytest.raises(PluginError, match=message):
        build_with(dataset, model)


@pytest.mark.parametrize("dataset, message", [
    ("float_labels", "demo/data: a classification dataset must yield integer labels, got Tensor of torch.float32"),
    ("labels_out_of_range", "demo/data: labels must lie in 0..1, got 5"),
])
def test_items_that_do_not_match_the_declared_task(build_with, dataset, message):
    with pytest.raises(ZooError, match=message):
        build_with(dataset)


# -- discovery through entry points, in a fresh process -------------------------------------
def fake_distribution(root: Path, dist: str, requires: str, module_source: str) -> None:
    """An installed-looking distribution (a .dist-info folder beside its module) on a sys.path entry."""
    package = dist.replace("-", "_")
    (root / f"{package}.py").write_text(HEADER + textwrap.dedent(module_source))
    info = root / f"{package}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1.0\nRequires-Dist: {requires}\n")
    (info / "entry_points.txt").write_text(f"[zoo]\n{dist[4:]} = {package}\n")


def zoo_plugins(path: Path) -> tuple[int, list[dict]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(path), os.environ.get("PYTHONPATH", "")])}
    env.pop("ZOO_STRICT_PLUGINS", None)
    proc = subprocess.run([sys.executable, "-m", "zoo", "plugins", "--json"], capture_output=True, text=True,
                          env=env, timeout=120)
    return proc.returncode, json.loads(proc.stdout or "[]")


def test_core_version_mismatch_is_a_status_not_a_crash(tmp_path):
    hooks = """
        @hookimpl
        def zoo_models():
            return [ModelSpec(name="{domain}/m", summary="s", factory="x.y:z")]
    """
    fake_distribution(tmp_path, "zoo-future", "zoo>=9.0", hooks.format(domain="future"))
    fake_distribution(tmp_path, "zoo-broken", "zoo>=0.1", "import no_such_module_here\n")
    fake_distribution(tmp_path, "zoo-fine", f"zoo=={zoo.__version__}", hooks.format(domain="fine"))
    code, statuses = zoo_plugins(tmp_path)
    assert code == 0
    by_name = {s["name"]: s for s in statuses}
    assert by_name["zoo-future"]["status"] == "incompatible"
    assert by_name["zoo-future"]["error"] == f"needs zoo>=9.0, but zoo {zoo.__version__} is installed"
    assert by_name["zoo-broken"]["status"] == "failed"
    assert "No module named 'no_such_module_here'" in by_name["zoo-broken"]["error"]
    assert by_name["zoo-fine"]["status"] == "loaded" and by_name["zoo-fine"]["contributed"] == ["fine/m"]
