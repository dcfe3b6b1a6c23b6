"""Checks a baked mesh against the photos' alpha masks and the teacher's depth.

    python3 check_mesh.py --data .data/lego_400 --mesh .work/lightfield/lego/mesh.ply \
        --split val --teacher .work/lightfield/lego/teacher_fp16 --out .work/lightfield/lego

Silhouette: a pixel is "mesh" when its ray hits a triangle and "object" when alpha > 0.5.
IoU per view, and the two kinds of disagreement the light field will inherit: object
pixels the mesh misses (they can only show background) and background pixels the mesh
covers (the light field must learn to paint them white).
Depth: on pixels where both the mesh and an opaque teacher ray (acc > 0.9) land, the gap
between the mesh hit distance and the teacher's expected termination distance.
"""
import argparse
import json
import os

import numpy as np
import torch

from common import Log, pick_device
from datasets import load_scene, pixel_rays
from mesh_ops import read_ply
from pngio import write_png
from rasterize import rasterize


def silhouette_scores(verts, faces, scene, views, dev, save_png=None):
    H, W, f = scene["H"], scene["W"], scene["focal"]
    rows = []
    for k, v in enumerate(views):
        c2w = torch.as_tensor(scene["c2w"][v], device=dev)
        depth, fid = rasterize(verts, faces, c2w, H, W, f)
        hit = fid >= 0
        obj = torch.as_tensor(scene["alpha"][v], device=dev) > 0.5
        inter, union = float((hit & obj).sum()), float((hit | obj).sum())
        rows.append(dict(view=scene["names"][v], iou=inter / max(union, 1.0),
                         missed_object=float((obj & ~hit).sum()) / (H * W),
                         extra_coverage=float((hit & ~obj).sum()) / (H * W)))
        if save_png is not None and k == 0:
            img = torch.stack([(obj & ~hit).float(), (hit & obj).float(), (hit & ~obj).float()], -1)
            write_png(save_png, (img * 255).byte().cpu().numpy())
    return rows


def depth_agreement(model, verts, faces, scene, views, dev, chunk=16384):
    H, W, f = scene["H"], scene["W"], scene["focal"]
    gaps = []
    for v in views:
        c2w = torch.as_tensor(scene["c2w"][v], device=dev)
        zbuf, fid = rasterize(verts, faces, c2w, H, W, f)
        o, d = pixel_rays(H, W, f, c2w)
        out = model.render_chunked(o, d, chunk)
        cos = (d @ -c2w[:3, 2]).view(H, W)
        t_mesh = zbuf / cos
        acc = out["acc"].view(H, W)
        t_teacher = out["depth"].view(H, W) / acc.clamp(min=1e-6)
        ok = (fid >= 0) & (acc > 0.9)
        gaps.append((t_mesh - t_teacher)[ok])
    g = torch.cat(gaps)
    a = g.abs()
    return dict(n_pixels=int(g.numel()), median_abs=float(a.median()),
                p90_abs=float(torch.quantile(a[:1 << 24], 0.9)), mean_signed=float(g.mean()))


def disparity_vs_reference(verts, faces, ref_verts, ref_faces, scene, views, dev):
    """LLFF (no masks): per-view coverage and |1/z - 1/z_ref| against a reference mesh (the
    full-resolution marching-cubes surface, cheap on a CPU where the teacher's rays are not)."""
    H, W, f = scene["H"], scene["W"], scene["focal"]
    rows = []
    for v in views:
        c2w = torch.as_tensor(scene["c2w"][v], device=dev)
        z, fid = rasterize(verts, faces, c2w, H, W, f)
        zr, fr = rasterize(ref_verts, ref_faces, c2w, H, W, f)
        both = (fid >= 0) & (fr >= 0)
        e = (1.0 / z[both] - 1.0 / zr[both]).abs()
        # in pixels of parallax for a 1-unit sideways camera move (disparity * focal)
        rows.append(dict(view=scene["names"][v], coverage=float((fid >= 0).float().mean()),
                         ref_coverage=float((fr >= 0).float().mean()), median=float(e.median()),
                         p90=float(torch.quantile(e, 0.9)), over_0p01=float((e > 0.01).float().mean()),
                         over_0p05=float((e > 0.05).float().mean())))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--mesh", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--teacher", default="", help="optional: also compare depth with the teacher")
    ap.add_argument("--depth-views", type=int, default=10, help="views (evenly spaced) for the depth check")
    ap.add_argument("--ref-mesh", default="", help="LLFF: compare disparity with this (finer) mesh")
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    dev = pick_device(args.device)
    log = Log(os.path.join(args.out, "mesh.log"))
    verts, faces = read_ply(args.mesh)
    verts, faces = verts.to(dev), faces.to(dev)
    scene = load_scene(args.data, args.split)
    if args.ref_mesh:
        rv, rf = read_ply(args.ref_mesh)
        res = dict(mesh=args.mesh, ref=args.ref_mesh, faces=int(faces.shape[0]), split=args.split)
        for split in ("train", "test"):
            sc = load_scene(args.data, split)
            rows = disparity_vs_reference(verts, faces, rv.to(dev), rf.to(dev), sc, sc["views"], dev)
            res[split] = dict(per_view=rows, **{key: float(np.mean([r[key] for r in rows])) for key in rows[0] if key != "view"})
            log("%s (%d tris) vs %s, %s views: coverage %.4f (ref %.4f), disparity gap median %.4f p90 %.4f, "
                "pixels over 0.01: %.3f, over 0.05: %.3f" % (
                    args.mesh, res["faces"], args.ref_mesh, split, res[split]["coverage"], res[split]["ref_coverage"],
                    res[split]["median"], res[split]["p90"], res[split]["over_0p01"], res[split]["over_0p05"]))
        with open(os.path.join(args.out, "mesh_check_ref.json"), "w") as fh:
            json.dump(res, fh, indent=1)
        return
    if "alpha" not in scene:
        raise SystemExit("check_mesh needs alpha masks (nerf_synthetic layout)")
    rows = silhouette_scores(verts, faces, scene, scene["views"], dev,
                             save_png=os.path.join(args.out, "silhouette_%s.png" % args.split))
    res = dict(mesh=args.mesh, faces=int(faces.shape[0]), verts=int(verts.shape[0]), split=args.split,
               n_views=len(rows), mean_iou=float(np.mean([r["iou"] for r in rows])),
               min_iou=float(np.min([r["iou"] for r in rows])),
               missed_object=float(np.mean([r["missed_object"] for r in rows])),
               extra_coverage=float(np.mean([r["extra_coverage"] for r in rows])), per_view=rows)
    msg = ("mesh %s (%d tris) vs %s alpha masks: IoU mean %.4f min %.4f over %d views; object pixels missed "
           "%.3f%% of image, background covered %.3f%%" % (
               args.mesh, res["faces"], args.split, res["mean_iou"], res["min_iou"], len(rows),
               100 * res["missed_object"], 100 * res["extra_coverage"]))
    if args.teacher:
        from teacher import load_teacher
        model = load_teacher(args.teacher, dev).eval()
        pick = np.linspace(0, len(scene["views"]) - 1, args.depth_views).round().astype(int)
        res["depth"] = depth_agreement(model, verts, faces, scene, [scene["views"][i] for i in pick], dev)
        msg += "; depth gap to teacher median %.4f, p90 %.4f, mean signed %.4f (scene units, %d px)" % (
            res["depth"]["median_abs"], res["depth"]["p90_abs"], res["depth"]["mean_signed"], res["depth"]["n_pixels"])
    with open(os.path.join(args.out, "mesh_check_%s.json" % args.split), "w") as fh:
        json.dump(res, fh, indent=1)
    log(msg)


if __name__ == "__main__":
    main()
