"""Questions about a chest X-ray report, answered by the MeSH annotations the IU reports carry.

The IU collection's annotators indexed each report with major MeSH tags such as `Cardiomegaly/mild` or
`Opacity/lung/base/left`. Each question type below turns those tags into an answer: yes/no for a finding,
where it is for opacities and atelectasis, which side for effusions, how much for an enlarged heart.
The answer comes from the tags, never from the text, so a model must read the report to find it.

Also here: SQuAD's answer normalization, exact match and token F1 (per example, for the paired bootstrap),
and the keyword-rule baseline. Nothing here imports torch.
"""
from __future__ import annotations

import random
import re
import string
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

# question type -> (question, MeSH heads that mean "yes")
FINDINGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "cardiomegaly": ("Is the heart enlarged?", ("Cardiomegaly",)),
    "effusion": ("Is there a pleural effusion?", ("Pleural Effusion",)),
    "opacity": ("Is there an opacity?", ("Opacity",)),
    "atelectasis": ("Is there atelectasis?", ("Pulmonary Atelectasis",)),
    "granuloma": ("Is there a granuloma?", ("Calcified Granuloma", "Granuloma", "Granulomatous Disease")),
    "nodule": ("Is there a nodule?", ("Nodule",)),
    "scoliosis": ("Is there scoliosis?", ("Scoliosis",)),
    "emphysema": ("Is there emphysema?", ("Emphysema", "Pulmonary Emphysema")),
    "edema": ("Is there pulmonary edema?", ("Pulmonary Edema",)),
    "pneumothorax": ("Is there a pneumothorax?", ("Pneumothorax",)),
}
NORMAL_QUESTION = "Is the chest x-ray normal?"
WHERE = {"opacity_where": ("Where is the opacity?", "Opacity"),
         "atelectasis_where": ("Where is the atelectasis?", "Pulmonary Atelectasis")}
SIDE_QUESTION = "Which side is the pleural effusion on?"
SEVERITY_QUESTION = "How enlarged is the heart?"
SIDES = ("left", "right", "bilateral")
REGIONS = ("upper lobe", "middle lobe", "lower lobe", "base", "lingula", "apex", "hilum", "retrocardiac")
SEVERITIES = ("borderline", "mild", "moderate", "severe")


@dataclass(frozen=True)
class Question:
    report: str  # the report id
    kind: str  # question type: a key of FINDINGS, "normal", a key of WHERE, "effusion_side", "severity"
    question: str
    answer: str


def _qualifiers(tags: Sequence[str], head: str) -> list[list[str]]:
    """The path after `head` of each tag that starts with it, lower-cased: Opacity/lung/base/left -> [lung, base, left]."""
    return [[p.strip().lower() for p in tag.split("/")[1:]] for tag in tags if tag.split("/")[0].strip() == head]


def location(parts: Sequence[str], regions: bool = True) -> str:
    """'left base', 'right upper lobe', 'bilateral', ... from a tag's qualifiers ('' when it names none)."""
    side = next((p for p in parts if p in SIDES), "")
    region = next((p for p in parts if p in REGIONS), "") if regions else ""
    return f"{side} {region}".strip()


def _join(phrases: Sequence[str]) -> str:
    unique = list(dict.fromkeys(p for p in phrases if p))
    return " and ".join(unique)


def report_questions(report_id: str, tags: Sequence[str], negatives: int | None = None) -> list[Question]:
    """Every question this report answers: the normal question; yes for each finding its tags hold and no for
    as many others as it has yes answers (at least one; chosen by a random stream seeded by the report id,
    so the set is fixed); where/which side/how much for the findings whose tags say so."""
    heads = {t.split("/")[0].strip() for t in tags}
    out = [Question(report_id, "normal", NORMAL_QUESTION, "yes" if [t.lower() for t in tags] == ["normal"] else "no")]
    yes = [k for k, (_, names) in FINDINGS.items() if heads & set(names)]
    no = [k for k in FINDINGS if k not in yes]
    rng = random.Random(zlib.crc32(report_id.encode()))
    asked_no = rng.sample(no, min(len(no), max(1, len(yes)) if negatives is None else negatives))
    for kind in sorted(yes + asked_no, key=list(FINDINGS).index):
        out.append(Question(report_id, kind, FINDINGS[kind][0], "yes" if kind in yes else "no"))
    for kind, (question, head) in WHERE.items():
        answer = _join([location(q) for q in _qualifiers(tags, head)])
        if answer:
            out.append(Question(report_id, kind, question, answer))
    side = _join([location(q, regions=False) for q in _qualifiers(tags, "Pleural Effusion")])
    if side and " and " not in side:
        out.append(Question(report_id, "effusion_side", SIDE_QUESTION, side))
    severity = _join([next((p for p in q if p in SEVERITIES), "") for q in _qualifiers(tags, "Cardiomegaly")])
    if severity and " and " not in severity:
        out.append(Question(report_id, "severity", SEVERITY_QUESTION, severity))
    return out


# -- SQuAD's answer comparison ---------------------------------------------------------------
def normalize(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces (SQuAD's evaluation script does the same)."""
    text = "".join(c for c in text.lower() if c not in set(string.punctuation))
    return " ".join(w for w in text.split() if w not in ("a", "an", "the"))


def exact_match(prediction: str, answer: str) -> float:
    return float(normalize(prediction) == normalize(answer))


def token_f1(prediction: str, answer: str) -> float:
    """Harmonic mean of token precision and recall after normalization; 1 when both are empty."""
    pred, gold = normalize(prediction).split(), normalize(answer).split()
    if not pred or not gold:
        return float(pred == gold)
    common = sum((Counter(pred) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall)


# -- baselines ---------------------------------------------------------------------------------
def most_common_answers(kinds: Sequence[str], answers: Sequence[str]) -> dict[str, str]:
    """Per question type, the answer given most often in training (ties: the first met)."""
    counts: dict[str, Counter] = {}
    for kind, answer in zip(kinds, answers):
        counts.setdefault(kind, Counter())[answer] += 1
    return {kind: c.most_common(1)[0][0] for kind, c in counts.items()}


# A finding is mentioned when its pattern matches a sentence; negated when a cue comes before it in the sentence.
PATTERNS = {
    "cardiomegaly": r"cardiomegaly|(heart|cardiac silhouette|cardiac size|cardiomediastinal silhouette)( size)? "
                    r"(is |are |appears |remains )*(\w+ )?(enlarged|large)|enlarge(d|ment) (of the )?(heart|cardiac)",
    "effusion": r"effusion", "opacity": r"opacit", "atelectasis": r"atelecta", "granuloma": r"granulom",
    "nodule": r"nodul", "scoliosis": r"scolio", "emphysema": r"emphysema|copd|hyperinflat|hyperexpan",
    "edema": r"edema", "pneumothorax": r"pneumothora",
}
NEGATION = re.compile(r"\b(no|not|without|negative for|free of|clear of|resolved|resolution of|removed)\b")
SIDE_WORDS = {"left": "left", "right": "right", "bilateral": "bilateral", "bibasilar": "bilateral",
              "both": "bilateral", "bilaterally": "bilateral"}
REGION_WORDS = {"upper lobe": "upper lobe", "middle lobe": "middle lobe", "lower lobe": "lower lobe",
                "base": "base", "bases": "base", "basilar": "base", "basal": "base", "bibasilar": "base",
                "lingula": "lingula", "lingular": "lingula", "apex": "apex", "apical": "apex", "hilum": "hilum",
                "hilar": "hilum", "retrocardiac": "retrocardiac"}


def _mentions(context: str, kind: str) -> list[str]:
    """The sentences that mention finding `kind` without a negation cue before the mention."""
    found = []
    for sentence in re.split(r"(?<=[.;!?])\s+", context.lower()):
        match = re.search(PATTERNS[kind], sentence)
        if match and not NEGATION.search(sentence[:match.start()]):
            found.append(sentence)
    return found


def keyword_answer(kind: str, context: str, fallback: dict[str, str]) -> str:
    """The keyword-rule baseline: yes when a finding is mentioned and not negated; the side and region words of
    the sentences that mention it for where-questions; the severity word for the heart; else the most common answer."""
    if kind in FINDINGS:
        return "yes" if _mentions(context, kind) else "no"
    if kind == "normal":
        return "no" if any(_mentions(context, k) for k in FINDINGS) else "yes"
    finding = {"opacity_where": "opacity", "atelectasis_where": "atelectasis", "effusion_side": "effusion",
               "severity": "cardiomegaly"}.get(kind)
    sentences = _mentions(context, finding) if finding else []
    if kind == "severity":
        for sentence in sentences:
            for word, severity in (("borderline", "borderline"), ("mild", "mild"), ("moderate", "moderate"),
                                   ("severe", "severe"), ("marked", "severe")):
                if word in sentence:
                    return severity
    elif sentences:
        phrases = []
        for sentence in sentences:
            words = re.findall(r"[a-z]+(?: lobe)?", sentence)
            side = next((SIDE_WORDS[w] for w in words if w in SIDE_WORDS), "")
            region = "" if kind == "effusion_side" else next((REGION_WORDS[w] for w in words if w in REGION_WORDS), "")
            phrases.append(f"{side} {region}".strip())
        if _join(phrases):
            return _join(phrases)
    return fallback.get(kind, "no")
