"""Speech: reading audio, synthesizing it with espeak-ng, corrupting it (noise, room echo), log-mel features and
CTC decoding. No torch at import: the data side is numpy; features and decoding import torch when called.

Hand-written, and why: the mel filterbank and log-mel front end (torchaudio has no build for this torch; 20 lines
of torch.stft keep features on the model's device), the CTC prefix beam search (torchaudio's decoder is not
available and pyctcdecode needs kenlm for what it adds), the synthetic room echo (an exponentially decaying
noise impulse response, the usual cheap stand-in for measured ones).
"""
from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from zoo import DataMissing, ZooError

SAMPLE_RATE = 16_000
ALPHABET = " abcdefghijklmnopqrstuvwxyz'"  # index 0 of the model's output is the CTC blank, then these
PUNCTUATION = str.maketrans({c: " " for c in ".,;:!?\"()[]{}/-_&"})
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg"}
ESPEAK_HINT = "install espeak-ng (Debian: apt-get install espeak-ng; it is in plugins/nlp/debian-packages.txt)"


# -- transcripts -------------------------------------------------------------------------------
def normalize(text: str) -> str:
    """Lower case, punctuation as spaces, single spaces: the form transcripts are scored in."""
    return " ".join(text.lower().replace("\u2019", "'").translate(PUNCTUATION).split())


def outside_alphabet(text: str) -> str:
    """The characters of a normalized transcript the model cannot write (digits, accents...), sorted."""
    return "".join(sorted(set(text) - set(ALPHABET)))


def encode(text: str) -> list[int]:
    return [ALPHABET.index(c) + 1 for c in text]


def decode_ids(ids: list[int]) -> str:
    return "".join(ALPHABET[i - 1] for i in ids if 0 < i <= len(ALPHABET))


# -- reading audio -----------------------------------------------------------------------------
def read_audio(path: str | Path, max_seconds: float | None = None) -> np.ndarray:
    """A WAV/FLAC/OGG file as mono float32 at 16 kHz. Stereo is mixed down and other rates resampled, each said
    once in a warning naming the file; an unreadable, empty or silent file is a ZooError naming it."""
    import soundfile

    path = Path(path)
    try:
        audio, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as e:
        raise ZooError(f"{path}: not readable audio ({e})") from None
    promised = wav_frames(path)
    if promised is not None and promised > len(audio):
        warnings.warn(f"{path}: truncated? its header promises {promised / rate:.2f} s, the file holds "
                      f"{len(audio) / rate:.2f} s; read as it is", stacklevel=2)
    if audio.shape[1] > 1:
        warnings.warn(f"{path}: {audio.shape[1]} channels, mixed down to mono", stacklevel=2)
    audio = audio.mean(axis=1)
    if rate != SAMPLE_RATE:
        warnings.warn(f"{path}: {rate} Hz, resampled to {SAMPLE_RATE} Hz", stacklevel=2)
        audio = resample(audio, rate)
    check_audio(audio, str(path))
    if max_seconds is not None and len(audio) > max_seconds * SAMPLE_RATE:
        raise ZooError(f"{path}: {len(audio) / SAMPLE_RATE:.1f} s, longer than data.max_seconds={max_seconds:g}")
    return audio


def wav_frames(path: Path) -> int | None:
    """The frames a PCM WAV file's header promises (libsndfile reads what is there without a word), or None."""
    if path.suffix.lower() != ".wav":
        return None
    import wave

    try:
        with wave.open(str(path), "rb") as fh:
            return fh.getnframes()
    except (wave.Error, EOFError, OSError):
        return None  # not PCM (float WAV): no check


def resample(audio: np.ndarray, rate: int) -> np.ndarray:
    from scipy.signal import resample_poly

    g = math.gcd(int(rate), SAMPLE_RATE)
    return resample_poly(audio, SAMPLE_RATE // g, int(rate) // g).astype(np.float32)


def check_audio(audio: np.ndarray, name: str) -> None:
    if len(audio) < SAMPLE_RATE // 10:
        raise ZooError(f"{name}: {len(audio) / SAMPLE_RATE:.2f} s of audio, too short to hold speech (empty?)")
    if not np.isfinite(audio).all():
        raise ZooError(f"{name}: the audio holds NaN or infinite samples")
    if np.abs(audio).max() < 1e-4:
        raise ZooError(f"{name}: the clip is silent (peak below -80 dBFS)")


def chunks(audio: np.ndarray, max_seconds: float) -> list[np.ndarray]:
    """A clip longer than the model's limit, cut into pieces of at most max_seconds, each cut in the quietest
    20 ms of its last third (the latest such, for few pieces) so that words are rarely split."""
    limit, frame = int(max_seconds * SAMPLE_RATE), SAMPLE_RATE // 50
    pieces = []
    while len(audio) > limit:
        tail = audio[limit * 2 // 3: limit]
        energy = np.convolve(tail ** 2, np.ones(frame), mode="valid")
        cut = limit * 2 // 3 + len(energy) - 1 - int(energy[::-1].argmin()) + frame // 2  # the latest quietest
        pieces.append(audio[:cut])
        audio = audio[cut:]
    return pieces + [audio]


# -- synthesis and corruption ------------------------------------------------------------------
def espeak() -> str:
    found = shutil.which("espeak-ng")
    if found is None:
        raise DataMissing(f"the spoken datasets need the espeak-ng synthesizer: {ESPEAK_HINT}")
    return found


def synthesize(text: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    """`text` spoken by espeak-ng (voice like 'en-us+f3', words per minute, pitch 0-99), mono float32 16 kHz."""
    import soundfile

    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        done = subprocess.run([espeak(), "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", f.name, text],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise ZooError(f"espeak-ng -v {voice}: {done.stderr.strip() or 'failed'}")
        audio, rate = soundfile.read(f.name, dtype="float32")
    return resample(audio, rate)


def corrupt(audio: np.ndarray, rng: np.random.Generator, snr_db: tuple[float, float] = (5.0, 30.0),
            echo: float = 0.7) -> np.ndarray:
    """Room echo (with probability `echo`: a decaying-noise impulse response, RT60 0.15-0.6 s) and then white or
    pink noise at a random signal-to-noise ratio; the peak is rescaled to 0.3-0.9."""
    from scipy.signal import oaconvolve

    out = audio.astype(np.float32)
    if rng.random() < echo:
        rt60 = rng.uniform(0.15, 0.6)
        t = np.arange(int(rt60 * SAMPLE_RATE)) / SAMPLE_RATE
        response = (rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)).astype(np.float32)  # -60 dB at rt60
        response[0] = 1.0 / rng.uniform(0.05, 0.3)  # the direct path dominates
        out = oaconvolve(out, response / np.abs(response).sum() * 4)[: len(out)]
    noise = rng.standard_normal(len(out), dtype=np.float32)
    if rng.random() < 0.5:  # pink: 1/f power, by shaping white noise's spectrum
        spectrum = np.fft.rfft(noise)
        spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
        noise = np.fft.irfft(spectrum, len(noise)).astype(np.float32)
    snr = rng.uniform(*snr_db)
    power = np.mean(out ** 2) + 1e-12
    out = out + noise * np.sqrt(power / (np.mean(noise ** 2) + 1e-12) / 10 ** (snr / 10))
    return (out / (np.abs(out).max() + 1e-9) * rng.uniform(0.3, 0.9)).astype(np.float32)


def speed(audio: np.ndarray, factor: float) -> np.ndarray:
    """Speed perturbation (Ko et al. 2015): the clip played `factor` times faster by resampling, so its duration
    is divided by `factor` and every frequency (pitch and formants) multiplied by it. 1.0 returns the clip."""
    if factor == 1.0:
        return audio
    from fractions import Fraction

    from scipy.signal import resample_poly

    ratio = Fraction(factor).limit_denominator(100)
    return resample_poly(audio, ratio.denominator, ratio.numerator).astype(np.float32)


def vtlp_warp(freqs: np.ndarray, alpha: float, rate: int = SAMPLE_RATE, high: float = 4800.0) -> np.ndarray:
    """Vocal-tract-length warp of frequencies (Jaitly & Hinton 2013): f * alpha up to a boundary, then a straight
    line that maps Nyquist to itself, so the warp stays inside the band (alpha > 1: formants move up, as for a
    shorter vocal tract)."""
    nyquist = rate / 2
    boundary = high * min(alpha, 1.0) / alpha
    upper = nyquist - (nyquist - high * min(alpha, 1.0)) / (nyquist - boundary) * (nyquist - freqs)
    return np.where(freqs <= boundary, freqs * alpha, upper)


def perturb(audio: np.ndarray, rng: np.random.Generator, speed_range: float = 0.0) -> np.ndarray:
    """Training-time speed perturbation by a factor drawn in 1 +- speed_range (0: the clip unchanged). The
    vocal-tract-length perturbation is in the model's features (models.LogMel), on the power spectrum."""
    if speed_range > 0:
        audio = speed(audio, float(rng.uniform(1 - speed_range, 1 + speed_range)))
    return audio


# -- features ----------------------------------------------------------------------------------
def mel_filterbank(n_mels: int, n_fft: int, rate: int = SAMPLE_RATE, low: float = 20.0, high: float | None = None):
    """Triangular filters evenly spaced on the HTK mel scale, (n_fft // 2 + 1) x n_mels."""
    import torch

    mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)  # noqa: E731
    hz = lambda m: 700.0 * (10.0 ** (m / 2595.0) - 1.0)  # noqa: E731
    edges = hz(np.linspace(mel(low), mel(high or rate / 2), n_mels + 2))
    freqs = np.linspace(0, rate / 2, n_fft // 2 + 1)
    rising = (freqs[:, None] - edges[None, :-2]) / (edges[1:-1] - edges[:-2])[None]
    falling = (edges[None, 2:] - freqs[:, None]) / (edges[2:] - edges[1:-1])[None]
    return torch.tensor(np.maximum(0.0, np.minimum(rising, falling)), dtype=torch.float32)


# -- CTC decoding ------------------------------------------------------------------------------
def greedy(log_probs, length: int) -> str:
    """Best path: the most likely symbol per frame, repeats merged, blanks dropped."""
    best = log_probs[:length].argmax(-1).tolist()
    return decode_ids([s for i, s in enumerate(best) if s != 0 and (i == 0 or s != best[i - 1])])


def beam_search(log_probs, length: int, beam: int = 8, prune: float = -12.0) -> str:
    """CTC prefix beam search (no language model): the prefix most likely summed over all its alignments.

    Each prefix keeps log P(ending in blank) and log P(ending in its last symbol); symbols below `prune`
    (log-probability) at a frame are not tried."""
    frames = log_probs[:length].float().cpu().numpy()
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, -math.inf)}
    for frame in frames:
        candidates = [int(s) for s in np.nonzero(frame > prune)[0]]
        grown: dict[tuple[int, ...], list[float]] = {}

        def add(prefix, blank, symbol):
            old = grown.setdefault(prefix, [-math.inf, -math.inf])
            old[0], old[1] = np.logaddexp(old[0], blank), np.logaddexp(old[1], symbol)

        for prefix, (p_blank, p_symbol) in beams.items():
            total = np.logaddexp(p_blank, p_symbol)
            for s in candidates:
                p = frame[s]
                if s == 0:
                    add(prefix, total + p, -math.inf)
                elif prefix and prefix[-1] == s:
                    add(prefix, -math.inf, p_symbol + p)  # the same symbol again, without a blank between
                    add(prefix + (s,), -math.inf, p_blank + p)  # a repeated letter needs a blank between
                else:
                    add(prefix + (s,), -math.inf, total + p)
        ranked = sorted(grown.items(), key=lambda kv: -np.logaddexp(*kv[1]))[:beam]
        beams = {prefix: (b, s) for prefix, (b, s) in ranked}
    best = max(beams.items(), key=lambda kv: np.logaddexp(*kv[1]))[0]
    return decode_ids(list(best))


# -- error rates -------------------------------------------------------------------------------
def edit_counts(hypothesis: str, reference: str) -> dict[str, int]:
    """Word and character edits (substitutions + deletions + insertions, by jiwer) and the reference's lengths."""
    import jiwer

    if not reference:  # jiwer needs a reference: every hypothesised word is an insertion
        return {"word_errors": len(hypothesis.split()), "words": 0, "char_errors": len(hypothesis), "chars": 0}
    words, chars = jiwer.process_words(reference, hypothesis), jiwer.process_characters(reference, hypothesis)
    return {"word_errors": words.substitutions + words.deletions + words.insertions, "words": len(reference.split()),
            "char_errors": chars.substitutions + chars.deletions + chars.insertions, "chars": len(reference)}


def describe(counts: dict[str, Any]) -> dict[str, float]:
    return {"wer": counts["word_errors"] / max(counts["words"], 1),
            "cer": counts["char_errors"] / max(counts["chars"], 1)}
