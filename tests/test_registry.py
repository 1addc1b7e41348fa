import subprocess
import sys

import pytest

from zoo import DatasetSpec, ModelSpec, PluginError, RecipeSpec, ZooError


def spec(name, kind=DatasetSpec, provider="dist-a", **kw):
    entry = kind(name=name, summary="s", factory="nowhere.module:make", task="classification", **kw)
    object.__setattr__(entry, "provider", provider)
    return entry


def test_duplicate_key_names_both_providers(registry):
    registry.add(spec("med/xray", provider="zoo-medical"))
    with pytest.raises(PluginError, match="zoo-medical.*zoo-other"):
        registry.add(spec("med/xray", provider="zoo-other"))


def test_recipe_may_share_its_datasets_name(registry):
    registry.add(spec("vision/folder"))
    registry.add(spec("vision/folder", RecipeSpec, dataset="vision/folder", model="vision/net"))
    assert registry.get("vision/folder").kind == "recipe"
    assert registry.get("vision/folder", kind="dataset").kind == "dataset"
    assert [e.kind for e in registry.all_named("vision/folder")] == ["recipe", "dataset"]


def test_all_or_nothing_when_a_plugin_clashes(registry):
    registry.add(spec("a/x"))
    with pytest.raises(PluginError):
        registry.extend_all_or_nothing([spec("a/y"), spec("a/x", provider="b")])
    assert "a/y" not in registry


@pytest.mark.parametrize("bad", ["nodomain", "a/b/c", "/x", "x/"])
def test_name_needs_a_domain(bad):
    with pytest.raises(PluginError, match="domain/name"):
        spec(bad)


def test_patterns_domains_and_kinds(registry):
    registry.extend([spec("medical/xray"), spec("medical/ct"), spec("vision/digits"),
                     spec("medical/densenet", ModelSpec)])
    assert [e.name for e in registry.find("medical/*")] == ["medical/ct", "medical/xray", "medical/densenet"]
    assert [e.name for e in registry.find("*x*", kind="dataset")] == ["medical/xray"]
    assert [e.name for e in registry.find(domain="vision")] == ["vision/digits"]
    assert [e.name for e in registry.find("digits")] == ["vision/digits"]  # no wildcard: substring


def test_mistyped_name_suggests_close_matches(registry):
    registry.extend([spec("medical/xray-anomaly"), spec("vision/digits")])
    with pytest.raises(ZooError, match="did you mean medical/xray-anomaly"):
        registry.get("medical/xray-anomly")


def test_factory_is_imported_only_when_built():
    entry = spec("a/b")
    assert entry.factory == "nowhere.module:make"  # registering did not import it
    with pytest.raises(PluginError, match="cannot import 'nowhere.module:make'"):
        entry.load()


def test_recipe_must_name_dataset_model_and_task():
    with pytest.raises(PluginError, match="dataset"):
        RecipeSpec(name="a/r", summary="s", dataset="nodomain", model="a/m", task="classification")
    with pytest.raises(PluginError, match="task"):
        RecipeSpec(name="a/r", summary="s", dataset="a/d", model="a/m")


def test_registering_and_listing_import_no_heavy_library():
    code = ("import sys; from zoo.plugins import get_registry; r = get_registry(); [e.describe() for e in r];"
            "heavy = [m for m in ('torch', 'timm', 'monai', 'transformers') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
