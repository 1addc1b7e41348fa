"""Spoken datasets for speech recognition: sentences of the IU X-ray reports and WordNet glosses spoken by
espeak-ng in many voices (each clip rendered on first use and cached; what it says and how is fixed by its
index), and a user's clips with transcripts.

Items are (waveform float32 at 16 kHz, character ids); batches are padded to their longest clip (collate).
Training clips get fresh noise and room echo each time they are read; valid and test clips get a fixed draw.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import Dataset

from zoo import ZooError
from zoo.config import Range
from zoo.data import DataBundle, split_indices
from zoo.paths import cache_dir

from . import corpora, speech
from .data import IGNORE

ACCENTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029"]
# espeak-ng voice variants: the "speakers". The last 6 are only ever heard in test, the 3 before them in valid.
VARIANTS = ["m1", "m2", "m4", "m5", "m7", "f1", "f3", "f4", "klatt", "klatt3", "adam", "ed", "john", "linda",
            "max", "paul", "iven", "norbert", "grandpa",
            "m6", "f5", "klatt4",
            "m3", "f2", "klatt2", "belinda", "david", "grandma"]
SPEAKER_SPLITS = {"train": VARIANTS[:19], "valid": VARIANTS[19:22], "test": VARIANTS[22:]}
FRACTIONS = (0.8, 0.1, 0.1)
NOISE_SEEDS = {"train": 0, "valid": 5, "test": 4}  # valid and test keep one fixed draw each (train's is fresh)
AUDIO_COLUMNS = ("audio_filepath", "audio", "path", "file", "filename")  # NeMo, HF datasets, Common Voice...
TEXT_COLUMNS = ("text", "transcript", "sentence", "transcription")


# -- sentences -------------------------------------------------------------------------------
def sentences(glosses: int = 2000) -> list[str]:
    """The distinct sentences of the IU reports (2-14 words, no de-identified 'XXXX', letters only), then a fixed
    random `glosses` of WordNet's definitions (3-12 words): normalized transcripts."""
    found: dict[str, None] = {}
    for report in corpora.iu_reports():
        for part in re.split(r"[.;]\s", report.text + " "):
            text = speech.normalize(part)
            if 2 <= len(text.split()) <= 14 and "xxxx" not in text and not speech.outside_alphabet(text):
                found.setdefault(text)
    reports = list(found)
    texts, _ = corpora.wordnet_glosses()
    texts = [speech.normalize(t) for t in texts]
    texts = [t for t in texts if 3 <= len(t.split()) <= 12 and not speech.outside_alphabet(t) and t not in found]
    chosen = split_indices(len(texts), [1.0], seed=1)[0][:glosses]
    return reports + [texts[i] for i in sorted(chosen)]


def clip_plan(limit: int = 0, glosses: int = 2000) -> dict[str, list[dict[str, Any]]]:
    """Per split, what each clip says and how: sentence, voice (accent + held-out variant), speed, pitch. Fixed:
    neither the run's seed nor `limit` changes which sentence or speaker is in test (limit keeps a prefix)."""
    texts = sentences(glosses)
    parts = split_indices(len(texts), list(FRACTIONS), seed=0)
    plan = {}
    for (split, variants), part in zip(SPEAKER_SPLITS.items(), parts):
        rng = np.random.default_rng(["train", "valid", "test"].index(split))
        if limit:
            part = part[: max(4, round(limit * FRACTIONS[list(SPEAKER_SPLITS).index(split)]))]
        plan[split] = [{"text": texts[i], "voice": f"{ACCENTS[rng.integers(len(ACCENTS))]}+"
                                                  f"{variants[rng.integers(len(variants))]}",
                        "speed": int(rng.integers(140, 211)), "pitch": int(rng.integers(25, 76))} for i in part]
    return plan


class Rendered:
    """Clip i of a plan, spoken by espeak-ng on first use and cached as int16 under a name made of what it says
    and how (so a changed plan never reads a stale clip); written atomically."""

    def __init__(self, clips: list[dict[str, Any]]):
        speech.espeak()  # a missing synthesizer: one line saying what to install
        self.clips, self.folder = clips, cache_dir("nlp", "spoken-v1")

    def __len__(self) -> int:
        return len(self.clips)

    def path(self, i: int) -> Path:
        key = hashlib.sha1(json.dumps(self.clips[i], sort_keys=True).encode()).hexdigest()[:20]
        return self.folder / key[:2] / f"{key}.npy"

    def __getitem__(self, i: int) -> np.ndarray:
        path = self.path(i)
        if path.is_file():
            return np.load(path)
        clip = self.clips[i]
        wave = speech.synthesize(clip["text"], clip["voice"], clip["speed"], clip["pitch"])
        pcm = np.round(np.clip(wave / (np.abs(wave).max() + 1e-9) * 0.9, -1, 1) * 32767).astype(np.int16)
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npy")
        np.save(tmp, pcm)
        tmp.replace(path)
        return pcm

    def sizes(self) -> list[int]:
        """About how long each clip is (characters over speaking rate), known before it is rendered."""
        return [round(len(c["text"]) * 1000 / c["speed"]) for c in self.clips]


class Clips(Dataset):
    """Waveforms with their transcripts. `corrupt`: 'fresh' (new noise and echo per read: training; with
    `speed` > 0 each read is also played at a speed drawn in 1 +- speed first), 'fixed' (one draw per index:
    valid and test) or 'none'."""

    def __init__(self, waves: Sequence[np.ndarray], texts: Sequence[str], corrupt: str = "none", seed: int = 0,
                 speed: float = 0.0):
        self.waves, self.texts, self.corrupt, self.seed, self.speed = waves, list(texts), corrupt, seed, speed

    def __len__(self) -> int:
        return len(self.texts)

    def audio(self, i: int) -> np.ndarray:
        wave = np.asarray(self.waves[i])
        wave = wave.astype(np.float32) / 32767 if wave.dtype == np.int16 else wave.astype(np.float32)
        if self.corrupt == "fresh":
            rng = np.random.default_rng()
            return speech.corrupt(speech.perturb(wave, rng, self.speed), rng)
        if self.corrupt == "fixed":
            return speech.corrupt(wave, np.random.default_rng([self.seed, i]))
        return wave

    def __getitem__(self, i: int):
        return torch.from_numpy(self.audio(i)), torch.tensor(speech.encode(self.texts[i]), dtype=torch.long)


def collate(batch):
    """Waveforms zero-padded to the longest of the batch, with their lengths; transcripts padded with -100."""
    waves, targets = zip(*batch)
    x = {"audio": pad_sequence(waves, batch_first=True), "lengths": torch.tensor([len(w) for w in waves])}
    return x, pad_sequence(targets, batch_first=True, padding_value=IGNORE)


def _bundle(name: str, splits: dict[str, Clips], max_seconds: float, sizes: list[int], **info: Any) -> DataBundle:
    """`sizes`: the training clips' durations, or what stands for them, so that batches hold similar ones."""
    info = {"dataset": name, "alphabet": speech.ALPHABET, "max_seconds": max_seconds, **info}
    return DataBundle(train=splits["train"], valid=splits["valid"], test=splits.get("test"), collate=collate,
                      model_args={"vocab_size": len(speech.ALPHABET) + 1}, info=info, lengths=sizes)


# -- the embedded default ----------------------------------------------------------------------
def spoken_reports(data: str | None = None, seed: int = 0, limit: int = 0, glosses: int = 2000,
                   max_seconds: float = 16.0, beam: int = 0, noise: bool = True,
                   speed: Annotated[float, Range(0.0, 0.3)] = 0.0) -> DataBundle:
    """nlp/spoken-reports: the synthetic default, or with --data a user's clips (see read_manifest). `speed`:
    training clips played at a speed drawn in 1 +- speed on every read (0: off)."""
    if data is not None:
        return user_clips(Path(data), max_seconds=max_seconds, beam=beam)
    splits, rendered = {}, {}
    for split, clips in clip_plan(limit, glosses).items():
        rendered[split] = Rendered(clips)
        mode = "none" if not noise else ("fresh" if split == "train" else "fixed")
        splits[split] = Clips(rendered[split], [c["text"] for c in clips], corrupt=mode,
                                seed=NOISE_SEEDS[split], speed=speed if split == "train" else 0.0)
    return _bundle("nlp/spoken-reports", splits, max_seconds, rendered["train"].sizes(), beam=beam,
                   speakers={k: len(v) for k, v in SPEAKER_SPLITS.items()})


# -- a user's clips --------------------------------------------------------------------------
def read_manifest(data: Path) -> list[tuple[str, Path, str]]:
    """(where, audio file, transcript) from a manifest: a CSV/TSV/JSONL/JSON file with an audio-path column
    (audio_filepath, audio, path, file or filename; relative to the manifest's folder) and a transcript column
    (text, transcript, sentence or transcription); or a folder holding LibriSpeech-style `*.trans.txt` files
    ('ID words...' per line, ID.flac or ID.wav beside) or one such manifest."""
    if data.is_dir():
        transcripts = sorted(data.rglob("*.trans.txt"))
        if transcripts:
            found = []
            for path in transcripts:
                lines = corpora._decode(path.read_bytes(), path).splitlines()
                for number, line in enumerate(lines, 1):
                    if line.strip():
                        clip, _, text = line.strip().partition(" ")
                        audio = next((path.parent / f"{clip}{s}" for s in (".flac", ".wav")
                                      if (path.parent / f"{clip}{s}").is_file()), path.parent / f"{clip}.flac")
                        found.append((f"{path}, line {number}", audio, text))
            return found
        manifests = [p for p in sorted(data.iterdir()) if p.suffix.lower() in (".csv", ".tsv", ".jsonl", ".json")]
        if len(manifests) != 1:
            raise ZooError(f"{data}: expected LibriSpeech-style *.trans.txt files or exactly one manifest "
                           f"(.csv, .tsv, .jsonl, .json), found {len(manifests)}")
        data = manifests[0]
    if not data.is_file():
        raise ZooError(f"{data}: no such file or folder (a manifest of audio files and transcripts)")
    records = corpora.read_records(data, (), "the manifest's columns")
    first = records[0][1]
    audio_column = next((c for c in AUDIO_COLUMNS if c in first), None)
    text_column = next((c for c in TEXT_COLUMNS if c in first), None)
    if audio_column is None or text_column is None:
        raise ZooError(f"{data}: needs an audio column ({', '.join(AUDIO_COLUMNS)}) and a transcript column "
                       f"({', '.join(TEXT_COLUMNS)}); it has {', '.join(map(repr, first))}")
    return [(f"{data}, {where}", data.parent / str(r.get(audio_column, "")), str(r.get(text_column) or ""))
            for where, r in records]


def load_clips(records: list[tuple[str, Path, str]], max_seconds: float) -> tuple[list[np.ndarray], list[str]]:
    """Read each record's audio and normalize its transcript. A record that cannot be used (missing, unreadable,
    empty or silent audio, a clip over max_seconds, an empty transcript or one with characters outside the
    alphabet) is left out and named in a warning; resampled or mixed-down files are counted in one."""
    waves, texts, skipped, converted = [], [], [], Counter()
    for where, path, raw in records:
        text = speech.normalize(raw)
        odd = speech.outside_alphabet(text)
        if not text or odd:
            skipped.append(f"{where}: transcript {raw!r} " + (f"has characters outside the alphabet ({odd!r}; "
                           "spell numbers and symbols out)" if odd else "is empty"))
            continue
        if not path.is_file():
            skipped.append(f"{where}: audio file {path} not found")
            continue
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            try:
                wave = speech.read_audio(path, max_seconds)
            except ZooError as e:
                skipped.append(f"{where}: {e}")
                continue
        for w in said:
            converted[re.sub(r"^.*?: ", "", str(w.message))] += 1
        waves.append(wave)
        texts.append(text)
    for message, count in converted.items():
        warnings.warn(f"{count} clip(s): {message}", stacklevel=2)
    for line in skipped[:20]:
        warnings.warn(f"{line}; record left out", stacklevel=2)
    if len(skipped) > 20:
        warnings.warn(f"... and {len(skipped) - 20} more records left out", stacklevel=2)
    return waves, texts


def user_clips(data: Path, max_seconds: float = 16.0, beam: int = 0) -> DataBundle:
    waves, texts = load_clips(read_manifest(data), max_seconds)
    if len(texts) < 3:
        raise ZooError(f"{data}: {len(texts)} usable clip(s); at least 3 are needed (train, valid, test)")
    parts = split_indices(len(texts), list(FRACTIONS), seed=0)
    splits = {split: Clips([waves[i] for i in part], [texts[i] for i in part], corrupt="none")
              for split, part in zip(("train", "valid", "test"), parts)}
    return _bundle(str(data), splits, max_seconds, [len(w) for w in splits["train"].waves], beam=beam)


def read_clip(path: str, info: dict[str, Any]) -> torch.Tensor:
    """A `zoo predict` argument (WAV/FLAC/OGG file) as a mono 16 kHz waveform of any length."""
    if Path(path).suffix.lower() not in speech.AUDIO_SUFFIXES:
        raise ZooError(f"{path}: not an audio file ({', '.join(sorted(speech.AUDIO_SUFFIXES))})")
    if not Path(path).is_file():
        raise ZooError(f"{path}: no such file")
    return torch.from_numpy(speech.read_audio(path))
