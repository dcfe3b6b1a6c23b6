#!/usr/bin/env bash
# Several training runs side by side on the one GPU of a device call (device tool, repo root).
# The synthesiser and the small network leave an H100 mostly idle: two runs each keep ~80% of
# the speed one run has alone (models/flow/README.md, session 3).
#   bash models/flow/device_train_runs.sh CARRY MINUTES RUN[:train.py args, comma-separated]...
# e.g. bash models/flow/device_train_runs.sh .work/flow/carry 8.7 \
#        .work/flow/runA:--lr=4e-4,--total-steps=40000 .work/flow/runB:--lr=4e-4,--robust
# Each RUN resumes from RUN/last.pt when it is there; its log, last.pt and best.pt come back in
# $OUT/<RUN's folder name>/, and its console output in $OUT/<RUN's folder name>.log.
set -uo pipefail
cd "$(dirname "$0")/../.."
CARRY=$1 MIN=$2
shift 2
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader 2>/dev/null || true
pids=()
for spec in "$@"; do
  run=${spec%%:*}
  args=""
  [ "$spec" != "$run" ] && args=${spec#*:}
  mkdir -p "$run"
  name=$(basename "$run")
  "$PY" models/flow/train.py --carry "$CARRY" --run "$run" --max-minutes "$MIN" ${args//,/ } \
    > "${OUT:-$run}/$name.log" 2>&1 &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
if [ -n "${OUT:-}" ]; then
  for spec in "$@"; do
    run=${spec%%:*}
    mkdir -p "$OUT/$(basename "$run")"
    cp "$run"/train_log.txt "$run"/last.pt "$OUT/$(basename "$run")/" 2>/dev/null
    [ -f "$run/best.pt" ] && cp "$run/best.pt" "$OUT/$(basename "$run")/"
    for v in "$run"/val_*.pt; do [ -f "$v" ] && cp "$v" "$OUT/$(basename "$run")/"; done
  done
fi
exit $rc
