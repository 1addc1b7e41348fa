"""What a DNA model's first layer learned: each filter as a position weight matrix, drawn as a sequence logo
(logomaker), and the filter that best matches a known motif (Oct4's octamer ATGCAAAT).

A filter's matrix is built the DeepBind/Basset way, from the sequences that switch it on rather than from its
raw weights: every window of the training sequences where the filter's activation exceeds half its maximum is
stacked, and the letters' frequencies (plus a pseudocount) are its matrix.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from .sequences import DNA

OCT4 = "ATGCAAAT"


@torch.no_grad()
def filter_pwms(conv: torch.nn.Conv1d, x: torch.Tensor, threshold: float = 0.5,
                batch: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """(F x k x 4 letter frequencies, F site counts) from one-hot sequences x (N x 4 x L)."""
    weight = conv.weight.detach().float().cpu()
    bias = conv.bias.detach().float().cpu() if conv.bias is not None else None
    filters, _, k = weight.shape
    acts = []
    for start in range(0, len(x), batch):
        acts.append(torch.relu(torch.nn.functional.conv1d(x[start:start + batch].float(), weight, bias)))
    act = torch.cat(acts)  # N x F x P
    peak = act.amax(dim=(0, 2))
    counts = np.full((filters, k, 4), 0.1)  # pseudocount
    sites = np.zeros(filters, dtype=int)
    windows = x.float().unfold(2, k, 1)  # N x 4 x P x k
    for f in range(filters):
        if peak[f] <= 0:
            continue
        n, p = torch.nonzero(act[:, f] > threshold * peak[f], as_tuple=True)
        sites[f] = len(n)
        if len(n):
            counts[f] += windows[n, :, p].sum(0).T.numpy()  # k x 4
    return counts / counts.sum(-1, keepdims=True), sites


def match(pwm: np.ndarray, motif: str = OCT4) -> tuple[float, int, str]:
    """How well a filter matches a motif: the best mean probability of the motif's letters over every offset and
    both strands (0.25 is chance, 1 a perfect match), with its offset and strand."""
    index = [DNA.index(a) for a in motif]
    best = (0.0, 0, "+")
    for strand, matrix in (("+", pwm), ("-", pwm[::-1, ::-1])):  # the reverse complement: reversed, A<->T, C<->G
        for offset in range(pwm.shape[0] - len(motif) + 1):
            score = float(np.mean([matrix[offset + i, a] for i, a in enumerate(index)]))
            if score > best[0]:
                best = (score, offset, strand)
    return best


def consensus(pwm: np.ndarray) -> str:
    """Most likely letter per position, lower case where no letter reaches half."""
    return "".join(DNA[i] if p[i] >= 0.5 else DNA[i].lower() for p, i in zip(pwm, pwm.argmax(1)))


def draw_logos(pwms: np.ndarray, sites: np.ndarray, path: Path, titles: list[str] | None = None, columns: int = 4) -> None:
    """Every filter as an information-content logo, in one PNG."""
    import warnings

    import logomaker
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    count = len(pwms)
    rows = -(-count // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 1.4 * rows), squeeze=False)
    for f, ax in enumerate(axes.flat):
        if f >= count:
            ax.axis("off")
            continue
        frame = pd.DataFrame(pwms[f], columns=list(DNA))
        info = logomaker.transform_matrix(frame, from_type="probability", to_type="information")
        info = info.where(info > 0.02, 0.0)  # letters too small to see are not drawn (a third faster)
        with warnings.catch_warnings():  # a filter that never fires draws flat: logomaker warns about its limits
            warnings.simplefilter("ignore")
            logomaker.Logo(info, ax=ax, show_spines=False)
        ax.set_ylim(0, 2)
        ax.set_xticks([])
        ax.set_yticks([0, 2])
        ax.set_title(titles[f] if titles else f"filter {f} ({sites[f]} sites)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def interpret(model: torch.nn.Module, x: torch.Tensor, run_dir: Path, motif: str = OCT4) -> dict:
    """Write filters.png (every first-layer filter), best_match.png and motifs.json; return the best match."""
    pwms, sites = filter_pwms(model.conv, x)
    scores = [match(p, motif) for p in pwms]
    best = int(np.argmax([s[0] for s in scores]))
    score, offset, strand = scores[best]
    window = pwms[best][offset:offset + len(motif)] if strand == "+" else pwms[best][::-1, ::-1][offset:offset + len(motif)]
    result = {"motif": motif, "best_filter": best, "score": round(score, 4), "strand": strand, "offset": offset,
              "matched": consensus(window), "filter_consensus": consensus(pwms[best]), "sites": int(sites[best]),
              "chance": 0.25,
              "filters": [{"filter": f, "consensus": consensus(p), "sites": int(s), "match": round(m[0], 4)}
                          for f, (p, s, m) in enumerate(zip(pwms, sites, scores))]}
    draw_logos(pwms, sites, run_dir / "filters.png",
               [f"filter {f}: {consensus(p)} ({s} sites)" for f, (p, s) in enumerate(zip(pwms, sites))])
    draw_logos(pwms[best:best + 1], sites[best:best + 1], run_dir / "best_match.png",
               [f"filter {best} vs {motif}: {score:.2f} ({strand} strand)"], columns=1)
    (run_dir / "motifs.json").write_text(json.dumps(result, indent=1) + "\n")
    return result
