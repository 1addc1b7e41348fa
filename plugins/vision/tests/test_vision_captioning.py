"""vision/captioning: a tiny setting learns (on a COCO captions file of drawn shapes written here), beam search
returns the best sequence, the COCO reader and its one-line errors, BLEU-4 and CIDEr-D on hand-computed examples,
`zoo predict` prints the caption and --out draws it; OpenMoji's variants stay in one split."""
from __future__ import annotations

import json
import math

import pytest
import torch
from PIL import Image, ImageDraw

from zoo import ZooError

torch.set_num_threads(1)
COLOURS = {"red": (220, 30, 30), "green": (30, 170, 40), "blue": (30, 60, 220)}
SHAPES = ("circle", "square", "triangle")
TINY = {"epochs": 15, "batch_size": 16, "lr": 0.004, "warmup": 0.1, "grad_stats_every": 0, "device": "cpu",
        "threads": 1, "task.label_smoothing": 0.0, "weight_decay": 0.0, "data.image_size": 16, "data.beam": 1,
        "data.augment": "none", "model.width": 48, "model.layers": 1, "model.heads": 2, "model.channels": 8,
        "model.stages": 2, "model.dropout": 0.0}


def draw(colour: str, shape: str, k: int, size: int = 32) -> Image.Image:
    img = Image.new("RGB", (size, size), (255, 255, 255))
    d = ImageDraw.Draw(img)
    o = k % 5
    box = [3 + o, 3 + o, size - 8 + o % 3, size - 8 + o % 3]
    fill = COLOURS[colour]
    if shape == "circle":
        d.ellipse(box, fill=fill)
    elif shape == "square":
        d.rectangle(box, fill=fill)
    else:
        d.polygon([(box[0], box[3]), (box[2], box[3]), ((box[0] + box[2]) // 2, box[1])], fill=fill)
    return img


def write_coco(folder, per_pair: int = 8, name: str = "captions.json", start: int = 0) -> list[str]:
    """A COCO captions file of drawn shapes: 'a red circle on white', ... (two phrasings each), images in
    folder/images."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    images, notes, captions = [], [], []
    for c in COLOURS:
        for s in SHAPES:
            for k in range(per_pair):
                i = start + len(images)
                draw(c, s, k).save(folder / "images" / f"{i:04d}.png")
                images.append({"id": i, "file_name": f"{i:04d}.png", "width": 32, "height": 32})
                notes.append({"id": 2 * i, "image_id": i, "caption": f"a {c} {s} on white"})
                notes.append({"id": 2 * i + 1, "image_id": i, "caption": f"a {c} {s} drawn on white paper"})
                captions.append(f"a {c} {s} on white")
    (folder / name).write_text(json.dumps({"images": images, "annotations": notes}))
    return captions


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from zoo.runs import train

    folder = tmp_path_factory.mktemp("shapes")
    write_coco(folder)
    out = folder / "run"
    train("vision/captioning", data=str(folder / "captions.json"), sets={k: str(v) for k, v in TINY.items()},
          out=str(out), callbacks=[])
    return out


def test_tiny_setting_learns(tiny_run):
    """Loss falls, and greedy captions of the training images beat the most common caption said of every image."""
    from zoo.reopen import open_run
    from zoo_vision.caption_task import caption_scores, constant_caption

    rows = [json.loads(line) for line in (tiny_run / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["train_loss"] < 0.6 * rows[0]["train_loss"]
    trainer = open_run(tiny_run, device="cpu").trainer(with_data=True)
    train, task = trainer.data.train, trainer.task
    images = torch.stack([train.image(i) for i in range(len(train.refs))])
    model = trainer.eval_model().eval()
    with torch.no_grad():
        said = task.texts(task.generate(model, images, beam=1)[0])
    refs = [[task.texts(torch.tensor([r]))[0] for r in refs] for refs in train.refs]
    ours = caption_scores(said, refs)
    constant = caption_scores([constant_caption(train, task.vocab)] * len(refs), refs)
    assert ours["cider"] > constant["cider"] + 3.0, (ours["cider"], constant["cider"])
    assert ours["bleu4"] > constant["bleu4"] + 0.3


def test_predict_prints_and_draws_the_caption(tiny_run, tmp_path, capsys):
    from zoo.cli import main

    draw("blue", "square", 1).save(tmp_path / "probe.png")
    with pytest.raises(SystemExit) as done:
        main(["predict", str(tiny_run), str(tmp_path / "probe.png"), "--device", "cpu", "--out", str(tmp_path / "out")])
    printed = capsys.readouterr()
    assert done.value.code == 0, printed.err
    assert "caption=" in printed.out and "blue square" in printed.out
    drawn = Image.open(tmp_path / "out" / "probe.caption.png")
    assert drawn.height > drawn.width  # the band with the caption under the image
    with pytest.raises(SystemExit) as done:
        main(["predict", str(tiny_run), str(tmp_path / "missing.png"), "--device", "cpu"])
    printed = capsys.readouterr()
    assert done.value.code == 2 and "missing.png" in printed.err and len(printed.err.strip().splitlines()) == 1


# -- beam search --------------------------------------------------------------------------------------------
class Table:
    """A hand-made decoder: next-word probabilities that depend on the last word only (0 bos, 1 eos, 2 'a',
    3 'b', 4 'c'). Greedy takes 'a' (0.6), after which every word is unlikely; 'b' (0.4) then ends surely."""

    def __init__(self):
        p = torch.full((5, 5), 1e-6)
        p[0, 2], p[0, 3] = 0.6, 0.4  # after bos
        p[2, 2:5] = 0.3; p[2, 1] = 0.1  # after 'a': a, b, c 0.3 each, eos 0.1
        p[3, 1] = 1.0  # after 'b': eos
        p[4, 1] = 1.0  # after 'c': eos
        self.logp = (p / p.sum(1, keepdim=True)).log()

    def __call__(self, memory, tokens):
        return self.logp[tokens]  # B x L x V


def sequence_logp(table: Table, seq: list[int]) -> float:
    prev, total = 0, 0.0
    for t in seq:
        total += float(table.logp[prev, t])
        prev = t
        if t == 1:
            break
    return total


def test_beam_search_returns_the_best_sequence():
    from itertools import product

    from zoo_vision.caption_model import beam_search

    table, memory = Table(), torch.zeros(2, 1, 4)
    greedy, _ = beam_search(table, memory, bos=0, eos=1, beam=1, max_len=4)
    assert greedy[0].tolist()[:3] == [2, 2, 2]  # greedy follows 'a'
    best, score = beam_search(table, memory, bos=0, eos=1, beam=3, max_len=4)
    assert best[0].tolist()[:2] == [3, 1] and best[1].tolist()[:2] == [3, 1]
    # the exhaustive best of all sequences of up to 4 words
    exhaustive = max(sequence_logp(table, list(s)) for n in range(1, 5) for s in product(range(1, 5), repeat=n)
                     if s[-1] == 1 or n == 4)
    assert score[0].item() == pytest.approx(exhaustive, abs=1e-5) == pytest.approx(math.log(0.4), abs=1e-4)


# -- metrics -------------------------------------------------------------------------------------------------
def test_cider_and_bleu_on_hand_computed_examples():
    from zoo_vision.caption_task import caption_scores

    # CIDEr-D: two images, every n-gram in one reference, so each weighs log 2. Image 1 says its reference:
    # unigram and bigram cosine 1, no 3- or 4-grams: 10 * (1 + 1 + 0 + 0) / 4 = 5. Image 2 'red apple' vs 'green
    # apple': unigram cosine 1/2, nothing else: 10 * 0.5 / 4 = 1.25.
    s = caption_scores(["a cat", "red apple"], [["a cat"], ["green apple"]])
    assert s["cider_each"] == pytest.approx([5.0, 1.25]) and s["cider"] == pytest.approx(3.125)
    # BLEU-4 of 'the cat sat on a mat' against 'the cat sat on the mat': precisions 5/6, 3/5, 2/4, 1/3, same
    # length: (1/12) ** (1/4)
    s = caption_scores(["The cat sat on a mat."], [["the cat sat on the mat"]])
    assert s["bleu4"] == pytest.approx((1 / 12) ** 0.25, abs=1e-6)
    assert caption_scores(["a dog"], [["a dog", "one dog"]])["bleu4"] < 1e-3  # no 3-gram at all


# -- the COCO reader -------------------------------------------------------------------------------------------
def test_coco_reader_and_splits(tmp_path):
    from zoo_vision.captions import captioning, read_coco

    captions = write_coco(tmp_path, per_pair=4)
    records = read_coco(tmp_path / "captions.json")
    assert len(records) == 36 and records[0] == ("0000.png", ["a red circle on white", "a red circle drawn on white paper"])
    bundle = captioning(str(tmp_path / "captions.json"), image_size=16)
    counts = bundle.info["counts"]
    assert sum(counts.values()) == 36 and min(counts.values()) >= 3 and bundle.info["beam"] == 3
    assert len(bundle.train) == 2 * counts["train"]  # one item per (image, caption)
    x, y = bundle.collate([bundle.valid[0], bundle.valid[1]])
    assert x["image"].shape == (2, 3, 16, 16) and y.shape[:2] == (2, 2)
    assert x["tokens"][:, 0].tolist() == [1, 1] and (y[:, 0] == 2).any()  # bos in, eos closes the reference
    # COCO's layout: a folder with annotations/captions_train2017.json, captions_val2017.json and the images in
    # train2017/ and val2017/: val is the test split
    coco = tmp_path / "coco"
    (coco / "annotations").mkdir(parents=True)
    write_coco(coco, per_pair=3, name="annotations/captions_train2017.json")
    (coco / "images").rename(coco / "train2017")
    write_coco(coco, per_pair=1, name="annotations/captions_val2017.json", start=1000)
    (coco / "images").rename(coco / "val2017")
    bundle = captioning(str(coco), image_size=16)
    assert bundle.info["counts"]["test"] == 9 and bundle.info["counts"]["train"] + bundle.info["counts"]["valid"] == 27
    assert len(captions) == 36


@pytest.mark.parametrize("text, expected", [
    ("{not json", "not valid JSON (line 1"),
    ('{"images": []}', "'images' and 'annotations' lists"),
    ('{"images": [{"id": 1}], "annotations": []}', "images[0] needs an 'id' and a 'file_name'"),
    ('{"images": [{"id": 1, "file_name": "a.png"}], "annotations": [{"image_id": 2, "caption": "x"}]}',
     "annotations[0]: image_id 2 is not in 'images'"),
    ('{"images": [{"id": 1, "file_name": "a.png"}], "annotations": [{"image_id": 1, "caption": 5}]}',
     "annotations[0]: 'caption' must be text"),
    ('{"images": [{"id": 1, "file_name": "a.png"}], "annotations": [{"image_id": 1, "caption": "a cat"}]}',
     "image 'a.png' not found"),
])
def test_bad_coco_files_get_one_line_errors(tmp_path, text, expected):
    from zoo_vision.captions import captioning

    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ZooError) as err:
        captioning(str(path))
    message = str(err.value)
    assert expected in message and str(path) in message and "\n" not in message


def test_tokens_and_words():
    from zoo_vision.captions import detokenize, plain, tokenize

    tokens = tokenize("Woman technologist: medium-light skin tone")
    assert tokens == ["woman", "technologist", ":", "medium", "-", "light", "skin", "tone"]
    assert detokenize(tokens) == "woman technologist: medium-light skin tone"
    assert plain("Woman’s hat, (blood type)") == "woman’s hat blood type"


# -- OpenMoji ------------------------------------------------------------------------------------------
def test_variants_are_one_family():
    from zoo_vision.emoji_data import bare_caption, families, family_key

    assert family_key("1F486-1F3FF") == family_key("1F486-200D-2642-FE0F") == "1F486"
    assert family_key("1F468-200D-1F4BB") == family_key("1F469-1F3FD-200D-1F4BB") == "P-1F4BB"
    assert bare_caption("kiss: person, person, light skin tone, medium-dark skin tone") == "kiss: person, person"
    records = [{"hexcode": "1F600", "caption": "grinning face"}, {"hexcode": "1F486", "caption": "person getting massage"},
               {"hexcode": "1F486-1F3FB", "caption": "person getting massage: light skin tone"},
               {"hexcode": "E000", "caption": "Grinning face"}]
    fams = families(records)
    assert fams[1] == fams[2] and fams[0] == fams[3] and fams[0] != fams[1]


def test_openmoji_test_split_holds_unseen_captions():
    from zoo import DataMissing
    from zoo.testing import require
    from zoo_vision import emoji_data
    from zoo_vision.captions import emoji_captions

    try:
        emoji_data.package_dir(install_missing=False)
    except DataMissing as exc:
        require(False, str(exc))
    images, captions, splits, hexcodes = emoji_captions(48, 0.1, 0.1, 0)  # the size `make data` renders
    assert len(captions) > 4000 and images.shape[1:] == (3, 48, 48)
    train = {captions[i][0].lower() for i in splits["train"]}
    assert not [captions[i][0] for i in splits["test"] if captions[i][0].lower() in train]
    keys = {s: {emoji_data.family_key(hexcodes[i]) for i in idx} for s, idx in splits.items()}
    assert not keys["train"] & keys["test"] and not keys["train"] & keys["valid"]
