"""zoo-nlp speech recognition: audio in (rates, channels, silence, length), users' manifests, CTC decoding, error
rates, and a CTC model that learns to transcribe."""
from __future__ import annotations

import json
import math
import shutil
import warnings

import numpy as np
import pytest
import soundfile
import torch

from zoo import ZooError
from zoo.testing import require
from zoo_nlp import speech, spoken


def tone(seconds: float, rate: int = 16_000, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    return np.stack([wave] * channels, 1) if channels > 1 else wave


def test_transcripts_are_normalized_and_odd_characters_named():
    assert speech.normalize("No pleural effusion; the heart's size is NORMAL.") == \
        "no pleural effusion the heart's size is normal"
    assert speech.outside_alphabet(speech.normalize("Rib 5 fracture, café")) == "5é"
    assert speech.decode_ids(speech.encode("it's ok")) == "it's ok"


def test_other_rates_and_stereo_are_converted_and_said(tmp_path):
    path = tmp_path / "stereo.wav"
    soundfile.write(path, tone(1.0, rate=44_100, channels=2), 44_100)
    with pytest.warns(UserWarning) as said:
        audio = speech.read_audio(path)
    assert audio.ndim == 1 and abs(len(audio) - 16_000) <= 1
    messages = " ".join(str(w.message) for w in said)
    assert "stereo.wav" in messages and "mixed down" in messages and "resampled to 16000 Hz" in messages


@pytest.mark.parametrize("wave, match", [(np.zeros(16_000, np.float32), "silent"),
                                         (np.zeros(100, np.float32) + 0.1, "too short"),
                                         (None, "not readable audio")])
def test_silent_empty_and_broken_clips_are_named(tmp_path, wave, match):
    path = tmp_path / "clip.wav"
    if wave is None:
        path.write_bytes(b"RIFF not really a wave file")
    else:
        soundfile.write(path, wave, 16_000)
    with pytest.raises(ZooError, match=f"clip.wav.*{match}"):
        speech.read_audio(path)


def test_a_truncated_wav_is_named_in_a_warning(tmp_path):
    full, cut = tmp_path / "full.wav", tmp_path / "cut.wav"
    soundfile.write(full, np.concatenate([tone(0.9)] * 2), 16_000, subtype="PCM_16")
    raw = full.read_bytes()
    cut.write_bytes(raw[: len(raw) // 2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        speech.read_audio(full)
        audio = speech.read_audio(cut)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and messages[0].startswith(f"{cut}: truncated? its header promises "), messages
    assert len(audio) < 16_000 * 0.9 * 2


def test_long_clips_are_cut_at_quiet_points():
    speechy = np.tile(np.concatenate([tone(0.9), np.zeros(1600, np.float32)]), 40)  # 40 s, a pause every second
    pieces = speech.chunks(speechy, max_seconds=16)
    assert len(pieces) == 3 and sum(len(p) for p in pieces) == len(speechy)
    assert all(len(p) <= 16 * 16_000 for p in pieces)
    assert all(np.abs(p[-200:]).max() < 1e-6 for p in pieces[:-1])  # each cut falls inside a pause


def test_greedy_and_beam_decoding():
    # frames over (blank, ' ', a): the best single path is "blank blank" (0.36 vs "a" paths), but "a" summed over
    # its alignments (a-, -a, aa) is more likely than the empty transcript: only the beam search finds it
    p = torch.tensor([[0.6, 0.0, 0.4], [0.6, 0.0, 0.4]]).clamp_min(1e-9).log()  # column 1 is ' ', 2 is 'a'
    assert speech.greedy(p, 2) == ""
    assert speech.beam_search(p, 2, beam=4) == "a"
    # repeats merge unless a blank separates them
    frames = torch.full((5, len(speech.ALPHABET) + 1), -20.0)
    for t, s in enumerate([2, 2, 0, 2, 3]):  # a a - a b
        frames[t, s] = 0.0
    assert speech.greedy(frames, 5) == "aab" == speech.beam_search(frames, 5)
    assert speech.greedy(frames, 2) == "a"  # only the clip's own frames count


def test_error_rates_count_edits():
    counts = speech.edit_counts("the heart is big", "the heart is not enlarged")
    assert counts["words"] == 5 and counts["word_errors"] == 2  # one deletion, one substitution
    assert speech.describe(counts)["wer"] == pytest.approx(0.4)
    assert speech.describe(speech.edit_counts("", "no effusion")) == {"wer": 1.0, "cer": 1.0}
    assert speech.describe(speech.edit_counts("no effusion", "no effusion")) == {"wer": 0.0, "cer": 0.0}


def write_manifest(folder, rows, suffix=".jsonl"):
    path = folder / f"manifest{suffix}"
    if suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        keys = list(rows[0])
        path.write_text(",".join(keys) + "\n" + "".join(",".join(str(r[k]) for k in keys) + "\n" for r in rows))
    return path


def test_users_manifest_leaves_out_bad_records_and_names_them(tmp_path):
    for name in ("a", "b", "c", "d"):
        soundfile.write(tmp_path / f"{name}.wav", tone(1.0 + 0.1 * ord(name) % 3), 16_000)
    soundfile.write(tmp_path / "quiet.wav", np.zeros(16_000, np.float32), 16_000)
    soundfile.write(tmp_path / "long.flac", tone(20.0, rate=8_000), 8_000)
    rows = [{"audio_filepath": "a.wav", "text": "No effusion."}, {"audio_filepath": "b.wav", "text": "rib 5"},
            {"audio_filepath": "gone.wav", "text": "lost"}, {"audio_filepath": "quiet.wav", "text": "hush"},
            {"audio_filepath": "long.flac", "text": "long"}, {"audio_filepath": "c.wav", "text": "clear"},
            {"audio_filepath": "d.wav", "text": "heart"}]
    manifest = write_manifest(tmp_path, rows)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        bundle = spoken.spoken_reports(data=str(manifest), max_seconds=16)
    messages = "\n".join(str(w.message) for w in said)
    assert "line 2" in messages and "outside the alphabet ('5'" in messages
    assert "line 3" in messages and "gone.wav not found" in messages
    assert "line 4" in messages and "silent" in messages
    assert "line 5" in messages and "longer than data.max_seconds=16" in messages
    assert len(bundle.train) + len(bundle.valid) + len(bundle.test) == 3
    texts = set(bundle.train.texts + bundle.valid.texts + bundle.test.texts)
    assert texts == {"no effusion", "clear", "heart"}


def test_librispeech_folders_and_missing_columns(tmp_path):
    chapter = tmp_path / "19" / "198"
    chapter.mkdir(parents=True)
    lines = []
    for i in range(4):
        soundfile.write(chapter / f"19-198-{i:04d}.flac", tone(1.0), 16_000)
        lines.append(f"19-198-{i:04d} NORTHANGER ABBEY {i}" if i == 3 else f"19-198-{i:04d} NORTHANGER ABBEY")
    (chapter / "19-198.trans.txt").write_text("\n".join(lines) + "\n")
    records = spoken.read_manifest(tmp_path)
    assert len(records) == 4 and records[0][1].name == "19-198-0000.flac"
    assert "19-198.trans.txt, line 1" in records[0][0]
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        waves, texts = spoken.load_clips(records, 16)
    assert texts == ["northanger abbey"] * 3 and "line 4" in str(said[0].message)
    bad = write_manifest(tmp_path, [{"wav": "x.wav", "words": "hi"}], suffix=".csv")
    with pytest.raises(ZooError, match="manifest.csv: needs an audio column"):
        spoken.read_manifest(bad)


@pytest.mark.parametrize("kernel", [15, 0])  # conformer blocks, plain transformer layers
def test_model_ignores_padding_and_counts_its_frames(kernel):
    from zoo_nlp.models import ctc_transformer

    torch.manual_seed(0)
    model = ctc_transformer(len(speech.ALPHABET) + 1, width=32, depth=1, heads=2, ff=64, channels=8,
                            kernel=kernel).eval()
    clip = torch.from_numpy(tone(0.5))
    alone = model(clip[None], torch.tensor([len(clip)]))
    padded = model(torch.nn.functional.pad(clip, (0, 4000))[None], torch.tensor([len(clip)]))
    n = int(alone["lengths"][0])
    assert n == padded["lengths"][0] == math.ceil((len(clip) // 160 + 1) / 2)  # 20 ms frames
    assert torch.allclose(alone["log_probs"][0, :n], padded["log_probs"][0, :n], atol=1e-4)
    inferred = model(torch.nn.functional.pad(clip, (0, 4000))[None])  # no lengths: up to the last non-zero sample
    assert int(inferred["lengths"][0]) == n


def test_missing_synthesizer_says_what_to_install(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ZooError, match="apt-get install espeak-ng"):
        spoken.Rendered([{"text": "hi", "voice": "en-us+m1", "speed": 160, "pitch": 50}])


WORDS = ["yes", "no", "left", "right", "up", "down", "stop", "go", "heart", "lungs"]


@pytest.fixture(scope="module")
def spoken_words(tmp_path_factory):
    """A user's manifest of 160 one-word clips (10 words, espeak-ng voices), as a WAV folder and a JSONL file."""
    require(shutil.which("espeak-ng") is not None, "espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    folder = tmp_path_factory.mktemp("words")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(160):
        word = WORDS[i % len(WORDS)]
        voice = f"{spoken.ACCENTS[i % 3]}+{spoken.VARIANTS[i % 8]}"
        wave = speech.synthesize(word, voice, int(rng.integers(140, 200)), int(rng.integers(30, 70)))
        soundfile.write(folder / f"{i:03d}.wav", wave, 16_000)
        rows.append({"audio_filepath": f"{i:03d}.wav", "text": word.upper() + "."})
    return write_manifest(folder, rows)


def test_ctc_model_learns_to_transcribe_spoken_words(spoken_words, tmp_path):
    """A tiny CTC transformer trained on the user's clips spells held-out clips' words far better than chance:
    the empty transcript has a character error rate of 1."""
    from zoo.reopen import open_run
    from zoo.runs import train

    out = tmp_path / "run"
    train("nlp/speech-reports", data=str(spoken_words), out=str(out), callbacks=[],
          sets={"epochs": "25", "batch_size": "16", "lr": "3e-3", "warmup": "0.1", "grad_stats_every": "0",
                "device": "cpu", "model.width": "64", "model.depth": "2", "model.heads": "2", "model.ff": "128",
                "model.channels": "16", "model.dropout": "0.0"})
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["train_loss"] < 0.5 * rows[2]["train_loss"]  # past the first fall, which a deaf model makes too
    summary = json.loads((out / "summary.json").read_text())
    assert summary["test"]["cer"] < 0.4, summary["test"]
    # a clip over the model's limit (data.max_seconds, 16 s) is cut at pauses and the pieces' words joined
    pause = np.zeros(8_000, np.float32)
    words = [soundfile.read(spoken_words.parent / f"{i:03d}.wav", dtype="float32")[0] for i in range(20)]
    long = tmp_path / "long.wav"
    soundfile.write(long, np.concatenate([np.concatenate([w, pause]) for w in words]), 16_000)
    [prediction] = open_run(out, device="cpu").predict([str(long)], out=tmp_path / "said")
    assert prediction["seconds"] > 16 and prediction["pieces"] == 2
    assert len(prediction["transcript"].replace(" ", "")) >= 20  # both pieces' letters (single words: no spaces)
    assert (tmp_path / "said" / "long.txt").read_text().strip() == prediction["transcript"]
