#!/usr/bin/env bash
# Issue 4's GPU checks in one run on a lent GPU (about 5 minutes): the CUDA
# tests, then bench_network.py's throughput and LDS parts. Everything is
# written to $OUT/gpu_check.log (the device tool's output folder) or ./.
# Needs skmtl importable (PYTHONPATH=.) and traker/dattri for the comparison
# rows (see benchmarks/README.md, "On a GPU").
set -uo pipefail
cd "$(dirname "$0")/.."
log="${OUT:-.}/gpu_check.log"
export PYTHONUNBUFFERED=1
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    python3 -c "import torch, sklearn; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'sklearn', sklearn.__version__)"
    python3 -m pytest -q -rs -p no:cacheprovider tests/test_network.py tests/test_influence_engine.py
    python3 benchmarks/bench_network.py --part throughput
    python3 benchmarks/bench_network.py --part lds
} 2>&1 | tee "$log"
