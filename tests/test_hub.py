"""Trained models on the Hub: `zoo publish` -> `zoo pull` / `zoo.load("hf://...")` -> predict and eval, against
a mock Hub on 127.0.0.1 (tests/mock_hub.py) that counts the requests huggingface_hub makes."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import hub_toy
from mock_hub import MockHub

REPO = "zoo-test/blobs"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """The mock Hub, with HF_ENDPOINT at it and a Hub cache of its own, for this module."""
    import importlib.util

    from zoo.testing import require

    require(importlib.util.find_spec("huggingface_hub") is not None, "huggingface_hub: pip install 'zoo[hub]'")
    home = tmp_path_factory.mktemp("hf-home")
    with MockHub() as mock, pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_ENDPOINT", mock.url)
        mp.setenv("HF_HOME", str(home))
        mp.delenv("HF_HUB_CACHE", raising=False)  # so the cache is HF_HOME's
        mp.setenv("HF_TOKEN", "hf_mock_token_for_tests")
        mp.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
        mp.delenv("HF_HUB_OFFLINE", raising=False)
        mock.home = home
        yield mock


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny trained hubtoy/blobs run (its dataset declares a CC BY-NC-ND licence)."""
    from zoo.testing import train_tiny

    hub_toy.register()
    opened, summary = train_tiny("hubtoy/blobs", tmp_path_factory.mktemp("runs"), epochs=1)
    return opened.dir, summary


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, run):
    """Eight text files of the reader's format: the first test examples."""
    from toy_plugin import blobs

    folder = tmp_path_factory.mktemp("inputs")
    x = blobs(seed=json.loads((run[0] / "config.json").read_text())["config"]["seed"]).test.x[:8]
    for i, row in enumerate(x):
        (folder / f"p{i}.txt").write_text(",".join(repr(float(v)) for v in row))
    return sorted(str(p) for p in folder.iterdir())


def cli(capsys, *args):
    """The zoo CLI in this process: (exit code, stdout, stderr)."""
    from zoo.cli import main

    with pytest.raises(SystemExit) as exited:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exited.value.code, out, err


@pytest.fixture(scope="module")
def published(hub, run):
    """REPO published through the CLI (once for the module); its commit."""
    from zoo.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["publish", str(run[0]), "--repo", REPO])
    assert exited.value.code == 0
    commit = hub.repos[REPO].branches["main"]
    return commit


def outputs(model, files):
    predictor = model.predictor()
    return predictor.forward(predictor.task.collate([predictor.read(f) for f in files]))


def test_publish_then_pull_predicts_exactly_as_the_run(hub, run, published, inputs, capsys):
    import zoo
    from huggingface_hub.repocard_data import model_index_to_eval_results

    run_dir, summary = run
    files = {path for path in hub.repos[REPO].commits[published]}
    assert files == {"model.safetensors", "config.json", "README.md", "zoo.json", ".gitattributes"}
    card = hub.repos[REPO].commits[published]["README.md"].decode()
    assert card.startswith("---\nlibrary_name: zoo\nlicense: \"cc-by-nc-nd-4.0\"\n")
    assert "restricts the use of these weights" in card and "non-commercial" in card
    import yaml

    meta = yaml.safe_load(card.split("---\n")[1])
    assert meta["datasets"] == ["hubtoy/blobs"] and "zoo:hubtoy/blobs" in meta["tags"]
    _, results = model_index_to_eval_results(meta["model-index"])
    assert {r.metric_type: r.metric_value for r in results}["accuracy"] == summary["test"]["accuracy"]
    manifest = json.loads(hub.repos[REPO].commits[published]["zoo.json"])
    assert manifest["plugin"] == {"distribution": "zoo-hubtoy", "version": "0.1.0", "loads_with": ">=0.1.0,<0.2"}
    assert manifest["metrics"]["test"] == summary["test"]

    assert hub.tokens == {"Bearer hf_mock_token_for_tests"}  # HF_TOKEN went with every request
    assert hub.cards and hub.cards[-1] == card  # the Hub's YAML check of the card passed
    pulled = zoo.load(f"hf://{REPO}", device="cpu")
    assert pulled.dir.is_relative_to(hub.home / "hub" / "models--zoo-test--blobs" / "snapshots" / published)
    assert not (pulled.dir / ".gitattributes").exists()  # only what zoo.json lists is fetched
    own = zoo.load(run_dir, device="cpu")
    assert float((outputs(pulled, inputs) - outputs(own, inputs)).abs().max()) == 0.0
    assert pulled.predict(inputs) == own.predict(inputs)
    code, out_hub, err = cli(capsys, "predict", f"hf://{REPO}", *inputs, "--json")
    assert code == 0, err
    code, out_run, err = cli(capsys, "predict", run_dir, *inputs, "--json")
    assert code == 0 and out_hub == out_run and len(out_hub.splitlines()) == len(inputs)


def test_eval_of_the_pulled_model_reproduces_the_run_summary(hub, run, published, capsys):
    code, out, err = cli(capsys, "eval", f"hf://{REPO}@{published}", "--json", "--device", "cpu")
    assert code == 0, err
    test = json.loads(out)["test"]
    expected = run[1]["test"]
    assert test.keys() == expected.keys()
    assert all(abs(test[k] - expected[k]) <= 1e-6 for k in expected), (test, expected)


def test_warm_offline_load_makes_no_request_and_is_fast(hub, published, inputs, monkeypatch):
    import zoo

    zoo.load(f"hf://{REPO}", device="cpu")  # in the cache
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    before = hub.count
    start = time.perf_counter()
    model = zoo.load(f"hf://{REPO}", device="cpu")
    model.predictor()
    pinned = zoo.load(f"hf://{REPO}@{published}", device="cpu")
    elapsed = time.perf_counter() - start
    assert hub.count == before, hub.requests[before:]
    assert elapsed < 2.0, elapsed
    assert model.predict(inputs[:2]) == pinned.predict(inputs[:2])
    with pytest.raises(zoo.ZooError, match=r"not in the Hub cache, and HF_HUB_OFFLINE is set"):
        zoo.load("hf://zoo-test/never-pulled")
    from zoo.hub.publish import publish

    with pytest.raises(zoo.ZooError, match=r"HF_HUB_OFFLINE is set, so nothing can be uploaded"):
        publish(model.dir, "zoo-test/offline")
    assert hub.count == before


def test_a_corrupted_download_is_refused_in_one_line_with_exit_2(hub, run, monkeypatch, capsys):
    import zoo.reopen
    from zoo.hub.publish import publish

    publish(run[0], "zoo-test/corrupt")
    hub.corrupt("zoo-test/corrupt", "model.safetensors")  # same commit, same ETag: the client cannot tell
    opened = []
    monkeypatch.setattr(zoo.reopen.OpenRun, "__init__", lambda self, *a, **k: opened.append(a))
    code, out, err = cli(capsys, "predict", "hf://zoo-test/corrupt", "x.txt")
    assert code == 2 and opened == []
    assert err == ("error: hf://zoo-test/corrupt: model.safetensors does not match its sha256 in zoo.json "
                   "(corrupted or altered); nothing was loaded\n")


def test_a_flipped_byte_in_the_cache_or_a_missing_file_loads_nothing(hub, run, published, monkeypatch, capsys):
    import zoo.predictor
    import zoo.reopen
    from zoo.hub import resolve

    snapshot = Path(resolve(f"hf://{REPO}"))
    opened = []
    monkeypatch.setattr(zoo.reopen.OpenRun, "__init__", lambda self, *a, **k: opened.append(a))
    blob = (snapshot / "model.safetensors").resolve()
    original = blob.read_bytes()
    try:
        blob.write_bytes(original[:100] + bytes([original[100] ^ 0x10]) + original[101:])
        code, out, err = cli(capsys, "predict", f"hf://{REPO}", "x.txt")
        assert code == 2 and err.strip().count("\n") == 0 and "model.safetensors does not match its sha256" in err
    finally:
        blob.write_bytes(original)
    from zoo.hub.publish import publish

    first = publish(run[0], "zoo-test/dropped")["commit"]
    hub.drop("zoo-test/dropped", "config.json")  # a new commit on main without it
    code, out, err = cli(capsys, "pull", "hf://zoo-test/dropped")
    assert code == 2 and err == ("error: hf://zoo-test/dropped: config.json is missing (zoo.json lists it); "
                                 "nothing was loaded\n")
    assert resolve(f"hf://zoo-test/dropped@{first}").name == first  # the pinned commit still holds it
    assert opened == []  # no run was opened, so no weights were read


def test_a_repo_that_is_not_a_zoo_model_and_a_missing_repo(hub, capsys):
    hub.put("someone/bert-like", {"config.json": b"{}", "pytorch_model.bin": b"\x80\x04pickle"})
    code, out, err = cli(capsys, "pull", "hf://someone/bert-like")
    assert code == 2 and err.strip() == ("error: hf://someone/bert-like: not a zoo model (the repo has no zoo.json; "
                                         "`zoo publish` writes one)")
    assert not list(Path(hub.home).rglob("pytorch_model.bin"))  # nothing but zoo.json was asked for
    code, out, err = cli(capsys, "predict", "hf://someone/no-such-model", "x.txt")
    assert code == 2 and "no such model repo" in err and err.strip().count("\n") == 0
    code, out, err = cli(capsys, "pull", "hf://no-org-here")
    assert code == 2 and "expected hf://ORG/NAME" in err


def test_revision_branch_pull_out_folder_and_a_published_folder_load(hub, run, inputs, tmp_path, capsys):
    import zoo

    code, out, err = cli(capsys, "publish", run[0], "--repo", "zoo-test/branches", "--revision", "dev", "--private")
    assert code == 0 and "published hf://zoo-test/branches@" in out, err
    assert hub.repos["zoo-test/branches"].private and "README.md" not in hub.repos["zoo-test/branches"].commits[
        hub.repos["zoo-test/branches"].branches["main"]]  # on the branch only
    code, out, err = cli(capsys, "pull", "hf://zoo-test/branches@dev", "--out", tmp_path / "pulled")
    assert code == 0, err
    pulled = tmp_path / "pulled"
    assert sorted(p.name for p in pulled.iterdir()) == ["README.md", "config.json", "model.safetensors", "zoo.json"]
    assert not any(p.is_symlink() for p in pulled.iterdir())
    own = zoo.load(run[0], device="cpu")
    assert torch.equal(outputs(zoo.load(pulled, device="cpu"), inputs), outputs(own, inputs))
    code, out, err = cli(capsys, "pull", "hf://zoo-test/branches@no-such-branch")
    assert code == 2 and "no such revision" in err
    code, out, err = cli(capsys, "export", "hf://zoo-test/branches@dev", "--format", "safetensors",
                         "--out", tmp_path / "w.safetensors")
    assert code == 0 and (tmp_path / "w.safetensors").is_file(), err
    # --to: only the folder, nothing sent
    before = hub.count
    code, out, err = cli(capsys, "publish", run[0], "--repo", "me/local", "--to", tmp_path / "folder")
    assert code == 0 and hub.count == before and "not uploaded" in out
    assert torch.equal(outputs(zoo.load(tmp_path / "folder", device="cpu"), inputs), outputs(own, inputs))
    (tmp_path / "folder" / "README.md").unlink()
    with pytest.raises(zoo.ZooError, match="README.md is missing"):
        zoo.load(tmp_path / "folder")


def test_publish_refuses_data_of_unknown_licence(hub, run, tmp_path, capsys):
    unknown = tmp_path / "run"
    shutil.copytree(run[0], unknown)
    config = json.loads((unknown / "config.json").read_text())
    (unknown / "config.json").write_text(json.dumps({**config, "recipe": "toy/blobs"}))  # its dataset has no licence
    code, out, err = cli(capsys, "publish", unknown, "--repo", "me/x", "--to", tmp_path / "a")
    assert code == 2 and "licence of its data (toy/blobs) is unknown" in err and not (tmp_path / "a").exists()
    (unknown / "config.json").write_text(json.dumps({**config, "data": str(tmp_path)}))  # trained on own data
    code, out, err = cli(capsys, "publish", unknown, "--repo", "me/x", "--to", tmp_path / "b")
    assert code == 2 and "--data-licence" in err
    code, out, err = cli(capsys, "publish", unknown, "--repo", "me/x", "--to", tmp_path / "b",
                         "--data-licence", "CC BY 4.0")
    assert code == 0, err
    card = (tmp_path / "b" / "README.md").read_text()
    assert 'license: "cc-by-4.0"' in card and "restricts" not in card and str(tmp_path) not in card
    assert json.loads((tmp_path / "b" / "config.json").read_text())["data"] is None


def test_a_missing_or_newer_plugin_is_named_in_one_line(hub, run, tmp_path):
    import zoo
    from zoo.hub.publish import write_folder

    folder = write_folder(run[0], tmp_path / "m", "me/m")
    manifest = json.loads((folder / "zoo.json").read_text())

    def load_with(**plugin):
        (folder / "zoo.json").write_text(json.dumps({**manifest, **plugin}))
        with pytest.raises(zoo.ZooError) as caught:
            zoo.load(folder)
        return str(caught.value)

    message = load_with(recipe="astro/galaxies", plugin={"distribution": "zoo-astro", "version": "0.2.1",
                                                          "loads_with": ">=0.2.1,<0.3"})
    assert message.endswith("recipe astro/galaxies comes from the plugin zoo-astro, which is not installed: "
                            "pip install 'zoo-astro>=0.2.1,<0.3'")
    message = load_with(plugin={"distribution": "zoo-hubtoy", "version": "0.3.0", "loads_with": ">=0.3.0,<0.4"})
    assert "made by zoo-hubtoy 0.3.0" in message and "installed zoo-hubtoy 0.1.0" in message
    assert "pip install -U 'zoo-hubtoy>=0.3.0,<0.4'" in message and "\n" not in message


def test_browsing_does_not_import_huggingface_hub():
    code = ("import sys\nfrom zoo.cli import main\nfor args in (['list'], ['--help'], ['publish', '--help']):\n"
            "    try:\n        main(args)\n    except SystemExit as e:\n        assert not e.code, e.code\n"
            "print('HUB', 'huggingface_hub' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "HUB False"


@pytest.mark.parametrize("licence, hub_id, restricted", [
    ("GPL-3.0 (janggu)", "gpl-3.0", []),
    ("CC BY-NC-ND 4.0 (non-commercial, no derivatives): research and teaching", "cc-by-nc-nd-4.0",
     ["non-commercial use only", "no derivatives: sharing weights trained on the data may itself be barred"]),
    ("MovieLens terms of use: research use only, no redistribution; recbole itself is MIT", "other",
     ["non-commercial use only", "no redistribution of the data"]),
    ("ale-py is GPL-2.0; the Pong ROM (Atari's game) ships inside ale-py's wheel", "other", []),
    ("CC BY 4.0 (UCI); scikit-learn is BSD-3", "other", []),
])
def test_the_card_licence_is_named_only_when_the_data_names_one(licence, hub_id, restricted):
    from zoo.hub.card import hub_licence, restrictions

    assert hub_licence(licence) == hub_id and restrictions(licence) == restricted


def test_files_the_task_reads_at_prediction_travel_with_the_weights(hub, run, tmp_path, monkeypatch):
    """A task's run_files (medical: its familiarity statistics) are copied into the model folder and checked."""
    from zoo.hub.publish import write_folder
    from zoo.tasks.classification import ClassificationTask

    (run[0] / "statistics.safetensors").write_bytes(b"0123")
    monkeypatch.setattr(ClassificationTask, "run_files", ("statistics.safetensors", "absent.json"))
    try:
        folder = write_folder(run[0], tmp_path / "m", "me/m")
    finally:
        (run[0] / "statistics.safetensors").unlink()
    assert (folder / "statistics.safetensors").read_bytes() == b"0123"
    files = json.loads((folder / "zoo.json").read_text())["files"]
    assert "statistics.safetensors" in files and "absent.json" not in files
