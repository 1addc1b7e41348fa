"""vision/captioning against the nearest-neighbour caption, on the same held-out OpenMoji families.

`zoo train vision/captioning` with its defaults (OpenMoji rendered, cached), then on the test split: the run's
captions (beam search, as `zoo predict` decodes), and the baseline: for each test image, the caption of the
training image closest in the same trained encoder's feature space (CaptionNet.features, cosine). Both are scored
with pycocoevalcap's BLEU-4 and CIDEr-D against the same references; the paired bootstrap of per-image CIDEr
resamples whole emoji families (skin-tone variants of one emoji are not independent).

ZOO_BENCH_CAPTIONING="epochs=6" trains with smaller settings on a busy machine; the section then says which
settings ran.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paired import paired_bootstrap, verdict  # noqa: E402
from recipes import train_cli  # noqa: E402


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    import torch

    from zoo.reopen import open_run
    from zoo_vision.caption_task import caption_scores, constant_caption, nearest_captions
    from zoo_vision.captions import decode
    from zoo_vision.emoji_data import family_key

    torch.set_num_threads(1)
    reduced = os.environ.get("ZOO_BENCH_CAPTIONING", "").split()
    work = Path(tempfile.mkdtemp(prefix="bench-captioning-"))
    ours_s = train_cli("vision/captioning", work / "run", reduced)
    summary = json.loads((work / "run" / "summary.json").read_text())
    config = json.loads((work / "run" / "config.json").read_text())

    trainer = open_run(work / "run", device="cpu").trainer(with_data=True)
    info, task = trainer.data.info, trainer.task
    train, test = trainer.data.train, trainer.data.test
    model = trainer.eval_model().eval()
    refs = [[decode(r, task.vocab) for r in rs] for rs in test.refs]
    log(f"decoding {len(refs)} test images (beam {info['beam']})")
    started = time.perf_counter()
    ours = []
    with torch.no_grad():
        for s in range(0, len(refs), 128):
            images = torch.stack([test.image(i) for i in range(s, min(len(refs), s + 128))])
            ours += task.texts(task.generate(model, images)[0])
    decode_s = time.perf_counter() - started
    log("baseline: nearest-neighbour caption in the encoder's feature space")
    started = time.perf_counter()
    theirs = nearest_captions(model, train, test, task.vocab)
    nn_s = time.perf_counter() - started
    constant = [constant_caption(train, task.vocab)] * len(refs)

    scored = {name: caption_scores(said, refs) for name, said in
              (("ours", ours), ("nn", theirs), ("constant", constant))}
    groups = [family_key(h) for h in test.names] if test.names else None
    diff, low, high = paired_bootstrap(scored["ours"]["cider_each"], scored["nn"]["cider_each"], groups=groups)
    bdiff, blow, bhigh = paired_bootstrap(scored["ours"]["bleu4_each"], scored["nn"]["bleu4_each"], groups=groups)
    train_captions = {c.lower() for rs in train.refs for c in (decode(r, task.vocab) for r in rs)}
    counts, cfg = info["counts"], config["config"]

    print("## vision: image captioning (`zoo train vision/captioning`)\n")
    print(f"**Drawings, not photographs**: OpenMoji 17 emoji rendered at {info['image_size']} px, one CLDR caption "
          f"each; {counts['train']:,} train / {counts['valid']:,} valid / {counts['test']:,} test images, split by "
          f"emoji family (skin-tone and gender variants together), so {1 - info['test_captions_seen']:.0%} of the "
          f"test captions never occur in training. {info['vocab_size'] - 4:,} training words. One run on this "
          "machine; both systems caption the same test images and are scored against the same references.\n")
    if reduced:
        print(f"Reduced settings for a busy machine: `ZOO_BENCH_CAPTIONING=\"{' '.join(reduced)}\"` (the defaults "
              "were not run in full).\n")
    print("| system | wall time | CIDEr-D | BLEU-4 | exact captions | captions said that training had |")
    print("|---|---|---|---|---|---|")
    rows = ((f"vision/captioning (CNN + transformer decoder, beam {info['beam']})",
             f"{ours_s / 60:.1f} min train + {decode_s:.0f} s decode", ours),
            ("nearest-neighbour caption (same encoder)", f"{nn_s:.0f} s", theirs),
            (f"constant caption ('{constant[0]}')", "-", constant))
    for (label, secs, said), key in zip(rows, ("ours", "nn", "constant")):
        exact = sum(s.lower() == r[0].lower() for s, r in zip(said, refs)) / len(refs)
        seen = sum(s.lower() in train_captions for s in said) / len(said)
        print(f"| {label} | {secs} | {scored[key]['cider']:.3f} | {scored[key]['bleu4']:.3f} | {exact:.3f} | "
              f"{seen:.2f} |")
    print(f"\nRecipe minus baseline, per-image CIDEr-D: {diff:+.3f} [95% {low:+.3f}, {high:+.3f}] (paired bootstrap "
          f"over {len(set(groups or range(len(refs)))):,} emoji families, 2,000 resamples): **{verdict(low, high)}**. "
          f"Per-image BLEU-4: {bdiff:+.3f} [95% {blow:+.3f}, {bhigh:+.3f}]. The run: {summary.get('epochs', '?')} "
          f"epochs (`epochs={cfg.get('epochs')}`), model.width={cfg.get('model.width')}, "
          f"model.layers={cfg.get('model.layers')}; validation CIDEr-D picked the checkpoint. Scorers: pycocoevalcap "
          "1.2's Bleu and Cider (CIDEr-D, its document frequencies from the test references) on lower-cased words "
          "without punctuation (COCO's Java tokenizer is not used).\n")
    print("First test images:\n")
    print("| reference | recipe | nearest neighbour |")
    print("|---|---|---|")
    for i in range(0, len(refs), max(1, len(refs) // 12))[:12]:
        print(f"| {refs[i][0]} | {ours[i]} | {theirs[i]} |")


if __name__ == "__main__":
    main()
