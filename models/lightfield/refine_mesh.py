"""Stage 2b (LLFF): visible marching-cubes surface -> quadric edge-collapse mesh. Runs on the CPU.

    python3 refine_mesh.py --teacher .work/lightfield/fern/teacher_fp16 --data .data/fern_llff \
        --out .work/lightfield/fern/qem --level 25 --target-tris 300000 --cull-novel 40

Why: extract_mesh.py decimates the whole closed marching-cubes surface by vertex clustering. On
fern that spends 86% of the 200k-triangle budget on surface no camera ever sees (backs of
fronds, the inside of the closed shell) and merges thin fronds into blobs. Here:
1. the teacher's density is sampled on the same lattice as extract_mesh.py (cached in --cache);
2. marching cubes at one level; components with >= --min-component of the largest one's faces;
3. NDC -> world; each TRAINING view and --cull-novel teacher-view cameras (the first N of
   distill.py's novel poses, same seed: they lie between training cameras, never at held-out
   ones) is rasterised; faces that win a pixel are visible; the visible set grows by --rings
   rings of vertex neighbours so sub-pixel faces between pixel centres stay (no cracks);
4. Open3D's quadric edge collapse (Garland-Heckbert, boundary-preserving) down to --target-tris.
   The collapse runs in NDC, where the lattice is uniform and a pixel is about the same size
   at every depth, so errors are measured on the screen's scale rather than in metres;
5. optionally (--final-cull) faces no view sees after the collapse are dropped again, keeping
   --final-rings rings of neighbours (--ring-front-only: only those turned towards a camera),
   so held-out views between the cameras find no cracks.
As made for fern (README): --level 25 --target-tris 700000 --cull-novel 40 --cull-margin 0.1
--rings 4 --final-cull --final-novel 200 --final-rings 1 --ring-front-only.
Needs python3-open3d (Debian 12: apt-get install python3-open3d, 0.16).
"""
import argparse
import json
import os
import time

import numpy as np
import torch

from common import Log
from datasets import load_scene, ndc_to_world
from marching_cubes import marching_cubes
from mesh_ops import compact, keep_large_components, write_ply
from rasterize import rasterize


def world_to_ndc(p, H, W, focal, near):
    """Inverse of datasets.ndc_to_world."""
    z = p[:, 2]
    x = -focal / (0.5 * W) * p[:, 0] / z
    y = -focal / (0.5 * H) * p[:, 1] / z
    zn = 1.0 + 2.0 * near / z
    return torch.stack([x, y, zn], -1)


def cull_cameras(scene, n_novel, seed=0):
    from distill import novel_poses
    cams = [scene["c2w"][v] for v in scene["views"]]
    if n_novel > 0:
        cams += list(novel_poses(scene, n_novel, seed))
    return cams


def visible_faces(verts, faces, cams, scene, scale=1, margin=0.0):
    """Bool [F]: faces that win at least one pixel centre in some camera (resolution x scale, the
    image widened by `margin` of its size on each side so surface just outside the frames stays)."""
    f = scene["focal"] * scale
    H = int(round(scene["H"] * scale * (1 + 2 * margin)))
    W = int(round(scene["W"] * scale * (1 + 2 * margin)))
    vis = torch.zeros(faces.shape[0], dtype=torch.bool)
    for c2w in cams:
        _, fid = rasterize(verts, faces, torch.as_tensor(c2w), H, W, f)
        fid = fid.reshape(-1)
        vis[fid[fid >= 0]] = True
    return vis


def grow(faces, sel, n_verts, rings):
    for _ in range(rings):
        vmark = torch.zeros(n_verts, dtype=torch.bool)
        vmark[faces[sel].reshape(-1)] = True
        sel = vmark[faces].any(-1)
    return sel


def front_facing_any(verts, faces, cams, seen):
    """Bool [F]: faces turned towards at least one camera. The winding's sign is taken from the
    seen faces (forward-facing scenes: all cameras look from one side)."""
    p = verts[faces]
    n = torch.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0], dim=-1)
    c = p.mean(1)
    pos = torch.zeros(faces.shape[0], dtype=torch.bool)
    neg = torch.zeros(faces.shape[0], dtype=torch.bool)
    for c2w in cams:
        s = (n * (torch.as_tensor(c2w[:3, 3]) - c)).sum(-1)
        pos |= s > 0
        neg |= s < 0
    return pos if float(pos[seen].float().mean()) >= float(neg[seen].float().mean()) else neg


def qem(v, f, target, boundary_weight):
    import open3d as o3d
    m = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(v.double().numpy()),
                                  o3d.utility.Vector3iVector(f.int().numpy()))
    m = m.simplify_quadric_decimation(target_number_of_triangles=int(target), boundary_weight=boundary_weight)
    m.remove_degenerate_triangles()
    m.remove_unreferenced_vertices()
    return (torch.from_numpy(np.asarray(m.vertices)).float(), torch.from_numpy(np.asarray(m.triangles)).long())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teacher", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default="mesh")
    ap.add_argument("--res", type=int, default=512)
    ap.add_argument("--level", type=float, default=25.0)
    ap.add_argument("--min-component", type=float, default=0.02)
    ap.add_argument("--cull-novel", type=int, default=40, help="novel cameras (distill.py's, same seed) used for visibility")
    ap.add_argument("--cull-scale", type=int, default=1, help="rasterise visibility at this multiple of the image size")
    ap.add_argument("--cull-margin", type=float, default=0.1, help="widen the visibility images by this on each side")
    ap.add_argument("--rings", type=int, default=2)
    ap.add_argument("--target-tris", type=int, default=300000)
    ap.add_argument("--boundary-weight", type=float, default=1.0)
    ap.add_argument("--final-cull", action="store_true", help="drop faces no camera sees after the collapse")
    ap.add_argument("--final-rings", type=int, default=1, help="rings of neighbours kept around the finally seen faces")
    ap.add_argument("--ring-front-only", action="store_true", help="final cull: keep ring faces only if turned towards a camera")
    ap.add_argument("--final-novel", type=int, default=-1, help="novel cameras for the final cull (-1 = --cull-novel)")
    ap.add_argument("--write-full", default="", help="also write the kept marching-cubes surface (world space) here, as a "
                    "reference for check_mesh.py --ref-mesh (only when the visible-surface cache is built)")
    ap.add_argument("--cache", default="", help="folder for the density lattice and the culled surface (reused)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    log = Log(os.path.join(args.out, args.name + ".log"))
    log("args: %s" % json.dumps(vars(args)))
    t_all = time.time()
    scene = load_scene(args.data, "train")
    H, W, focal, near = scene["H"], scene["W"], scene["focal"], scene["ndc_near"]
    cache = args.cache or args.out
    os.makedirs(cache, exist_ok=True)

    sig_path = os.path.join(cache, "sigma_%d.npy" % args.res)
    from teacher import load_teacher
    model = load_teacher(args.teacher, "cpu").eval()
    box = model.aabb
    if not model.cfg["ndc"]:
        raise SystemExit("refine_mesh.py is for LLFF (NDC) teachers")
    ext = box[1] - box[0]
    reso = [max(2, int(round(float(e / ext.max()) * (args.res - 1))) + 1) for e in ext]
    spacing = (ext / (torch.tensor(reso) - 1)).tolist()
    t0 = time.time()
    if os.path.exists(sig_path):
        sigma = torch.from_numpy(np.load(sig_path).astype(np.float32))
    else:
        with torch.no_grad():
            sigma = model.dense_density(reso, use_mask=True)
        np.save(sig_path, sigma.numpy().astype(np.float16))
    del model
    log("density lattice %s: %.1f s" % (reso, time.time() - t0))

    surf_path = os.path.join(cache, "visible_l%g_n%d_s%d_m%g_r%d.pt" % (
        args.level, args.cull_novel, args.cull_scale, args.cull_margin, args.rings))
    st = dict(level=args.level, lattice=reso)
    if os.path.exists(surf_path):
        d = torch.load(surf_path)
        vn, f, st = d["v_ndc"], d["f"], d["stats"]
        log("visible surface from %s: %d faces" % (surf_path, f.shape[0]))
    else:
        t0 = time.time()
        vn, f = marching_cubes(sigma, args.level, box[0].tolist(), spacing)
        st["mc_faces"] = int(f.shape[0])
        vn, f, cc = keep_large_components(vn, f, args.min_component)
        st.update(components=cc["components"], kept_components=cc["kept_components"], faces_after_components=cc["faces_after"])
        log("marching cubes at level %g: %d faces; %d components, %d kept (%d faces); %.1f s" % (
            args.level, st["mc_faces"], cc["components"], cc["kept_components"], cc["faces_after"], time.time() - t0))
        t0 = time.time()
        vw = ndc_to_world(vn, H, W, focal, near)
        if args.write_full:
            write_ply(args.write_full, vw, f)
        cams = cull_cameras(scene, args.cull_novel)
        vis = visible_faces(vw, f, cams, scene, args.cull_scale, args.cull_margin)
        st["visible_faces"] = int(vis.sum())
        sel = grow(f, vis, vn.shape[0], args.rings)
        vn, f = compact(vn, f[sel])
        st["kept_faces"] = int(f.shape[0])
        log("visibility from %d cameras (%d training + %d novel) at %dx, margin %g: %d faces win a pixel, %d kept with %d rings; %.1f s" % (
            len(cams), len(scene["views"]), args.cull_novel, args.cull_scale, args.cull_margin, st["visible_faces"], st["kept_faces"],
            args.rings, time.time() - t0))
        torch.save(dict(v_ndc=vn, f=f, stats=st), surf_path)
    del sigma

    t0 = time.time()
    v2, f2 = qem(vn, f, args.target_tris, args.boundary_weight)
    st["qem_faces"] = int(f2.shape[0])
    st["qem_s"] = time.time() - t0
    log("quadric edge collapse: %d -> %d faces (%d vertices), %.1f s" % (f.shape[0], f2.shape[0], v2.shape[0], st["qem_s"]))
    vw = ndc_to_world(v2, H, W, focal, near)
    if args.final_cull:
        t0 = time.time()
        nfin = args.cull_novel if args.final_novel < 0 else args.final_novel
        vis = visible_faces(vw, f2, cull_cameras(scene, nfin), scene, args.cull_scale, args.cull_margin)
        st["final_seen"] = int(vis.sum())
        ring = grow(f2, vis, vw.shape[0], args.final_rings)
        if args.ring_front_only:
            ring &= front_facing_any(vw, f2, cull_cameras(scene, nfin), vis)
        vis = vis | ring
        vw, f2 = compact(vw, f2[vis])
        st["final_faces"] = int(f2.shape[0])
        log("final cull (%d training + %d novel cameras, margin %g): %d faces seen, %d kept with %d rings, %.1f s" % (
            len(scene["views"]), nfin, args.cull_margin, st["final_seen"], f2.shape[0], args.final_rings, time.time() - t0))
    path = os.path.join(args.out, args.name + ".ply")
    write_ply(path, vw, f2)
    st.update(faces=int(f2.shape[0]), verts=int(vw.shape[0]), seconds=time.time() - t_all)
    with open(os.path.join(args.out, args.name + ".json"), "w") as fh:
        json.dump(st, fh, indent=1)
    log("wrote %s: %d triangles, %d vertices, %.2f MB, %.1f s total" % (
        path, f2.shape[0], vw.shape[0], os.path.getsize(path) / 1e6, time.time() - t_all))


if __name__ == "__main__":
    main()
