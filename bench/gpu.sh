#!/usr/bin/env bash
# The GPU path, measured on a machine with a CUDA device, in under 8 minutes: each domain's fastest recipe
# trained with bf16 autocast (samples/s and MFU against the bf16 matmul peak measured in the same run), the
# same with the loss read on the host every step (what the batched non-finite guard saves), and one DDP run
# with NCCL when there are two or more GPUs. Prints Markdown; paste it into bench/RESULTS.md's gpu section.
# On a machine without CUDA, GPU_SH_DEVICE=cpu checks the script itself with a few steps.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DEVICE=${GPU_SH_DEVICE:-cuda}
STEPS=${GPU_SH_STEPS:-50}
RECIPES=${GPU_SH_RECIPES:-vision/fashion-mnist-resnet,medical/xray-anomaly,nlp/report-classify,recsys/ml100k-rating}
export UTIL_DEVICE=$DEVICE UTIL_STEPS=$STEPS UTIL_RECIPES=$RECIPES
echo "# GPU path ($(date +%F))"
echo
"$PY" bench/bench_utilisation.py
echo
echo "### The same, reading the loss on the host every step (sync_every=1)"
echo
UTIL_SETS=sync_every=1 "$PY" bench/bench_utilisation.py | grep '^|'
gpus=$("$PY" -c 'import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)')
if [ "$gpus" -ge 2 ]; then
  out=$(mktemp -d)
  start=$(date +%s)
  "$PY" -m torch.distributed.run --nproc-per-node 2 -m zoo train vision/fashion-mnist-resnet --epochs 1 \
    --set grad_stats_every=0 --out "$out/ddp" > "$out/log" 2>&1
  echo
  echo "DDP with NCCL, 2 GPUs, vision/fashion-mnist-resnet, 1 epoch: $(( $(date +%s) - start )) s wall; $(tail -2 "$out/log" | head -1)"
fi
