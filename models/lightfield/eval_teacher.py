"""PSNR of a trained teacher on held-out views.

    python3 eval_teacher.py --data .data/lego_400 --teacher .work/lightfield/lego/teacher_fp16 \
        --split val --out .work/lightfield/lego

nerf_synthetic: every view of the split, rendered over white at full resolution.
LLFF: the held-out positions chosen by datasets.load_llff (every 8th image present).
PSNR per view is -10 log10(mean squared error over all pixels and channels); the
reported number is the mean of per-view PSNRs, as in the NeRF literature.
Writes OUT/eval_<split>.json and a few side-by-side previews (render | ground truth).
"""
import argparse
import json
import os
import time

import numpy as np
import torch

from common import Log, describe_env, pick_device, psnr
from datasets import load_scene, ndc_rays, pixel_rays
from pngio import write_png
from teacher import load_teacher


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--teacher", required=True, help="ckpt.pt or the teacher_fp16 shard prefix")
    ap.add_argument("--split", default="val")
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-views", type=int, default=0, help="0 = all (smaller for smoke tests)")
    ap.add_argument("--previews", type=str, default="0,50", help="view positions to save as PNG")
    ap.add_argument("--downscale", type=int, default=1)
    ap.add_argument("--chunk", type=int, default=16384)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    log = Log(os.path.join(args.out, "eval.log"))
    dev = pick_device(args.device)
    describe_env(log)
    model = load_teacher(args.teacher, dev).eval()
    scene = load_scene(args.data, args.split, args.downscale)
    views = scene["views"][:args.max_views] if args.max_views > 0 else scene["views"]
    H, W, f = scene["H"], scene["W"], scene["focal"]
    white = scene["layout"] == "blender"
    previews = {int(x) for x in args.previews.split(",") if x != ""}

    per_view = []
    t0 = time.time()
    for k, v in enumerate(views):
        c2w = torch.as_tensor(scene["c2w"][v], device=dev)
        o, d = pixel_rays(H, W, f, c2w)
        if scene["layout"] == "llff":
            o, d = ndc_rays(H, W, f, scene["ndc_near"], o, d)
        out = model.render_chunked(o, d, args.chunk, white_bg=white)
        pred = out["rgb"].view(H, W, 3)
        gt = torch.as_tensor(scene["rgb"][v], device=dev)
        p = psnr(((pred - gt) ** 2).mean().item())
        per_view.append(dict(view=scene["names"][v], psnr=p))
        if k in previews:
            img = torch.cat([pred, gt], 1).clamp(0, 1).mul(255).round().byte().cpu().numpy()
            write_png(os.path.join(args.out, "preview_%s_%s.png" % (args.split, os.path.splitext(scene["names"][v])[0])), img)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    secs = time.time() - t0
    mean = float(np.mean([r["psnr"] for r in per_view]))
    res = dict(data=args.data, teacher=args.teacher, split=args.split, n_views=len(per_view), H=H, W=W,
               background="white" if white else "none", mean_psnr=mean,
               min_psnr=min(r["psnr"] for r in per_view), max_psnr=max(r["psnr"] for r in per_view),
               seconds=secs, per_view=per_view)
    with open(os.path.join(args.out, "eval_%s.json" % args.split), "w") as fjs:
        json.dump(res, fjs, indent=1)
    log("teacher %s on %s/%s: mean PSNR %.3f dB over %d views (min %.2f, max %.2f), %dx%d, %.1f s (%.2f s/view)"
        % (args.teacher, args.data, args.split, mean, len(per_view), res["min_psnr"], res["max_psnr"],
           W, H, secs, secs / len(per_view)))


if __name__ == "__main__":
    main()
