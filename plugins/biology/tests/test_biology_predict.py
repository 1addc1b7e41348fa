"""Bad input to `zoo predict` through the one path (zoo.predictor.Predictor and the tasks' narrow hooks), for
every biology reader it applies to: a one-line error naming the file (or record), or a warning naming a
degenerate input, and the good inputs beside a bad one still predicted. The runs train two steps: these tests
are about reading, not learning (test_biology_training.py checks that)."""
from __future__ import annotations

import gzip
import importlib.util
import random
import re
import shutil
from pathlib import Path

import pytest

from zoo import ZooError
from zoo.testing import require, run_zoo, train_tiny

STEPS = ("threads=1", "grad_stats_every=0", "ema=0", "max_steps=2", "eval_limit=1")
HAVE_MDA = importlib.util.find_spec("MDAnalysisTests") is not None


def mda(name: str) -> Path:
    require(HAVE_MDA, "mdanalysistests (pip install --no-deps mdanalysistests) is not installed")
    return Path(importlib.util.find_spec("MDAnalysisTests").submodule_search_locations[0]) / "data" / name


def fasta_file(path: Path, kind: str, count: int = 60, length: int = 40) -> Path:
    rng = random.Random(0)
    letters = "ACGT" if kind == "dna" else "ACDEFGHIKLMNPQRSTVWY"
    path.write_text("".join(f">r{i} label={'yes' if i % 2 else 'no'}\n{''.join(rng.choices(letters, k=length))}\n"
                            for i in range(count)))
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Runs of the biology recipes, made on demand (each once per module)."""
    root = tmp_path_factory.mktemp("runs")
    made = {}

    def get(recipe: str):
        if recipe in made:
            return made[recipe]
        if recipe == "biology/tf-binding":
            data, sets = fasta_file(root / "dna.fa", "dna"), ("data.window=40", "model.filters=4", "model.hidden=4")
        elif recipe == "biology/amp-peptides":
            data, sets = fasta_file(root / "peptides.fa", "protein"), ("data.max_length=40", "model.width=8",
                                                                       "model.depth=1")
        elif recipe == "biology/protein-contacts":
            folder = root / "chains"
            folder.mkdir()
            for n in ("1i8nA", "1lpbA", "2cviA", "2xcjA", "3a4rA", "1mr1D"):
                shutil.copy(mda(f"dssp/{n}.pdb.gz"), folder)
            data, sets = str(folder), ("model.width=8", "model.depth=1", "data.repeats=1")
        else:  # biology/protein-interface, on the default complexes
            mda("1hvr.pdb")
            data, sets = None, ("model.width=8",)
        run, _ = train_tiny(recipe, root, *STEPS, *sets, data=str(data) if data else None)
        made[recipe] = run
        return run

    return get


SEQUENCE_RECIPES = ["biology/tf-binding", "biology/amp-peptides", "biology/protein-contacts"]
STRUCTURE_RECIPES = ["biology/protein-contacts", "biology/protein-interface"]


def one_line(message: str) -> bool:
    return "\n" not in message and "Traceback" not in message


@pytest.mark.parametrize("recipe", SEQUENCE_RECIPES + ["biology/protein-interface"])
@pytest.mark.parametrize("missing", ["missing.fa", "nowhere/seqs", "missing.pdb"])
def test_a_missing_path_is_no_such_file_not_a_sequence(runs, tmp_path, recipe, missing):
    run = runs(recipe)
    with pytest.raises(ZooError) as caught:
        run.predict([str(tmp_path / missing)])
    assert str(caught.value) == f"{tmp_path / missing}: no such file"


@pytest.mark.parametrize("recipe", SEQUENCE_RECIPES)
def test_a_folder_stands_for_its_files_and_a_bad_one_is_named(runs, tmp_path, recipe):
    kind = "dna" if recipe == "biology/tf-binding" else "protein"
    folder = tmp_path / "inputs"
    folder.mkdir()
    fasta_file(folder / "a.fa", kind, count=2)
    (folder / "notes.fa").write_text("these are my notes, not sequences\n")
    results = runs(recipe).predict([str(folder)])
    assert [r["input"] for r in results] == ["a.fa:r0", "a.fa:r1", str(folder / "notes.fa")]
    assert "score" in results[0] or "residues" in results[0]
    error = results[2]["error"]
    assert error.startswith("line 1: not FASTA") and one_line(error), error


@pytest.mark.parametrize("recipe", STRUCTURE_RECIPES)
@pytest.mark.parametrize("cut", ["atom", "gzip", "cif"])
def test_a_truncated_structure_is_one_line(runs, tmp_path, recipe, cut):
    run = runs(recipe)
    if cut == "atom":  # cut inside an ATOM record's coordinates: biopython's own exception must not leak
        text = mda("1hvr.pdb").read_text()
        bad = tmp_path / "cut.pdb"
        bad.write_text(text[: text.index("ATOM", len(text) // 3) + 35])
    elif cut == "gzip":
        raw = mda("1a28.pdb.gz").read_bytes()
        bad = tmp_path / "cut.pdb.gz"
        bad.write_bytes(raw[: len(raw) // 2])
    else:
        raw = gzip.decompress(mda("mmcif/5PTI.cif.gz").read_bytes())
        bad = tmp_path / "cut.cif"
        bad.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ZooError) as caught:
        run.predict([str(bad)])
    message = str(caught.value)
    assert message.startswith(f"{bad}: ") and one_line(message), message
    assert "truncated" in message or "not a readable" in message, message
    # beside a good file, the bad one is named and the good one predicted
    good = tmp_path / "5PTI.cif.gz"
    shutil.copy(mda("mmcif/5PTI.cif.gz"), good)
    results = run.predict([str(bad), str(good)])
    assert results[0]["input"] == str(bad) and "error" in results[0]
    assert results[1]["input"] == "5PTI.cif.gz:A" and results[1]["residues"] == 58


@pytest.mark.parametrize("recipe", SEQUENCE_RECIPES)
def test_a_sequence_of_unknown_letters_only_is_named_in_a_warning(runs, tmp_path, recipe, capsys):
    unknown = "N" if recipe == "biology/tf-binding" else "X"
    run = runs(recipe)
    capsys.readouterr()
    [result] = run.predict([unknown * 30])
    assert "error" not in result
    err = capsys.readouterr().err
    assert f"warning: sequence {unknown * 20}...: only unknown letters (30 x {unknown}); its score means nothing" in err
    fasta = tmp_path / "mixed.fa"
    fasta.write_text(f">fine\n{'ACGT' * 10}\n>blank\n{unknown * 25}\n")
    run.predict([str(fasta)])
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"warning: {fasta}, record blank: only unknown letters (25 x {unknown}); its score means nothing"]


@pytest.mark.parametrize("recipe", SEQUENCE_RECIPES)
def test_a_truncated_fasta_is_named_and_its_bad_records_are_errors_printed_once(runs, tmp_path, recipe, capsys):
    run = runs(recipe)
    fasta = tmp_path / "cut.fa"
    fasta.write_text(">whole\nACGTACGTACGTACGTACGTACGTACGT\n>empty\n\n>cut\nACGTAC")
    capsys.readouterr()
    results = run.predict([str(fasta)])
    assert [r["input"] for r in results] == ["cut.fa:whole", f"{fasta}, record empty", "cut.fa:cut"]
    assert results[1]["error"] == "empty sequence"
    err = capsys.readouterr().err.strip().splitlines()
    # the bad record is the result's error (the CLI prints it once), not also a warning
    assert err == [f"warning: {fasta}, record cut: the file ends inside this record, without a newline "
                   "(truncated?); scored as it is"]


def test_the_cli_names_each_bad_input_once_and_exits_2(runs, tmp_path):
    run = runs("biology/tf-binding")
    fasta = tmp_path / "two.fa"
    fasta.write_text(">good\n" + "ACGT" * 10 + "\n>bad\nACGTQ\n")
    result = run_zoo("predict", str(run.dir), str(fasta), str(tmp_path / "missing.fa"))
    assert result.code == 2
    assert result.out.startswith("two.fa:good\t") and len(result.out.strip().splitlines()) == 1
    err = [line for line in result.err.strip().splitlines() if not line.startswith("predicting")]
    assert err == [f"error: {fasta}, record bad: letter 'Q' at position 5 is not in the dna alphabet (ACGT, N for "
                   "unknown)", f"error: {tmp_path / 'missing.fa'}: no such file"], result.err


def test_nothing_scored_is_one_error_with_the_first_reason(runs, tmp_path):
    run = runs("biology/tf-binding")
    fasta = tmp_path / "bad.fa"
    fasta.write_text(">x\nACGTQ\n>y\n\n")
    with pytest.raises(ZooError, match=rf"^{re.escape(str(fasta))}, record x: letter 'Q' at position 5 .*\(and 1 more bad"):
        run.predict([str(fasta)])
