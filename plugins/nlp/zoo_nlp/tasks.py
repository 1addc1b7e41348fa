"""Sequence-to-sequence summarization (teacher-forced loss, beam-search generation, ROUGE-1/2/L), question
answering by reading (answer class or span; SQuAD's exact match and F1), masked-LM pretraining, speech (CTC)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import Metric
from torchmetrics.text import ROUGEScore

from zoo import ZooError
from zoo.config import LabelSettings
from zoo.data import to_device
from zoo.tasks import Task

from . import mbr, questions
from .tokenization import decode, from_info

IGNORE = -100


class RougeF(ROUGEScore):
    """ROUGE F-measures only (rouge1, rouge2, rougeL), without the stemmer so it needs no nltk."""

    def __init__(self) -> None:
        super().__init__(use_stemmer=False, rouge_keys=("rouge1", "rouge2", "rougeL"))

    def compute(self) -> dict[str, torch.Tensor]:
        scores = super().compute()
        return {k.removesuffix("_fmeasure"): v for k, v in scores.items() if k.endswith("_fmeasure")}


class MaskedLMTask(Task):
    """Masked-language-model pretraining: cross-entropy of the masked positions' tokens (others are -100);
    `accuracy`: the share of masked tokens predicted exactly."""

    name = "masked-lm"
    Settings = LabelSettings
    monitor = "accuracy"

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logits = output.float()
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=IGNORE,
                               label_smoothing=self.settings.label_smoothing)

    def metrics(self):
        from torchmetrics import MetricCollection
        from torchmetrics.classification import MulticlassAccuracy
        vocab = int(self.info.get("vocab_size", 0)) or None
        return MetricCollection({"accuracy": MulticlassAccuracy(num_classes=vocab, ignore_index=IGNORE,
                                                                 average="micro")})

    def update_metrics(self, metrics, output, target) -> None:
        metrics.update(output.float().reshape(-1, output.shape[-1]).argmax(-1), target.reshape(-1))

    def merge_views(self, outputs: list[Any]) -> Any:
        return outputs[0]

    def predict(self, output: torch.Tensor) -> list[dict[str, Any]]:
        return [{"tokens": len(o)} for o in output]

    def check_batch(self, x: Any, y: Any, dataset: str) -> None:
        if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor) and x.shape == y.shape):
            raise ZooError(f"{dataset}: a masked-LM dataset must yield token ids and per-token targets alike")


class Seq2SeqTask(Task):
    """x = {'input_ids', 'labels'} while training (teacher forcing); a bare id tensor when predicting.

    In eval mode forward also generates with beam search, so validation ROUGE measures real outputs;
    with info['mbr'] the output is the consensus of the beams and the retrieved impressions (see mbr.py).
    """

    name = "seq2seq"
    Settings = LabelSettings
    monitor = "rougeL"

    def __init__(self, config, info: dict[str, Any]):
        super().__init__(config, info)
        self._tokenizer = None

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            self._tokenizer = from_info(self.info)
        return self._tokenizer

    def forward(self, model: nn.Module, x: Any) -> dict[str, torch.Tensor]:
        input_ids, labels = (x["input_ids"], x.get("labels")) if isinstance(x, dict) else (x, None)
        mask = (input_ids != int(self.info["pad_id"])).long()
        out: dict[str, torch.Tensor] = {}
        if labels is not None:
            out["logits"] = model(input_ids=input_ids, attention_mask=mask, labels=labels).logits
        if labels is None or not model.training:
            out["generated"] = self.generate(model, input_ids, mask)
        return out

    @torch.no_grad()
    def generate(self, model: nn.Module, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        model = getattr(model, "module", model)  # unwrap DDP
        beams = int(self.info.get("num_beams", 4))
        returned = beams if self.info.get("mbr") else 1
        out = model.generate(input_ids=input_ids, attention_mask=mask, num_beams=beams, do_sample=False,
                             max_new_tokens=int(self.info.get("max_target_length", 64)),
                             early_stopping=beams > 1, no_repeat_ngram_size=3, num_return_sequences=returned)
        if not self.info.get("mbr"):
            return out
        return self.consensus(out.view(len(input_ids), returned, -1).tolist(), input_ids.tolist())

    def consensus(self, beams: list[list[list[int]]], sources: list[list[int]]) -> torch.Tensor:
        """MBR (data.mbr): per example, the beam or retrieved impression that agrees most with the others."""
        pad = int(self.info["pad_id"])
        chosen = []
        for candidates, source in zip(beams, sources):
            candidates = candidates + self.retrieved(source)
            chosen.append(candidates[mbr.consensus(decode(self.tokenizer, candidates))])
        longest = max(len(c) for c in chosen)
        return torch.tensor([c + [pad] * (longest - len(c)) for c in chosen], dtype=torch.long)

    def retrieved(self, source: list[int]) -> list[list[int]]:
        """The impressions a retrieve-and-edit source starts with, each closed by [SEP] (eos_id)."""
        eos, wanted = int(self.info["eos_id"]), int(self.info.get("retrieve", 0))
        found, current = [], []
        for token in source:
            if len(found) == wanted:
                break
            if token == eos:
                found.append(current + [eos])
                current = []
            else:
                current.append(token)
        return found

    def loss(self, output: dict[str, torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        logits = output["logits"].float()
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=IGNORE,
                               label_smoothing=self.settings.label_smoothing)

    def metrics(self):
        return RougeF()

    def texts(self, ids: torch.Tensor) -> list[str]:
        ids = ids.masked_fill(ids == IGNORE, int(self.info["pad_id"]))
        return decode(self.tokenizer, ids.tolist())

    def update_metrics(self, metrics, output: dict[str, torch.Tensor], target: torch.Tensor) -> None:
        metrics.update(self.texts(output["generated"]), self.texts(target))

    def merge_views(self, outputs: list[Any]) -> Any:
        return outputs[0]  # text has no test-time views

    def predict(self, output: dict[str, torch.Tensor]) -> list[dict[str, Any]]:
        key = self.info.get("target_name", "output")
        return [{key: text} for text in self.texts(output["generated"])]

    def check_batch(self, x: Any, y: Any, dataset: str) -> None:
        if not (isinstance(x, dict) and {"input_ids", "labels"} <= set(x)):
            raise ZooError(f"{dataset}: a seq2seq dataset must yield x = {{'input_ids', 'labels'}} batches")

    def report(self, trainer, run_dir) -> None:
        """samples.md: generated next to reference outputs for the first test (or valid) examples."""
        data = trainer.data.test if trainer.data.test is not None else trainer.data.valid
        batch = trainer.data.collate([data[i] for i in range(min(8, len(data)))])
        x, y = to_device(batch, trainer.device)
        model = trainer.eval_model()
        model.eval()
        generated = self.texts(self.forward(model, x["input_ids"])["generated"])
        sources, references = self.texts(x["input_ids"]), self.texts(y)
        lines = ["# Generated samples", "", "| source | reference | generated |", "|---|---|---|"]
        for s, r, g in zip(sources, references, generated):
            lines.append(f"| {s.replace('|', '/')} | {r.replace('|', '/')} | {g.replace('|', '/')} |")
        (Path(run_dir) / "samples.md").write_text("\n".join(lines) + "\n")


class AnswerScores(Metric):
    """SQuAD's exact match and token F1 of the answers, averaged over the examples."""

    higher_is_better = True
    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        for name in ("exact", "f1", "count"):
            self.add_state(name, default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, predictions: list[str], answers: list[str]) -> None:
        for p, a in zip(predictions, answers):
            self.exact += questions.exact_match(p, a)
            self.f1 += questions.token_f1(p, a)
        self.count += len(answers)

    def compute(self) -> dict[str, torch.Tensor]:
        n = self.count.clamp(min=1)
        return {"exact_match": (self.exact / n).float(), "f1": (self.f1 / n).float()}


class QuestionAnsweringTask(Task):
    """x = [CLS] question [SEP] report [SEP] (zoo_nlp.answering); the answer is a class of the closed answer set
    (yes, no, ...) or, where that class is 'span', the report's text between the best start and end tokens.
    Loss: cross-entropy of the class plus, for span answers, minus the log-likelihood of all the answer's
    occurrences in the report. `zoo predict RUN report.txt --question "..."` answers each question."""

    name = "question-answering"
    monitor = "f1"
    Settings = LabelSettings
    predict_options = ("questions",)

    def forward(self, model: nn.Module, x: Any) -> dict[str, Any]:
        out = dict(model(input_ids=x["input_ids"], token_type_ids=x.get("token_type_ids"),
                         match_ids=x.get("match_ids")))
        out["offsets"], out["context"] = x["offsets"], x["context"]  # to read span answers out of the report
        return out

    @staticmethod
    def span_loss(logits: torch.Tensor, allowed: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
        """-log of the probability (over the report's tokens) of the gold positions, summed over them."""
        logits = logits.float().masked_fill(~allowed, -1e4)
        return torch.logsumexp(logits, -1) - torch.logsumexp(logits.masked_fill(~gold, -1e4), -1)

    def loss(self, output: dict[str, Any], target: dict[str, Any]) -> torch.Tensor:
        labels = target["answer_class"]
        loss = F.cross_entropy(output["answer_logits"].float(), labels, ignore_index=IGNORE,
                               label_smoothing=self.settings.label_smoothing) if (labels != IGNORE).any() \
            else output["answer_logits"].sum() * 0.0
        spans = (labels == 0) & target["starts"].any(-1)
        if spans.any():
            allowed = output["offsets"][..., 0] >= 0
            starts = self.span_loss(output["start_logits"][spans], allowed[spans], target["starts"][spans])
            ends = self.span_loss(output["end_logits"][spans], allowed[spans], target["ends"][spans])
            loss = loss + (starts + ends).mean() / 2
        else:
            loss = loss + 0.0 * (output["start_logits"].sum() + output["end_logits"].sum())
        return loss

    def answers(self, output: dict[str, Any]) -> list[str]:
        from .answering import answers_of

        return answers_of(output, self.info["answers"], int(self.info.get("max_answer_length", 16)))

    def metrics(self):
        return AnswerScores()

    def update_metrics(self, metrics, output, target) -> None:
        metrics.update(self.answers(output), list(target["answer"]))

    def merge_views(self, outputs: list[Any]) -> Any:
        return outputs[0]  # text has no test-time views

    def predict(self, output: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"answer": answer} for answer in self.answers(output)]

    def check_batch(self, x: Any, y: Any, dataset: str) -> None:
        if not (isinstance(x, dict) and {"input_ids", "offsets", "context"} <= set(x) and isinstance(y, dict)
                and {"answer_class", "starts", "ends", "answer"} <= set(y)):
            raise ZooError(f"{dataset}: a question-answering dataset must yield zoo_nlp.answering batches "
                           "(question + report ids with offsets; answer class, span masks and text)")

    def records(self, item, read) -> list[tuple[str, Any]]:
        """One record per --question about the argument's text (a text file, or the text itself)."""
        from .answering import question_input
        from .data import input_text

        asked = self.options.get("questions") or ()
        if not asked:
            raise ZooError("a question-answering run needs at least one --question \"...\" about the text")
        context = input_text(str(item))
        name = str(item)
        return [(name, question_input(context, question, self.info)) for question in asked]

    def collate(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        from .answering import collate_inputs

        return {**collate_inputs(items), "question": [it["question"] for it in items]}

    def annotate(self, run, items: list[Any], predictions: list[dict[str, Any]]) -> None:
        for item, prediction in zip(items, predictions):
            prediction["question"] = item["question"]

    def write_output(self, output: Any, prediction: dict[str, Any], stem: Path) -> list[Path]:
        """One JSON per (input, question): STEM.qN.json, N the question's place among the --question options."""
        number = list(self.options.get("questions") or ()).index(prediction["question"]) + 1
        path = stem.with_name(f"{stem.name}.q{number}.json")
        path.write_text(json.dumps(prediction) + "\n")
        return [path]


class ErrorRates(Metric):
    """Word and character error rates (jiwer's edit counts, summed over the clips, so DDP can add them up)."""

    higher_is_better = False
    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        for name in ("word_errors", "words", "char_errors", "chars"):
            self.add_state(name, default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, hypotheses: list[str], references: list[str]) -> None:
        from .speech import edit_counts

        for h, r in zip(hypotheses, references):
            for name, value in edit_counts(h, r).items():
                setattr(self, name, getattr(self, name) + value)

    def compute(self) -> dict[str, torch.Tensor]:
        from .speech import describe

        return {k: torch.tensor(v) for k, v in describe({n: int(getattr(self, n)) for n in
                                                         ("word_errors", "words", "char_errors", "chars")}).items()}


class SpeechRecognitionTask(Task):
    """x = {'audio', 'lengths'}, y = character ids padded with -100; CTC loss. Transcripts are decoded greedily,
    or by prefix beam search of data.beam prefixes; `wer` (lower is better) picks the checkpoint.
    `zoo predict RUN clip.wav` cuts clips longer than data.max_seconds at quiet points and joins the pieces."""

    name = "speech-recognition"
    monitor = "wer"
    directions = {"wer": "min", "cer": "min"}

    def loss(self, output: dict[str, torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        target_lengths = (target != IGNORE).sum(1)
        return F.ctc_loss(output["log_probs"].float().transpose(0, 1), target.clamp_min(0), output["lengths"],
                          target_lengths, blank=0, zero_infinity=True)

    def metrics(self):
        return ErrorRates()

    def transcripts(self, output: dict[str, torch.Tensor]) -> list[str]:
        from .speech import beam_search, greedy

        beam = int(self.info.get("beam", 0))
        log_probs, lengths = output["log_probs"].detach().float().cpu(), output["lengths"].tolist()
        if beam > 1:
            return [beam_search(lp, n, beam) for lp, n in zip(log_probs, lengths)]
        return [greedy(lp, n) for lp, n in zip(log_probs, lengths)]

    def update_metrics(self, metrics, output, target) -> None:
        from .speech import decode_ids

        metrics.update(self.transcripts(output), [decode_ids([i for i in row if i > 0]) for row in target.tolist()])

    def merge_views(self, outputs: list[Any]) -> Any:
        return outputs[0]

    def check_batch(self, x: Any, y: Any, dataset: str) -> None:
        if not (isinstance(x, dict) and {"audio", "lengths"} <= set(x) and isinstance(y, torch.Tensor)):
            raise ZooError(f"{dataset}: a speech dataset must yield x = {{'audio', 'lengths'}} and padded "
                           "character ids")

    def records(self, item, read) -> list[tuple[str, Any]]:
        """One record per clip: its pieces, cut at quiet points where the clip is longer than data.max_seconds
        (the model's limit); their transcripts are joined."""
        from .speech import chunks

        wave = read(item)
        limit = float(self.info.get("max_seconds", 16.0))
        pieces = [torch.from_numpy(p.copy()) for p in chunks(wave.numpy(), limit)]
        return [(str(item), {"pieces": pieces, "samples": len(wave)})]

    def collate(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        from .spoken import collate

        pieces = [p for it in items for p in it["pieces"]]
        x, _ = collate([(p, torch.zeros(1, dtype=torch.long)) for p in pieces])
        return {**x, "pieces": torch.tensor([len(it["pieces"]) for it in items]),
                "samples": torch.tensor([it["samples"] for it in items])}

    def forward(self, model: nn.Module, x: Any) -> Any:
        if "pieces" not in x:
            return super().forward(model, x)
        return {**model(audio=x["audio"], lengths=x["lengths"]), "pieces": x["pieces"], "samples": x["samples"]}

    def predict(self, output: dict[str, torch.Tensor]) -> list[dict[str, Any]]:
        texts = self.transcripts(output)
        if "pieces" not in output:
            return [{"transcript": text} for text in texts]
        out, start = [], 0
        for count, samples in zip(output["pieces"].tolist(), output["samples"].tolist()):
            prediction = {"transcript": " ".join(t for t in texts[start:start + count] if t),
                          "seconds": round(samples / 16000, 2)}
            if count > 1:
                prediction["pieces"] = count  # longer than the model's limit: cut and joined
            out.append(prediction)
            start += count
        return out

    def write_output(self, output: Any, prediction: dict[str, Any], stem: Path) -> list[Path]:
        path = stem.with_suffix(".txt")
        path.write_text(prediction["transcript"] + "\n")
        return [path]
