#!/usr/bin/env bash
# Stage 3 on the GPU machine: one or more distillation configs for one scene, each evaluated from
# its asset file, then the logs and the assets packed into $OUT (files of <= 15 MB).
#   bash models/lightfield/device_distill.sh NAME CARRY TOTAL_MINUTES CONFIG...
# CONFIG = tag:k:patch:target_tris:texels:minutes[:more] (patch 0 = per-triangle sizes within the texel budget;
# target_tris 0 = keep the stage-2 mesh; minutes = this config's wall-clock share, default $PER;
# more = extra distill.py args for this config only, comma-separated, e.g. --smooth=0.1).
# CARRY holds data/ (the scene folder), teacher_int8.pt (teacher_int8.py) and mesh.ply.
# Knobs (environment): PYTHON, PER (minutes per config, default 3), EXTRA (more distill.py args),
# EVAL_ARGS (more eval_asset.py args), RETURN_MB (assets packed into $OUT, default 56),
# VIEWS_CACHE (file for the teacher's novel views; "none" keeps them in memory only).
# The teacher's novel views are rendered once and shared by all configs (stage3/novel_views.pt).
set -uo pipefail
cd "$(dirname "$0")/../.."
NAME=$1 CARRY=$2 TOTAL=$3
shift 3
L=models/lightfield
PY=${PYTHON:-python3}
W=${WORKDIR:-.work/lightfield/$NAME/stage3}
mkdir -p "$W"
export PYTHONUNBUFFERED=1
T0=$(date +%s)
SPLIT=val
[ -f "$CARRY/data/transforms_val.json" ] || SPLIT=test
collect() {
  if [ -n "${OUT:-}" ]; then
    tar -cf "$OUT/${NAME}_stage3_logs.tar" -C "$W" --exclude='*.pt' --exclude='*.fvlf' --exclude='*.tmp' --exclude='*.partial' .
  fi
}
for cfg in "$@"; do
  IFS=: read -r tag k p tt tx mn more <<< "$cfg"
  left=$("$PY" -c "import time; print('%.2f' % ($TOTAL - (time.time() - $T0) / 60))")
  if ! "$PY" -c "import sys; sys.exit(0 if $left > 1.6 else 1)"; then
    echo "SKIPPED $tag: only $left minutes left" | tee -a "$W/skipped.log"
    continue
  fi
  mins=$("$PY" -c "print(min($left - 0.4, ${mn:-${PER:-3}}))")
  "$PY" "$L/distill.py" --data "$CARRY/data" --mesh "$CARRY/mesh.ply" --teacher "$CARRY/teacher_int8.pt" \
    --out "$W/$tag" --name "$NAME" --views-cache "${VIEWS_CACHE:-$W/novel_views.pt}" --k "$k" --patch "$p" --target-tris "$tt" --texels "${tx:-300000}" \
    --max-minutes "$mins" ${EXTRA:-} ${more//,/ }
  mkdir -p "$W/$tag/eval"
  "$PY" "$L/eval_asset.py" --asset "$W/$tag/$NAME.fvlf" --data "$CARRY/data" --split "$SPLIT" --out "$W/$tag/eval" \
    --previews 0 ${EVAL_ARGS:-} 2>&1 | tail -3 | tee -a "$W/$tag/eval/eval.log"
  collect
done
collect
if [ -n "${OUT:-}" ]; then
  # best k=32 asset first, then the others while they fit. "Best" is the PSNR on the validation
  # novel views (teacher renders never trained on, distill.py --val-novel) where the run has them,
  # else the held-out PSNR from the file
  "$PY" - "$W" "$NAME" "$OUT" "${RETURN_MB:-56}" <<'EOF'
import glob, json, os, subprocess, sys
w, name, out, cap = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]) * 1e6
runs = []
for js in sorted(glob.glob(os.path.join(w, "*", "eval", "eval_asset_*.json"))):
    r = json.load(open(js))
    dj = os.path.join(os.path.dirname(os.path.dirname(js)), "distill.json")
    val = json.load(open(dj)).get("psnr_val_novel") if os.path.exists(dj) else None
    runs.append((r["k"] != 32, -(val if val is not None else r["psnr"]), r["asset"], r["file_bytes"]))
total = 0
for _, _, asset, size in sorted(runs):
    if total + size > cap:
        print("not returned (size):", asset)
        continue
    tag = os.path.basename(os.path.dirname(asset))
    subprocess.check_call(["split", "-b", "15000000", "-d", asset, os.path.join(out, "%s_%s.fvlf.part" % (name, tag))])
    total += size
    print("returned", asset, size)
EOF
fi
