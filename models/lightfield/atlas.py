"""Atlas of small square patches per triangle pair (Re-ReND style), as docs/lightfield-asset.md
describes under "How fovea's bake lays the atlas out".

Triangles are ordered along a Morton curve of their centroids and paired consecutively, so a
pair is usually two neighbouring triangles and neighbouring patches hold neighbouring surface
(which helps the Sub filter + zlib). Pair p owns a (P+1) x P block of texels; its first
triangle owns the texels with a + b < P, its second those with a + b >= P, so every texel belongs
to exactly one triangle and nearest lookups never leave the triangle's own texels.
"""
import math

import numpy as np

DELTA = 1.0 / 16.0
MAX_SIDE = 4096


def morton_order(verts, faces):
    """Permutation of faces along a 3-D Morton (Z-order) curve of their centroids."""
    c = verts[faces].mean(1)
    lo, hi = c.min(0), c.max(0)
    q = ((c - lo) / np.maximum(hi - lo, 1e-12) * 1023.0).astype(np.int64).clip(0, 1023)

    def spread(x):
        x = (x | (x << 16)) & 0x030000FF
        x = (x | (x << 8)) & 0x0300F00F
        x = (x | (x << 4)) & 0x030C30C3
        x = (x | (x << 2)) & 0x09249249
        return x

    code = spread(q[:, 0]) | (spread(q[:, 1]) << 1) | (spread(q[:, 2]) << 2)
    return np.argsort(code, kind="stable")


def layout(n_tris, P, max_side=MAX_SIDE):
    """Columns C, atlas width W and height H for n_tris triangles with patch size P (near square)."""
    pairs = (n_tris + 1) // 2
    C = max(1, int(math.ceil(math.sqrt(pairs * P / (P + 1.0)))))
    C = min(C, max_side // (P + 1))
    rows = (pairs + C - 1) // C
    W, H = C * (P + 1), rows * P
    if W > max_side or H > max_side:
        raise ValueError("%d triangles at patch %d need a %dx%d atlas, above %d" % (n_tris, P, W, H, max_side))
    return C, W, H


def corner_uvs(n_tris, P, C, W, H, delta=DELTA):
    """[T, 3, 2] float32 normalised atlas coordinates of each triangle's corners (s along W, t along H)."""
    t = np.arange(n_tris)
    p = t // 2
    ox = (p % C) * (P + 1.0)
    oy = (p // C) * float(P)
    first = np.array([[delta, delta], [P - 2 * delta, delta], [delta, P - 2 * delta]])
    second = np.array([[P + 1 - delta, P - delta], [1 + 2 * delta, P - delta], [P + 1 - delta, 2 * delta]])
    local = np.where((t % 2 == 0)[:, None, None], first[None], second[None])
    uv = local + np.stack([ox, oy], -1)[:, None, :]
    return (uv / np.array([W, H], dtype=np.float64)).astype(np.float32)


def texel_owner(n_tris, P, C, W, H):
    """[H, W] int64: the triangle owning each texel, -1 for unused texels."""
    own = np.full((H, W), -1, dtype=np.int64)
    a, b = np.meshgrid(np.arange(P + 1), np.arange(P), indexing="xy")  # a column, b row in the block
    for p in range((n_tris + 1) // 2):
        ox, oy = (p % C) * (P + 1), (p // C) * P
        blk = np.where(a + b < P, 2 * p, 2 * p + 1)
        blk = np.where(blk < n_tris, blk, -1)
        own[oy:oy + P, ox:ox + P + 1] = blk
    return own


def texel_owner_fast(n_tris, P, C, W, H):
    """Vectorised texel_owner."""
    jj, ii = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
    p = (jj // P) * C + ii // (P + 1)
    a, b = ii % (P + 1), jj % P
    t = np.where(a + b < P, 2 * p, 2 * p + 1)
    valid = (ii < C * (P + 1)) & (t < n_tris)
    return np.where(valid, t, -1)


def expand_mesh(verts, faces, P, max_side=MAX_SIDE):
    """Orders and pairs the faces, lays out the atlas. Returns dict(positions [3T,3], uvs [3T,2],
    triangles [T,3] = 0..3T-1, order (face permutation), C, W, H, P)."""
    order = morton_order(verts, faces)
    f = faces[order]
    T = f.shape[0]
    C, W, H = layout(T, P, max_side)
    uv = corner_uvs(T, P, C, W, H)
    pos = verts[f].reshape(-1, 3).astype(np.float32)
    return dict(positions=pos, uvs=uv.reshape(-1, 2), triangles=np.arange(3 * T, dtype=np.int64).reshape(T, 3),
                faces=f, order=order, C=C, W=W, H=H, P=P)
