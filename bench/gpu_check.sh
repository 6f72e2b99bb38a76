#!/usr/bin/env bash
# The GPU checks as one prepared script, for a machine with an NVIDIA GPU (run from the repository root):
#   bash bench/gpu_check.sh
# 1. bench/generation.py and bench/scoring.py on cuda: pipeline vs bare engine, with the GPU's busy share
#    (nvidia-smi utilization, sampled every 0.5 s while each runs);
# 2. the tests marked gpu (the real vLLM engine where vllm and PREFMILL_VLLM_MODEL exist; skipped otherwise).
# Needs torch with CUDA and transformers (pip install -e ".[dev,transformers]"); vLLM is optional.
set -uo pipefail
cd "$(dirname "$0")/.."
python - <<'PY' || { echo "no CUDA device visible to torch: nothing to check"; exit 2; }
import torch, sys
sys.exit(0 if torch.cuda.is_available() else 1)
PY

busy() {  # busy LABEL COMMAND...: run COMMAND while sampling GPU utilization; print its mean and max
  local label=$1; shift
  local log; log=$(mktemp)
  (while :; do nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits >> "$log" 2>/dev/null; sleep 0.5; done) &
  local sampler=$!
  "$@"
  local rc=$?
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null
  awk -v l="$label" '{s+=$1; n++; if ($1>m) m=$1} END {if (n) printf "%s: GPU busy %.0f%% on average, %d%% at most (%d samples)\n", l, s/n, m, n}' "$log"
  rm -f "$log"
  return $rc
}

busy "generation, transformers on cuda" python bench/generation.py --backend transformers --device cuda \
  --prompts 512 --hidden 1024 --max-tokens 128 --batch 64
busy "scoring on cuda" python bench/scoring.py --device cuda --prompts 1000 --hidden 1024 --batch 64
python -m pytest -q -m gpu -rs
