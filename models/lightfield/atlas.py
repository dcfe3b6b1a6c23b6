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


def choose_patch_sizes(footprint, budget, pmax=8):
    """Per-triangle patch size P so that a triangle gets about `alpha` texels per pixel of its
    largest footprint in the training views (P(P+1)/2 texels), alpha as large as the texel budget
    allows (bisection). Triangles never seen get P = 1. Returns (P [T] int64, alpha, texels)."""
    fp = np.asarray(footprint, dtype=np.float64)
    tri_texels = np.array([p * (p + 1) // 2 for p in range(pmax + 1)], dtype=np.float64)

    def sizes(alpha):
        want = alpha * fp
        P = np.ones(fp.shape[0], dtype=np.int64)
        for p in range(2, pmax + 1):
            P[want > tri_texels[p - 1]] = p
        return P

    def cost(P):
        # a pair of class P costs P(P+1) texels; an odd triangle out still takes a whole block
        tot = 0
        for p in range(1, pmax + 1):
            n = int((P == p).sum())
            tot += (n + 1) // 2 * p * (p + 1)
        return tot

    lo, hi = 0.0, 64.0
    if cost(sizes(lo)) > budget:
        raise ValueError("%d triangles need %d texels at patch 1, above the budget %d" % (fp.size, cost(sizes(lo)), budget))
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if cost(sizes(mid)) <= budget:
            lo = mid
        else:
            hi = mid
    P = sizes(lo)
    return P, lo, cost(P)


def build_layout(verts, faces, P, max_side=MAX_SIDE, delta=DELTA):
    """Mixed patch sizes: one band of rows per size class (largest first), triangles of a class
    in Morton order, paired consecutively. Returns dict(order [T] (new -> old face), uv [T,3,2]
    (new order), W, H, P (new order))."""
    P = np.asarray(P, dtype=np.int64)
    morton = morton_order(verts, faces)
    rank = np.empty_like(morton)
    rank[morton] = np.arange(morton.size)
    classes = sorted(set(P.tolist()), reverse=True)
    members = {p: np.nonzero(P == p)[0] for p in classes}
    members = {p: m[np.argsort(rank[m], kind="stable")] for p, m in members.items()}
    area = sum((m.size + 1) // 2 * p * (p + 1) for p, m in members.items())
    W = max(max(p + 1 for p in classes), int(math.ceil(math.sqrt(area) * 1.01)))
    while True:
        H = sum(((m.size + 1) // 2 + W // (p + 1) - 1) // (W // (p + 1)) * p for p, m in members.items())
        if H <= max_side or W >= max_side:
            break
        W = min(max_side, int(W * 1.05) + 1)
    if W > max_side or H > max_side:
        raise ValueError("atlas %dx%d above %d" % (W, H, max_side))
    order, uvs, Ps = [], [], []
    y0 = 0
    for p in classes:
        m = members[p]
        per_row = W // (p + 1)
        t = np.arange(m.size)
        q = t // 2
        ox = (q % per_row) * (p + 1.0)
        oy = y0 + (q // per_row) * float(p)
        first = np.array([[delta, delta], [p - 2 * delta, delta], [delta, p - 2 * delta]])
        second = np.array([[p + 1 - delta, p - delta], [1 + 2 * delta, p - delta], [p + 1 - delta, 2 * delta]])
        local = np.where((t % 2 == 0)[:, None, None], first[None], second[None])
        uvs.append(local + np.stack([ox, oy], -1)[:, None, :])
        order.append(m)
        Ps.append(np.full(m.size, p))
        y0 += ((m.size + 1) // 2 + per_row - 1) // per_row * p
    assert y0 == H
    uv = np.concatenate(uvs) / np.array([W, H], dtype=np.float64)
    return dict(order=np.concatenate(order), uv=uv.astype(np.float32), W=W, H=H, P=np.concatenate(Ps))


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
