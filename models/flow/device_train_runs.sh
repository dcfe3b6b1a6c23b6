#!/usr/bin/env bash
# Several training runs side by side on the one GPU of a device call (device tool, repo root).
# The synthesiser and the small network leave an H100 mostly idle: two runs each keep ~80% of
# the speed one run has alone (models/flow/README.md, session 3).
#   bash models/flow/device_train_runs.sh CARRY MINUTES RUN[:train.py args, comma-separated]...
# e.g. bash models/flow/device_train_runs.sh .work/flow/carry 8.7 \
#        .work/flow/runA:--lr=4e-4,--total-steps=40000 .work/flow/runB:--lr=4e-4,--robust
# Each RUN resumes from RUN/last.pt when it is there. What it made comes back as one file,
# $OUT/<RUN's folder name>.tar (train_log.txt, last.pt, best.pt and any val_STEP.pt), beside its
# console output, $OUT/<RUN's folder name>.log: a call returns at most 8 files (session 8 lost a
# run's weights to that limit when each file came back alone), of 16 MiB each: last.pt is 5 MB
# and each val_STEP.pt 1.7 MB, so keep a run's validations to about five. Unpack: tar xf NAME.tar.
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
    tar cf "$OUT/$(basename "$run").tar" -C "$(dirname "$run")" "$(basename "$run")" || rc=1
  done
fi
exit $rc
