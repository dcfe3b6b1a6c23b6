"""PSNR and SSIM of a light-field ASSET FILE on held-out views, with the NumPy reference renderer.

    python3 eval_asset.py --asset models/lightfield/assets/lego.fvlf --data .data/lego_400 --split val \
        --out .work/lightfield/lego/eval_asset [--json models/lightfield/logs/lego_asset_eval.json]

nerf_synthetic: every view of the split at its intrinsics, composited over white (the asset's
background is white). LLFF: the held-out images (every 8th present, datasets.load_llff).
PSNR per view = -10 log10(MSE over all pixels and channels); SSIM per view = mean over RGB of the
Gaussian SSIM (11x11, sigma 1.5, K1 0.01, K2 0.03, data range 1, valid region), as in the NeRF
literature; the reported numbers are means over views. Writes side-by-side PNGs (render | photo)
for the views in --previews, and a JSON {"views", "psnr", "ssim", "per_view": [...]}.
Only NumPy (plus the PNG reader); no torch needed.
"""
import argparse
import json
import os
import time

import numpy as np

from datasets import load_scene
from pngio import write_png
from render_asset import gpu_bytes, read_asset, render_view, summary


def _gauss(sigma=1.5, size=11):
    x = np.arange(size) - (size - 1) / 2.0
    g = np.exp(-x ** 2 / (2 * sigma ** 2))
    return g / g.sum()


def _filt(img, g):
    """Valid separable filtering of [H, W, C]."""
    n = g.size
    H, W = img.shape[:2]
    a = sum(g[i] * img[i:H - n + 1 + i] for i in range(n))
    return sum(g[i] * a[:, i:W - n + 1 + i] for i in range(n))


def ssim(x, y, data_range=1.0):
    g = _gauss()
    x, y = x.astype(np.float64), y.astype(np.float64)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mx, my = _filt(x, g), _filt(y, g)
    sxx = _filt(x * x, g) - mx * mx
    syy = _filt(y * y, g) - my * my
    sxy = _filt(x * y, g) - mx * my
    m = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(m.mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--asset", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--out", required=True)
    ap.add_argument("--json", default="")
    ap.add_argument("--max-views", type=int, default=0)
    ap.add_argument("--previews", default="0,50")
    ap.add_argument("--downscale", type=int, default=1)
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    a = read_asset(args.asset)
    t_read = time.time() - t0
    print(summary(a))
    scene = load_scene(args.data, args.split, args.downscale)
    views = scene["views"][:args.max_views] if args.max_views > 0 else scene["views"]
    H, W, f = scene["H"], scene["W"], scene["focal"]
    previews = {int(x) for x in args.previews.split(",") if x != ""}
    per_view = []
    t0 = time.time()
    for n, v in enumerate(views):
        img, hit = render_view(a, scene["c2w"][v], H, W, f, return_hit=True)
        gt = scene["rgb"][v]
        mse = float(((img.astype(np.float64) - gt) ** 2).mean())
        r = dict(view=scene["names"][v], psnr=-10.0 * np.log10(mse), ssim=ssim(img, gt), coverage=float(hit.mean()))
        per_view.append(r)
        print("%-16s PSNR %.3f  SSIM %.4f" % (r["view"], r["psnr"], r["ssim"]), flush=True)
        if n in previews:
            side = np.concatenate([img, gt], 1)
            write_png(os.path.join(args.out, "asset_%s_%s.png" % (args.split, os.path.splitext(scene["names"][v])[0])),
                      (np.clip(side, 0, 1) * 255).round().astype(np.uint8))
    secs = time.time() - t0
    res = dict(asset=args.asset, file_bytes=a["file_bytes"], gpu_bytes=gpu_bytes(a), k=a["k"],
               triangles=int(a["triangles"].shape[0]), atlas=[int(a["atlas"].shape[2]), int(a["atlas"].shape[1])],
               dir_res=int(a["dirmap"].shape[1]), data=args.data, split=args.split, views=len(per_view), H=H, W=W,
               background=[float(x) for x in a["background"]],
               psnr=float(np.mean([r["psnr"] for r in per_view])), ssim=float(np.mean([r["ssim"] for r in per_view])),
               min_psnr=float(min(r["psnr"] for r in per_view)), read_seconds=t_read, render_seconds=secs,
               per_view=per_view)
    js = args.json or os.path.join(args.out, "eval_asset_%s.json" % args.split)
    with open(js, "w") as fj:
        json.dump(res, fj, indent=1)
    print("%s on %s/%s: mean PSNR %.3f dB, SSIM %.4f over %d views (min PSNR %.2f); read %.1f s, render %.1f s (%.2f s/view)"
          % (args.asset, args.data, args.split, res["psnr"], res["ssim"], len(per_view), res["min_psnr"], t_read, secs,
             secs / len(per_view)))


if __name__ == "__main__":
    main()
