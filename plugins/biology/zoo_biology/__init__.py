"""zoo-biology: peptides, genomic DNA, gene expression, cells, protein contacts and interfaces."""
__version__ = "0.1.0"
