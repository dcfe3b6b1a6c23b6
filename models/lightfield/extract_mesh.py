"""Teacher density -> marching cubes -> large components -> decimated mesh (binary PLY).

    python3 extract_mesh.py --teacher .work/lightfield/lego/teacher_fp16 --data .data/lego_400 \
        --out .work/lightfield/lego --res 512 --levels 10,25,50,100,200 --target-tris 200000

The density is sampled (occupancy mask applied, as in rendering) on a lattice over the
teacher's box with --res points along its longest side. With several --levels, each one is
meshed and the one whose silhouettes best match the TRAINING views' alpha masks is kept;
validation views stay untouched for check_mesh.py. LLFF scenes have no masks: there the
level whose depth best agrees with the teacher's (and covers >95% of the views) wins.
LLFF teachers live in NDC space: the mesh is extracted there and mapped back to world
space (the NDC map is projective, so triangles stay planar).
"""
import argparse
import json
import os
import time

import numpy as np
import torch

from check_mesh import silhouette_scores
from common import Log, describe_env, pick_device
from datasets import load_scene, ndc_rays, ndc_to_world, pixel_rays
from marching_cubes import marching_cubes
from mesh_ops import decimate_to, keep_large_components, write_ply
from rasterize import rasterize
from teacher import load_teacher


def teacher_disparity(model, scene, view, dev, chunk=16384):
    """1/depth (view space) where the teacher's NDC rays terminate, and where they are opaque."""
    H, W, f = scene["H"], scene["W"], scene["focal"]
    c2w = torch.as_tensor(scene["c2w"][view], device=dev)
    o, d = pixel_rays(H, W, f, c2w)
    on, dn = ndc_rays(H, W, f, scene["ndc_near"], o, d)
    out = model.render_chunked(on, dn, chunk, white_bg=False)
    t = out["depth"] / out["acc"].clamp(min=1e-6)
    pw = ndc_to_world(on + dn * t[:, None], H, W, f, scene["ndc_near"])
    z = -((pw - c2w[:3, 3]) @ c2w[:3, :3])[:, 2]
    return 1.0 / z.clamp(min=1e-6), out["acc"] > 0.9


def mesh_at_level(sigma, level, origin, spacing, min_fraction, target):
    t0 = time.time()
    v, f = marching_cubes(sigma, level, origin, spacing)
    n_mc = int(f.shape[0])
    if n_mc == 0:
        raise SystemExit("no surface at density level %g (lattice max %.3g): lower --levels" % (level, float(sigma.max())))
    v, f, cc = keep_large_components(v, f, min_fraction)
    v, f, cell = decimate_to(v, f, target)
    return v, f, dict(level=level, mc_faces=n_mc, components=cc["components"],
                      kept_components=cc["kept_components"], faces_after_components=cc["faces_after"],
                      cluster_cell=cell, faces=int(f.shape[0]), verts=int(v.shape[0]), seconds=time.time() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teacher", required=True)
    ap.add_argument("--data", required=True, help="scene folder (training views choose the level)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default="mesh")
    ap.add_argument("--res", type=int, default=512, help="lattice points along the box's longest side")
    ap.add_argument("--levels", default="10,25,50,100,200", help="density levels (world units, 1/length)")
    ap.add_argument("--target-tris", type=int, default=200000)
    ap.add_argument("--min-component", type=float, default=0.02,
                    help="keep components with at least this fraction of the largest one's faces")
    ap.add_argument("--select-views", type=int, default=20, help="training views used to pick the level")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    dev = pick_device(args.device)
    os.makedirs(args.out, exist_ok=True)
    log = Log(os.path.join(args.out, "mesh.log"))
    describe_env(log)
    t0 = time.time()
    model = load_teacher(args.teacher, dev).eval()
    box = model.aabb
    ext = box[1] - box[0]
    reso = [max(2, int(round(float(e / ext.max()) * (args.res - 1))) + 1) for e in ext]
    spacing = (ext / (torch.tensor(reso, device=dev) - 1)).tolist()
    sigma = model.dense_density(reso, use_mask=True)
    log("density lattice %s over box %s: %.1f s, max %.1f, %.2f%% of points above 10" % (
        reso, [[round(x, 3) for x in r] for r in box.tolist()], time.time() - t0, float(sigma.max()),
        100 * float((sigma > 10).float().mean())))

    scene = load_scene(args.data, "train")
    ndc = bool(model.cfg["ndc"])
    levels = [float(x) for x in args.levels.split(",")]
    pick = np.linspace(0, len(scene["views"]) - 1, min(args.select_views, len(scene["views"]))).round().astype(int)
    views = [scene["views"][i] for i in pick]
    teacher_disp = [teacher_disparity(model, scene, k, dev) for k in views] if ndc else None
    results = []
    best = None
    for lv in levels:
        v, f, st = mesh_at_level(sigma, lv, box[0].tolist(), spacing, args.min_component, args.target_tris)
        if ndc:
            v = ndc_to_world(v, scene["H"], scene["W"], scene["focal"], scene["ndc_near"])
        if "alpha" in scene and len(levels) > 1:
            rows = silhouette_scores(v, f, scene, views, dev)
            st["train_iou"] = float(np.mean([r["iou"] for r in rows]))
        elif "alpha" not in scene:
            # No masks (LLFF). Coverage alone would favour a low level that wraps the
            # camera in a sheet of faint fog, so the level is chosen by how well the mesh's
            # disparity (1/depth) agrees with where the teacher's rays terminate.
            cov, err = [], []
            for k, (disp_t, opaque) in zip(views, teacher_disp):
                zbuf, fid = rasterize(v, f, torch.as_tensor(scene["c2w"][k], device=dev), scene["H"], scene["W"],
                                      scene["focal"])
                hit = (fid >= 0).view(-1)
                cov.append(float(hit.float().mean()))
                both = hit & opaque
                err.append((1.0 / zbuf.view(-1)[both] - disp_t[both]).abs())
            st["train_coverage"] = float(np.mean(cov))
            st["train_disparity_err"] = float(torch.cat(err).median()) if sum(e.numel() for e in err) else 1e9
        log("level %g: %d MC tris, %d components (%d kept, %d tris), decimated to %d tris / %d verts "
            "(cluster %.4f), train IoU %s, train coverage %s, median disparity gap to teacher %s, %.1f s" % (
                lv, st["mc_faces"], st["components"], st["kept_components"], st["faces_after_components"],
                st["faces"], st["verts"], st["cluster_cell"], "%.4f" % st["train_iou"] if "train_iou" in st else "-",
                "%.4f" % st["train_coverage"] if "train_coverage" in st else "-",
                "%.4f" % st["train_disparity_err"] if "train_disparity_err" in st else "-", st["seconds"]))
        results.append(st)
        def score(x):
            if "train_iou" in x:
                return x["train_iou"]
            if "train_disparity_err" in x:
                return -x["train_disparity_err"] if x["train_coverage"] > 0.95 else -1e9
            return 0.0
        if best is None or score(st) > score(best[2]):
            best = (v, f, st)
    v, f, st = best
    path = os.path.join(args.out, args.name + ".ply")
    write_ply(path, v, f)
    info = dict(teacher=args.teacher, lattice=reso, box=box.tolist(), ndc=ndc, chosen=st, candidates=results,
                bbox_world=[v.min(0)[0].tolist(), v.max(0)[0].tolist()], seconds=time.time() - t0)
    with open(os.path.join(args.out, args.name + ".json"), "w") as fh:
        json.dump(info, fh, indent=1)
    log("wrote %s: %d triangles, %d vertices, level %g, %.2f MB, %.1f s total" % (
        path, st["faces"], st["verts"], st["level"], os.path.getsize(path) / 1e6, time.time() - t0))


if __name__ == "__main__":
    main()
