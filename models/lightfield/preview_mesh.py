"""Headlight-shaded renders of a mesh from a scene's cameras, for eyeballing.

    python3 preview_mesh.py --data .data/lego_400 --mesh .work/lightfield/lego/mesh.ply \
        --split val --views 0,50 --out .work/lightfield/lego

Each PNG is [mesh shading | mesh disparity | photo]; shading is |n . view direction| per
face, so holes, floaters and decimation artefacts show at a glance. Runs fine on a CPU.
"""
import argparse
import os

import torch

from datasets import load_scene, pixel_rays
from mesh_ops import read_ply
from pngio import write_png
from rasterize import rasterize


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--mesh", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--views", default="0")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    verts, faces = read_ply(args.mesh)
    scene = load_scene(args.data, args.split)
    H, W, f = scene["H"], scene["W"], scene["focal"]
    n = torch.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]], dim=-1)
    n = n / n.norm(dim=-1, keepdim=True).clamp(min=1e-20)
    for pos in [int(x) for x in args.views.split(",")]:
        v = scene["views"][pos]
        c2w = torch.as_tensor(scene["c2w"][v])
        zbuf, fid = rasterize(verts, faces, c2w, H, W, f)
        _, d = pixel_rays(H, W, f, c2w)
        hit = fid.view(-1) >= 0
        shade = torch.ones(H * W)
        shade[hit] = 0.15 + 0.85 * (n[fid.view(-1)[hit]] * d[hit]).sum(-1).abs()
        # Disparity, normalised over the hit pixels: shows the scene's layering, which the
        # faceted shading hides on cluttered forward-facing scenes.
        disp = torch.zeros(H * W)
        if hit.any():
            inv = 1.0 / zbuf.view(-1)[hit]
            disp[hit] = (inv - inv.min()) / (inv.max() - inv.min()).clamp(min=1e-12)
        img = torch.cat([shade.view(H, W, 1).expand(H, W, 3), disp.view(H, W, 1).expand(H, W, 3),
                         torch.as_tensor(scene["rgb"][v])], 1)
        name = os.path.splitext(scene["names"][v])[0]
        path = os.path.join(args.out, "mesh_preview_%s_%s.png" % (args.split, name))
        write_png(path, (img.clamp(0, 1) * 255).round().byte().numpy())
        print("wrote", path, "mesh covers %.1f%% of the image" % (100 * float(hit.float().mean())))


if __name__ == "__main__":
    main()
