"""zoo-nlp: document classification and summarization on real text that installs offline."""
