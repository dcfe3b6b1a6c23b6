"""A tiny procedural light-field asset: a cube with checkered faces and a view-dependent sheen.

    python3 make_test_asset.py OUT.fvlf [--k 8] [--patch 8] [--dir-res 32] [--raw]

Deterministic (no random numbers), a few KB. It exercises every part of the format: k/4 direction
layers, 3k/4 atlas layers with distinct per-channel ranges, a non-zero bias, the patch layout
with both triangles of a pair, zlib and the Sub filter (or raw blobs with --raw). A renderer that
matches render_asset.py on it matches the format.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from atlas import corner_uvs, layout, texel_owner_fast  # noqa: E402
from export_asset import oct_texel_dirs, pack_layers, quantize, write_asset  # noqa: E402


def cube():
    v = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float32)
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    f = []
    for a, b, c, d in quads:
        f += [(a, b, d), (c, d, b)]  # the pair splits the quad along its b-d diagonal
    return v, np.array(f, dtype=np.int64)


def build(k=8, P=8, N=32):
    verts, faces = cube()
    T = faces.shape[0]
    C, W, H = layout(T, P)
    uvs = corner_uvs(T, P, C, W, H)
    owner = texel_owner_fast(T, P, C, W, H)
    # Texel centre -> position on its triangle (invert the affine uv map of the owning triangle).
    jj, ii = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
    st = np.stack([(ii + 0.5) / W, (jj + 0.5) / H], -1).reshape(-1, 2)
    own = owner.reshape(-1)
    x = np.zeros((H * W, 3))
    ok = own >= 0
    tri_uv = uvs[own[ok]].astype(np.float64)
    tri_p = verts[faces[own[ok]]].astype(np.float64)
    m = np.stack([tri_uv[:, 1] - tri_uv[:, 0], tri_uv[:, 2] - tri_uv[:, 0]], -1)  # [n, 2(xy), 2(e1,e2)]
    rhs = st[ok] - tri_uv[:, 0]
    ab = np.linalg.solve(m, rhs[..., None])[..., 0]
    b = np.concatenate([1 - ab.sum(-1, keepdims=True), ab], -1)
    x[ok] = (b[..., None] * tri_p).sum(1)

    # Position features f[c, j]: j = 0 base colour (checker of 4x4 per face), 1..3 tint the
    # three view terms, the rest small smooth patterns; unused texels 0.
    chk = ((np.floor((x[:, 0] + 1) * 2) + np.floor((x[:, 1] + 1) * 2) + np.floor((x[:, 2] + 1) * 2)) % 2)
    base = np.stack([0.5 + 1.5 * chk, 1.0 - 1.2 * chk, -0.5 + 0.8 * np.sin(3 * x[:, 0])], -1)
    feats = np.zeros((H * W, 3, k))
    feats[:, :, 0] = base
    for j in range(1, k):
        feats[:, :, j] = (0.6 / j) * np.stack([np.cos(j * x[:, 0] + c) * np.sin(j * x[:, 2] - c) for c in (0, 1, 2)], -1)
    feats[~ok] = 0.0
    fch = feats.reshape(H * W, 3 * k)
    lo, hi = fch.min(0), fch.max(0)
    hi = np.where(hi > lo, hi, lo + 1.0)
    atlas = pack_layers(quantize(fch, lo, hi), H, W)

    R = np.diag([1.0, -1.0, -1.0])
    d = oct_texel_dirs(R, N).reshape(-1, 3).astype(np.float64)
    beta = np.zeros((N * N, k))
    beta[:, 0] = 1.0
    beta[:, 1:4] = d
    for j in range(4, k):
        beta[:, j] = np.cos((j - 2) * d[:, 0]) * np.sin((j - 3) * d[:, 1] + d[:, 2])
    blo, bhi = beta.min(0), beta.max(0)
    bhi = np.where(bhi > blo, bhi, blo + 1.0)
    dirmap = pack_layers(quantize(beta, blo, bhi), N, N)
    return dict(name="test_cube", k=k, positions=verts[faces].reshape(-1, 3), uvs=uvs.reshape(-1, 2),
                triangles=np.arange(3 * T).reshape(T, 3), atlas=atlas, atlas_lo=lo, atlas_hi=hi, dirmap=dirmap,
                dir_lo=blo, dir_hi=bhi, bias=(0.1, -0.05, 0.2), background=(1.0, 1.0, 1.0, 1.0), dir_frame=R,
                camera=dict(eye=(2.5, -3.5, 2.0), target=(0, 0, 0), up=(0, 0, 1), fovy=0.69, near=0.1, far=20.0),
                description="procedural test cube: 4x4 checker per face, view-dependent terms",
                provenance="tool: models/lightfield/make_test_asset.py\nk: %d\npatch: %d\ndirection map: %d" % (k, P, N),
                patch=P)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--patch", type=int, default=8)
    ap.add_argument("--dir-res", type=int, default=32)
    ap.add_argument("--raw", action="store_true", help="store every blob uncompressed")
    args = ap.parse_args()
    a = build(args.k, args.patch, args.dir_res)
    n = write_asset(args.out, compress=not args.raw, **a)
    print("wrote %s: %d bytes" % (args.out, n))


if __name__ == "__main__":
    main()
