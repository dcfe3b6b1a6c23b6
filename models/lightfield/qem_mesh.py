"""Stage 2c (object scenes, e.g. lego): a small mesh by quadric edge collapse. Runs on the CPU.

    python3 qem_mesh.py --teacher .work/lightfield/lego/teacher_fp16 --level 100 --target-tris 50000 \
        --out .work/lightfield/lego/qem50k --cache .work/lightfield/lego
    python3 qem_mesh.py --mesh .work/lightfield/lego/mesh.ply --target-tris 50000 --out ...   # from a PLY

Why: the renderer on a 2-core llvmpipe needs ~50-60k triangles for 30 fps at 800x800, and
extract_mesh.py's vertex clustering (uniform cells) spends its budget evenly, flat or not.
Edge collapse (Garland-Heckbert, Open3D) keeps triangles where the surface bends. The input is
either the full marching-cubes surface of the teacher's density (same lattice as
extract_mesh.py: --res points along the box's longest side, occupancy mask applied; sampled on
the CPU and cached in --cache) or an existing PLY. The level is not chosen here: lego's level
(100) was chosen by extract_mesh.py on the training views' silhouettes.
Needs python3-open3d (Debian 12: apt-get install python3-open3d, 0.16).
"""
import argparse
import json
import os
import time

import numpy as np
import torch

from common import Log
from marching_cubes import marching_cubes
from mesh_ops import keep_large_components, read_ply, write_ply
from refine_mesh import qem


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teacher", default="")
    ap.add_argument("--mesh", default="", help="start from this PLY instead of the teacher's marching-cubes surface")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default="mesh")
    ap.add_argument("--res", type=int, default=512)
    ap.add_argument("--level", type=float, default=100.0)
    ap.add_argument("--min-component", type=float, default=0.02)
    ap.add_argument("--target-tris", type=int, default=50000)
    ap.add_argument("--boundary-weight", type=float, default=1.0)
    ap.add_argument("--cache", default="")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    log = Log(os.path.join(args.out, args.name + ".log"))
    log("args: %s" % json.dumps(vars(args)))
    t_all = time.time()
    st = {}
    if args.mesh:
        v, f = read_ply(args.mesh)
        v, f = v.float(), f.long()
        st["input_faces"] = int(f.shape[0])
        log("input %s: %d faces" % (args.mesh, f.shape[0]))
    else:
        cache = args.cache or args.out
        mc_path = os.path.join(cache, "mc_%g_r%d.pt" % (args.level, args.res))
        if os.path.exists(mc_path):
            d = torch.load(mc_path)
            v, f, st = d["v"], d["f"], d["stats"]
            log("marching-cubes surface from %s: %d faces" % (mc_path, f.shape[0]))
        else:
            from teacher import load_teacher
            t0 = time.time()
            model = load_teacher(args.teacher, "cpu").eval()
            box = model.aabb
            ext = box[1] - box[0]
            reso = [max(2, int(round(float(e / ext.max()) * (args.res - 1))) + 1) for e in ext]
            spacing = (ext / (torch.tensor(reso) - 1)).tolist()
            with torch.no_grad():
                sigma = model.dense_density(reso, use_mask=True)
            del model
            log("density lattice %s: %.1f s" % (reso, time.time() - t0))
            t0 = time.time()
            v, f = marching_cubes(sigma, args.level, box[0].tolist(), spacing)
            del sigma
            st = dict(level=args.level, lattice=reso, mc_faces=int(f.shape[0]))
            v, f, cc = keep_large_components(v, f, args.min_component)
            st.update(components=cc["components"], kept_components=cc["kept_components"], faces_after_components=cc["faces_after"])
            log("marching cubes at level %g: %d faces; %d components, %d kept (%d faces); %.1f s" % (
                args.level, st["mc_faces"], cc["components"], cc["kept_components"], cc["faces_after"], time.time() - t0))
            torch.save(dict(v=v, f=f, stats=st), mc_path)
    t0 = time.time()
    v2, f2 = qem(v, f, args.target_tris, args.boundary_weight)
    st.update(qem_faces=int(f2.shape[0]), qem_s=time.time() - t0, verts=int(v2.shape[0]))
    log("quadric edge collapse: %d -> %d faces (%d vertices), %.1f s" % (f.shape[0], f2.shape[0], v2.shape[0], st["qem_s"]))
    path = os.path.join(args.out, args.name + ".ply")
    write_ply(path, v2, f2)
    st["seconds"] = time.time() - t_all
    with open(os.path.join(args.out, args.name + ".json"), "w") as fh:
        json.dump(st, fh, indent=1)
    log("wrote %s: %d triangles, %.2f MB, %.1f s total" % (path, f2.shape[0], os.path.getsize(path) / 1e6, st["seconds"]))


if __name__ == "__main__":
    main()
