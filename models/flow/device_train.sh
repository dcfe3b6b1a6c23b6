#!/usr/bin/env bash
# One training call on the GPU machine (device tool, repo root): trains for MINUTES of wall
# clock from RUN/last.pt if it is there, then packs RUN's checkpoints and log into $OUT/run.
#   bash models/flow/device_train.sh CARRY RUN MINUTES [train.py args...]
# CARRY is make_carry.py's folder; RUN is carried back in from the previous call's $OUT/run.
set -uo pipefail
cd "$(dirname "$0")/../.."
CARRY=$1 RUN=$2 MIN=$3
shift 3
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
mkdir -p "$RUN"
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader || true
"$PY" models/flow/train.py --carry "$CARRY" --run "$RUN" --max-minutes "$MIN" "$@"
rc=$?
if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT/run"
  cp "$RUN"/train_log.txt "$RUN"/last.pt "$OUT/run/" 2>/dev/null
  [ -f "$RUN/best.pt" ] && cp "$RUN/best.pt" "$OUT/run/"
fi
exit $rc
