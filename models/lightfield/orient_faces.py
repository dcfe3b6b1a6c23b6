#!/usr/bin/python3
"""Marks the triangles of a light-field asset that are only ever seen from one side, so renderers
may cull their back faces (format 1.1, docs/lightfield-asset.md).

The meshes come from marching cubes, then edge collapse and vertex dilation: their winding is not
consistent (lego: 58k of 270k edges are traversed the same way by both of their triangles), so a
renderer has to draw both sides of every triangle, and on a CPU rasteriser (llvmpipe) the hidden
back faces cost as much as the visible ones. This tool rasterises the mesh from a sphere of views
around the asset's camera target, at the camera's distance and closer, and counts for every
triangle the views that hit it from its counter-clockwise side and from its clockwise side.
Triangles hit from one side only are turned (if needed) so that side is counter-clockwise and
moved to the front of the triangle list; triangles hit from both sides stay two-sided. Triangles
no view hits are one-sided as they are wound (`--never-seen two-sided` keeps them two-sided): no
camera of the sphere sees either of their sides, so culling one of them changes no view of it;
`--never-seen drop` removes them (they still cost vertex work and triangle setup). Colours do not change: the same vertices and atlas coordinates, in another order.

    python3 models/lightfield/orient_faces.py IN.fvlf OUT.fvlf [--views 320] [--size 400]
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_asset import write_asset  # noqa: E402
from render_asset import rasterize_np, read_asset  # noqa: E402


def look_at(eye, target, up):
    f = target - eye
    f /= np.linalg.norm(f)
    r = np.cross(f, up)
    if np.linalg.norm(r) < 1e-6:
        r = np.cross(f, np.array([1.0, 0.0, 0.0]))
    r /= np.linalg.norm(r)
    u = np.cross(r, f)
    c2w = np.eye(4)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = r, u, -f, eye
    return c2w


def sphere(n):
    """n directions spread evenly over the sphere (Fibonacci lattice)."""
    i = np.arange(n) + 0.5
    z = 1 - 2 * i / n
    phi = np.pi * (1 + 5 ** 0.5) * i
    rr = np.sqrt(1 - z * z)
    return np.stack([rr * np.cos(phi), rr * np.sin(phi), z], -1)


def votes(a, views, size):
    cam = a["camera"]
    target = np.asarray(cam["target"], np.float64)
    up = np.asarray(cam["up"], np.float64)
    radius = float(np.linalg.norm(np.asarray(cam["eye"], np.float64) - target))
    focal = 0.5 * size / np.tan(0.5 * float(cam["fovy"]))
    P = a["positions"].astype(np.float64)
    T = a["triangles"]
    n = np.cross(P[T[:, 1]] - P[T[:, 0]], P[T[:, 2]] - P[T[:, 0]])
    ccw = np.zeros(len(T), np.int64)
    cw = np.zeros(len(T), np.int64)
    dirs = sphere(views)
    t0 = time.time()
    for i, d in enumerate(dirs):
        # every other view at 0.6x the distance: closer cameras look into the cavities
        eye = target + d * radius * (1.0 if i % 2 == 0 else 0.6)
        fid, _ = rasterize_np(P, T, look_at(eye, target, up), size, size, focal)
        hit = np.unique(fid[fid >= 0])
        facing = np.einsum("ij,ij->i", n[hit], eye - P[T[hit, 0]]) > 0
        ccw[hit[facing]] += 1
        cw[hit[~facing]] += 1
        if (i + 1) % 40 == 0:
            print(f"  {i + 1}/{views} views, {time.time() - t0:.0f} s", flush=True)
    return ccw, cw


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("asset")
    ap.add_argument("out")
    ap.add_argument("--views", type=int, default=320)
    ap.add_argument("--size", type=int, default=400)
    ap.add_argument("--never-seen", choices=["one-sided", "two-sided", "drop"], default="one-sided")
    args = ap.parse_args()
    a = read_asset(args.asset)
    T = a["triangles"]
    ccw, cw = votes(a, args.views, args.size)
    keep = (ccw > 0) & (cw == 0)
    flip = (cw > 0) & (ccw == 0)
    never = (ccw == 0) & (cw == 0)
    one = keep | flip | (never if args.never_seen == "one-sided" else False)
    rest = ~one & ~never if args.never_seen == "drop" else ~one
    order = np.concatenate([np.nonzero(one)[0], np.nonzero(rest)[0]])
    corners = T[order].copy()
    f = flip[order]
    corners[f] = corners[f][:, [0, 2, 1]]
    if a["unshared"]:
        positions = a["positions"][corners.reshape(-1)]
        uvs = a["uvs"][corners.reshape(-1)]
        tris = np.arange(3 * len(order), dtype=np.uint32).reshape(-1, 3)
    else:
        positions, uvs, tris = a["positions"], a["uvs"], corners
    both = (ccw > 0) & (cw > 0)
    print(f"{len(T)} triangles, {len(order)} kept: {int(one.sum())} one-sided ({int(flip.sum())} turned), {int(both.sum())} seen from "
          f"both sides, {int(never.sum())} never seen ({args.views} views, {args.size}x{args.size})")
    size = write_asset(args.out, name=a["name"], k=a["k"], positions=positions, uvs=uvs, triangles=tris,
                       atlas=a["atlas"], atlas_lo=a["atlas_lo"], atlas_hi=a["atlas_hi"], dirmap=a["dirmap"],
                       dir_lo=a["dirmap_lo"], dir_hi=a["dirmap_hi"], bias=a["bias"], background=a["background"],
                       dir_frame=a["dir_frame"], camera=a["camera"], description=a["description"],
                       provenance=a["provenance"] + "; orient_faces.py: %d one-sided" % int(one.sum()),
                       patch=a["patch"], unshared=a["unshared"], one_sided=int(one.sum()))
    print(f"wrote {args.out}: {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
