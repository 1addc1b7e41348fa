"""nlp/speech-reports against PocketSphinx on the same test clips, decided by a paired bootstrap; and both on real
recorded English speech.

The test clips are synthetic (espeak-ng voices and sentences never heard in training, with noise and room echo:
the dataset's fixed draw). PocketSphinx 5.1.1 decodes them with the US English acoustic model, dictionary and
language model its wheel ships; it takes about real time per clip here, so it decodes the first 150 test
clips and the comparison is on those (the model's rates on every test clip beside). Word error rate is the
corpus rate (edits over reference words); the 95% interval
of the difference comes from 2,000 resamples of the test clips. The real speech: the 8 spoken channel names
that Debian's alsa-utils ships (/usr/share/sounds/alsa, 48 kHz, one human voice), too few for an interval.
Set SPEECH_BENCH_SETS=max_steps=2,... for a smoke test (its figures mean nothing).
"""
from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from recipes import train_defaults  # noqa: E402
from paired import paired_bootstrap_metric, verdict  # noqa: E402

from zoo.reopen import open_run  # noqa: E402
from zoo_nlp import speech  # noqa: E402

ALSA = Path("/usr/share/sounds/alsa")
SPHINX_CLIPS = int(os.environ.get("SPEECH_BENCH_SPHINX_CLIPS", "150"))


def pocketsphinx():
    """A function from 16 kHz float audio to PocketSphinx's transcript."""
    from pocketsphinx import Decoder

    decoder = Decoder(samprate=speech.SAMPLE_RATE, loglevel="FATAL")

    def transcribe(audio: np.ndarray) -> str:
        pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16).tobytes()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        return speech.normalize(hyp.hypstr) if hyp is not None else ""

    return transcribe


def zoo_transcriber(run_dir: Path, beam: int):
    """A function from a batch of 16 kHz float clips to the run's transcripts (greedy, or beam search)."""
    import torch

    from zoo_nlp.spoken import collate

    trainer = open_run(run_dir, device="cpu").predictor()
    model, task = trainer.eval_model().eval(), trainer.task
    task.info = {**task.info, "beam": beam}

    def transcribe(clips: list[np.ndarray]) -> list[str]:
        out = []
        for start in range(0, len(clips), 32):
            x, _ = collate([(torch.from_numpy(c.copy()), torch.zeros(1, dtype=torch.long))
                            for c in clips[start:start + 32]])
            with torch.no_grad():
                out += task.transcripts(model(**x))
        return out

    return transcribe


def counts(hypotheses: list[str], references: list[str]) -> tuple[np.ndarray, ...]:
    """Per clip: word errors, reference words, character errors, reference characters."""
    rows = [speech.edit_counts(h, r) for h, r in zip(hypotheses, references)]
    return (np.array([r["word_errors"] for r in rows]), np.array([r["words"] for r in rows]),
            np.array([r["char_errors"] for r in rows]), np.array([r["chars"] for r in rows]))


def main() -> None:
    out, seconds, summary = train_defaults("nlp/speech-reports", "SPEECH_BENCH_SETS", threads=2)

    trainer = open_run(out, device="cpu").trainer(with_data=True)
    test = trainer.data.test
    clips, references = [test.audio(i) for i in range(len(test))], list(test.texts)
    systems = {}
    for name, beam in (("nlp/speech-reports (greedy)", 0), ("nlp/speech-reports (beam 8)", 8)):
        began = time.perf_counter()
        systems[name] = (zoo_transcriber(out, beam)(clips), time.perf_counter() - began)
    sphinx, began = pocketsphinx(), time.perf_counter()
    shared = min(len(clips), SPHINX_CLIPS)  # PocketSphinx takes about real time per clip here
    systems["PocketSphinx 5.1.1 (en-us)"] = ([sphinx(c) for c in clips[:shared]], time.perf_counter() - began)
    scored = {name: counts(hyps[:shared], references[:shared]) for name, (hyps, _) in systems.items()}
    audio_seconds = sum(len(c) for c in clips) / speech.SAMPLE_RATE

    print("## nlp: speech recognition (`nlp/speech-reports`)\n")
    print(f"THE SPEECH IS SYNTHETIC (espeak-ng). Test: {len(clips):,} clips ({audio_seconds / 60:.1f} min) of report "
          f"sentences and WordNet definitions never heard in training, spoken by 6 voice variants never heard in "
          f"training, with room echo and noise (the dataset's fixed draw). `nlp/speech-reports`: "
          f"{summary['epochs']} epochs in {seconds / 60:.1f} min with two torch threads (test WER "
          f"{summary['test']['wer']:.4f} as the trainer scored it). Decoding time for the whole test set beside.\n")
    print("| system | WER, all test clips | CER, all | WER, first {shared} | CER, first {shared} | decoding seconds |\n"
          "|---|---|---|---|---|---|".replace("{shared}", str(shared)))
    for name, (w, n, c, m) in scored.items():
        hyps, took = systems[name]
        w_all, n_all, c_all, m_all = counts(hyps, references[:len(hyps)])
        every = (f"{w_all.sum() / n_all.sum():.4f} | {c_all.sum() / m_all.sum():.4f}" if len(hyps) == len(clips)
                 else "- | -")
        print(f"| {name} | {every} | {w.sum() / n.sum():.4f} | {c.sum() / m.sum():.4f} | {took:.0f} "
              f"({len(hyps)} clips) |")

    ratio = lambda errors, total: errors.sum() / max(total.sum(), 1)  # noqa: E731
    print(f"\n| comparison (the first {shared} test clips, resampled) | metric | baseline - ours | 95% interval | "
          "result |\n"
          "|---|---|---|---|---|")
    base = scored["PocketSphinx 5.1.1 (en-us)"]
    for name in list(scored)[:2]:
        ours = scored[name]
        for metric, (e_ours, e_base, total) in (("WER", (ours[0], base[0], ours[1])),
                                                 ("CER", (ours[2], base[2], ours[3]))):
            diff, low, high = paired_bootstrap_metric(ratio, total, e_base, e_ours)  # positive: ours makes fewer
            print(f"| {name} vs PocketSphinx | {metric} | {diff:+.4f} | [{low:+.4f}, {high:+.4f}] | "
                  f"{verdict(low, high)} |")
    greedy, beam = scored["nlp/speech-reports (greedy)"], scored["nlp/speech-reports (beam 8)"]
    diff, low, high = paired_bootstrap_metric(ratio, greedy[1], greedy[0], beam[0])
    print(f"| beam 8 vs greedy | WER | {diff:+.4f} | [{low:+.4f}, {high:+.4f}] | {verdict(low, high)} |")

    real = sorted(p for p in ALSA.glob("*.wav") if p.stem != "Noise") if ALSA.is_dir() else []
    if not real:
        print("\nReal speech: /usr/share/sounds/alsa is missing (Debian alsa-utils), so it was not measured.")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 48 kHz: resampled, as read_audio says
        audio = [speech.read_audio(p) for p in real]
    truth = [speech.normalize(p.stem.replace("_", " ")) for p in real]
    print(f"\nReal recorded English speech: the {len(real)} channel names of Debian's alsa-utils "
          f"(/usr/share/sounds/alsa: {', '.join(truth)}; one human voice, 48 kHz resampled to 16 kHz). Too few "
          "clips for an interval: the counts are the result.\n")
    words = sum(len(t.split()) for t in truth)
    print(f"| system | WER | words right of {words} | transcripts |\n|---|---|---|---|")
    for name, hyps in (("nlp/speech-reports (greedy)", zoo_transcriber(out, 0)(audio)),
                       ("PocketSphinx 5.1.1 (en-us)", [sphinx(a) for a in audio])):
        w, n, *_ = counts(hyps, truth)
        right = sum(len(set(h.split()) & set(t.split())) for h, t in zip(hyps, truth))
        print(f"| {name} | {w.sum() / n.sum():.4f} | {right} | {'; '.join(h or '(nothing)' for h in hyps)} |")


if __name__ == "__main__":
    main()
