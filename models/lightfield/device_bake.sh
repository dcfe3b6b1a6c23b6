#!/usr/bin/env bash
# Stages 1-2 for one scene on the GPU machine: train (resumable), evaluate, mesh, check.
#   bash models/lightfield/device_bake.sh NAME DATA ITERS TRAIN_MINUTES [extra train_teacher args]
# Knobs (environment): PYTHON, EVAL_VIEWS (0 = all), MESH_RES, LEVELS, TARGET_TRIS, COPY_BIG (0/1).
# Results go to .work/lightfield/NAME; when $OUT is set (the device tool), logs and small
# outputs are re-tarred there after every step, so a run killed at its limit still reports.
set -euo pipefail
cd "$(dirname "$0")/../.."
NAME=$1 DATA=$2 ITERS=$3 MINUTES=$4
shift 4
L=models/lightfield
PY=${PYTHON:-python3}
W=.work/lightfield/$NAME
mkdir -p "$W"
export PYTHONUNBUFFERED=1
collect() {
  if [ -n "${OUT:-}" ]; then
    tar -cf "$OUT/${NAME}_results.tar" -C .work/lightfield --exclude='*.pt' --exclude='*.ply' --exclude='*.tmp' "$NAME"
  fi
}
"$PY" "$L/train_teacher.py" --data "$DATA" --out "$W" --iters "$ITERS" --max-minutes "$MINUTES" "$@"
collect
"$PY" "$L/eval_teacher.py" --data "$DATA" --teacher "$W/teacher_fp16" --split val --out "$W" --max-views "${EVAL_VIEWS:-0}"
collect
"$PY" "$L/extract_mesh.py" --teacher "$W/teacher_fp16" --data "$DATA" --out "$W" --res "${MESH_RES:-512}" \
  --levels "${LEVELS:-10,25,50,100,200}" --target-tris "${TARGET_TRIS:-200000}"
collect
if [ -f "$DATA/transforms_val.json" ]; then
  "$PY" "$L/check_mesh.py" --data "$DATA" --mesh "$W/mesh.ply" --split val --teacher "$W/teacher_fp16" --out "$W"
  collect
fi
if [ -n "${OUT:-}" ] && [ "${COPY_BIG:-1}" = 1 ]; then
  cp "$W"/teacher_fp16.*-of-*.pt "$W/mesh.ply" "$OUT/"
fi
