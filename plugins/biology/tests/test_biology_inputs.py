"""zoo-biology reads FASTA, tables and structures with biopython, pandas and scikit-learn, and refuses bad input
with one line naming the file and record, keeping the rest of the file."""
from __future__ import annotations

import gzip
import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from zoo import ZooError
from zoo.testing import require
from zoo_biology import sequences
from zoo_biology.sequences import one_hot_dna, read_fasta, revcomp

HAVE_MDA = importlib.util.find_spec("MDAnalysisTests") is not None


def mda(name: str) -> Path:
    require(HAVE_MDA, "mdanalysistests (pip install --no-deps mdanalysistests) is not installed")
    return Path(importlib.util.find_spec("MDAnalysisTests").submodule_search_locations[0]) / "data" / name


def test_bad_records_get_one_line_each_and_the_rest_of_the_file_is_kept(tmp_path, capsys):
    fasta = tmp_path / "peptides.fasta"
    fasta.write_text(">good1 label=AMP\nGLWSKIKEVGKEAAKAAAKAAGKAALGAVSEAV\n"
                     ">bad_letter label=AMP\nGLWSKBKEV\n"
                     ">empty label=AMP\n\n"
                     ">good1 label=UniProt\nMKKLLA\n"
                     ">unknown_ok label=UniProt\nMKXXLA\n"
                     ">long label=UniProt\n" + "A" * 50 + "\n"
                     ">nolabel\nMKK\n")
    checked = read_fasta(fasta, "protein", max_length=40, need_labels=True)
    assert [r.id for r in checked.records] == ["good1", "unknown_ok", "long"]
    assert len(checked.records[2].seq) == 40  # cropped, with a warning
    err = capsys.readouterr().err.strip().splitlines()
    assert all(line.startswith("warning: ") for line in err) and len(err) == 5, err
    joined = "\n".join(err)
    assert f"{fasta}, record bad_letter: letter 'B' at position 6 is not in the protein alphabet" in joined
    assert f"{fasta}, record empty: empty sequence" in joined
    assert f"{fasta}, record good1: id repeated" in joined
    assert f"{fasta}, record long: cropped to 40 of its 50 letters" in joined
    assert f"{fasta}, record nolabel: no label" in joined


def test_dna_reads_n_as_unknown_and_refuses_other_letters(tmp_path):
    fasta = tmp_path / "dna.fa"
    fasta.write_text(">a\nacgtNNACGT\n>b\nACGTRACGT\n")
    checked = read_fasta(fasta, "dna", report=None)
    assert [r.seq for r in checked.records] == ["ACGTNNACGT"]  # soft-masked lower case read as upper case
    assert checked.problems == [f"{fasta}, record b: letter 'R' at position 5 is not in the dna alphabet (ACGT, N for "
                                "unknown)"]
    x = one_hot_dna("ACGTN", 5)
    assert torch.equal(x[:, 4], torch.full((4,), 0.25)) and torch.equal(x[:, :4], torch.eye(4))


def test_malformed_and_empty_fasta_files_are_one_line_errors(tmp_path):
    (tmp_path / "notes.fa").write_text("these are my sequences\n>a\nACGT\n")
    (tmp_path / "empty.fa").write_text("\n")
    (tmp_path / "allbad.fa").write_text(">x\nZZZ\n")
    with pytest.raises(ZooError, match=r"notes.fa, line 1: not FASTA"):
        read_fasta(tmp_path / "notes.fa", "dna")
    with pytest.raises(ZooError, match=r"empty.fa: empty file"):
        read_fasta(tmp_path / "empty.fa", "dna")
    with pytest.raises(ZooError, match=r"allbad.fa: no usable record \(.*record x: letter 'Z'"):
        read_fasta(tmp_path / "allbad.fa", "dna", report=None)


def test_labels_from_a_csv_and_its_errors(tmp_path):
    fasta = tmp_path / "s.fa"
    fasta.write_text(">a\nACGT\n>b\nACGA\n")
    labels = tmp_path / "labels.csv"
    labels.write_text("id,label\na,bound\nb,unbound\n")
    checked = read_fasta(fasta, "dna", labels=sequences.read_labels_csv(labels), need_labels=True)
    assert [r.label for r in checked.records] == ["bound", "unbound"]
    labels.write_text("id,label\na,bound\na,unbound\n")
    with pytest.raises(ZooError, match=r"labels.csv, row 3: id 'a' appears twice"):
        sequences.read_labels_csv(labels)


def test_reverse_complement_of_one_hot_dna_is_the_reverse_complement_string():
    seq = "AACGTTTGCN"
    complement = {"A": "T", "C": "G", "G": "C", "T": "A", "N": "N"}
    expected = "".join(complement[a] for a in reversed(seq))
    assert torch.equal(revcomp(one_hot_dna(seq, 10)[None])[0], one_hot_dna(expected, 10))


def test_motif_match_finds_oct4_on_either_strand():
    from zoo_biology.motifs import OCT4, consensus, match

    def pwm(seq):
        return one_hot_dna(seq, len(seq)).T.numpy() * 0.9 + 0.025

    score, offset, strand = match(pwm("GG" + OCT4 + "CC"))
    assert score == pytest.approx(0.925) and (offset, strand) == (2, "+")
    score, _, strand = match(pwm("ATTTGCAT" + "GGG"))  # Oct4's motif read from the other strand
    assert score == pytest.approx(0.925) and strand == "-"
    assert match(pwm("CCCCCCCCCC"))[0] < 0.4
    assert consensus(pwm("ACGT")) == "ACGT"


def test_tables_name_the_row_and_column_of_a_bad_cell(tmp_path):
    from zoo_biology.data import read_table

    table = tmp_path / "expr.csv"
    table.write_text("sample,g1,g2,label\ns1,1.0,2.0,liver\ns2,1.5,n/a,kidney\n")
    with pytest.raises(ZooError, match=r"expr.csv, row 3, column 'g2': expected a number, got 'n/a'"):
        read_table(table, "label")
    with pytest.raises(ZooError, match=r"no column 'tissue'"):
        read_table(table, "tissue")


def test_top_precision_counts_only_long_range_pairs():
    from zoo_biology.tasks import top_precision

    length = 50
    target = torch.zeros(length, length)
    target[0, 30] = target[30, 0] = target[5, 40] = target[40, 5] = 1  # two long-range contacts
    target[0, 3] = -1
    target[1, 2] = target[2, 1] = 1  # a short-range contact: right, but not counted
    probs = torch.zeros(length, length)
    probs[0, 30] = 0.9  # right
    probs[1, 2] = 0.99  # short range: not counted
    probs[10, 45] = 0.8  # wrong
    assert top_precision(probs, target, fraction=2 / 50) == pytest.approx(0.5)  # top 2: one right, one wrong


def test_contact_maps_and_interfaces_of_a_real_dimer():
    """HIV protease (1hvr) is a homodimer whose termini form a four-stranded sheet across the two chains."""
    from zoo_biology.structures import contact_map_of, interface_labels, protein_chains

    chains = protein_chains(mda("1hvr.pdb"))
    assert [c.chain_id for c in chains] == ["A", "B"] and len(chains[0].seq) == 99
    target = contact_map_of(chains[0].cb)
    assert target.shape == (99, 99) and torch.equal(target, target.T)
    assert (target.diagonal() == -1).all() and 0.01 < float((target == 1).float().mean()) < 0.2
    labels = interface_labels(chains)[0]
    assert labels[:4].all() and labels[95:].all()  # residues 1-4 and 96-99: the dimer's sheet
    assert 0.1 < labels.mean() < 0.5


def test_structures_without_ca_atoms_or_with_one_chain_are_left_out_with_a_line(tmp_path, capsys):
    from zoo_biology.structures import collect, protein_chains

    lines = [line for line in gzip.open(mda("1a28.pdb.gz"), "rt")]
    (tmp_path / "noca.pdb").write_text("".join(line for line in lines if not (line.startswith("ATOM") and
                                                                               line[12:16] == " CA ")))
    with pytest.raises(ZooError, match=r"noca.pdb: no protein chain with CA atoms"):
        protein_chains(tmp_path / "noca.pdb", report=lambda m: None)
    (tmp_path / "junk.pdb").write_text("not a structure at all\n")
    shutil.copy(mda("1hvr.pdb"), tmp_path / "1hvr.pdb")
    shutil.copy(mda("4E43.pdb"), tmp_path / "4E43.pdb")
    shutil.copy(mda("mmcif/5PTI.cif.gz"), tmp_path / "5PTI.cif.gz")
    proteins = collect(tmp_path, min_length=20, max_length=0, interfaces=True, quiet=False)
    err = capsys.readouterr().err
    assert f"{tmp_path / 'noca.pdb'}, chain A: no CA atoms" in err
    assert f"{tmp_path / '5PTI.cif.gz'}: one protein chain (A); the interface task needs two or more" in err
    assert "junk.pdb" in err
    assert sorted(p.name for p in proteins) == ["1hvr.pdb:A", "4E43.pdb:A"]  # each homodimer's twin is not repeated
    assert proteins[0].group == proteins[1].group  # HIV-1 and HIV-2-like proteases are homologs: one split


def test_homologous_structures_stay_in_one_split():
    from zoo.data import grouped_split

    groups = [0, 0, 1, 2, 2, 3, 4, 5, 6, 7]
    parts = grouped_split(groups, (0.7, 0.1, 0.2), seed=0, sizes=[100] * len(groups))
    assert sorted(sum(parts, [])) == list(range(len(groups))) and all(parts)
    where = {i: k for k, part in enumerate(parts) for i in part}
    assert where[0] == where[1] and where[3] == where[4]
