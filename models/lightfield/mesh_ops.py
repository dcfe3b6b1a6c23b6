"""Mesh clean-up in PyTorch: connected components, decimation, PLY I/O.

Decimation is vertex clustering with quadric-error placement (Lindstrom, "Out-of-core
simplification of large polygonal models", SIGGRAPH 2000): bucket vertices into a uniform
grid, put each bucket's single vertex where the summed face quadrics of its triangles are
smallest, drop collapsed triangles. It is fully data-parallel (a handful of scatter ops),
so millions of marching-cubes triangles reduce in well under a second on the GPU, and a
bisection on the cell size hits a triangle budget. Unlike greedy edge collapse it may make
non-manifold joints where thin parts meet; the light-field renderer only rasterises the
mesh, so that costs nothing there.
"""

import numpy as np
import torch


def compact(verts, faces):
    """Drops unreferenced vertices."""
    used = torch.zeros(verts.shape[0], dtype=torch.bool, device=verts.device)
    used[faces.reshape(-1)] = True
    remap = torch.cumsum(used.long(), 0) - 1
    return verts[used], remap[faces]


def vertex_components(faces, n_verts):
    """Component label (smallest vertex id in it) per vertex: hook-to-min + pointer jumping."""
    dev = faces.device
    lab = torch.arange(n_verts, device=dev)
    a = torch.cat([faces[:, 0], faces[:, 1]])
    b = torch.cat([faces[:, 1], faces[:, 2]])
    while True:
        la, lb = lab[a], lab[b]
        m = torch.minimum(la, lb)
        new = lab.clone()
        # la, lb are roots (labels are fully jumped), so this hooks roots to smaller roots
        # and labels only ever decrease: no cycles, and it stops when every edge agrees.
        new.scatter_reduce_(0, la, m, reduce="amin")
        new.scatter_reduce_(0, lb, m, reduce="amin")
        while True:
            jumped = new[new]
            if torch.equal(jumped, new):
                break
            new = jumped
        if torch.equal(new, lab):
            return lab
        lab = new


def keep_large_components(verts, faces, min_fraction=0.02, min_faces=0):
    """Keeps components whose face count is >= min_fraction of the largest one (and >= min_faces).

    Returns (verts, faces, stats dict).
    """
    lab = vertex_components(faces, verts.shape[0])
    fl = lab[faces[:, 0]]
    uniq, inv, counts = torch.unique(fl, return_inverse=True, return_counts=True)
    thresh = max(float(counts.max()) * min_fraction, float(min_faces))
    keep_comp = counts >= thresh
    keep = keep_comp[inv]
    v, f = compact(verts, faces[keep])
    stats = dict(components=int(uniq.numel()), kept_components=int(keep_comp.sum()),
                 faces_before=int(faces.shape[0]), faces_after=int(f.shape[0]),
                 largest=int(counts.max()), threshold=thresh)
    return v, f, stats


def face_quadrics(verts, faces):
    """Area-weighted plane quadrics [F, 4, 4]."""
    v0, v1, v2 = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    n = torch.cross(v1 - v0, v2 - v0, dim=-1)
    area2 = n.norm(dim=-1, keepdim=True)
    nu = n / area2.clamp(min=1e-20)
    p = torch.cat([nu, -(nu * v0).sum(-1, keepdim=True)], -1)
    return 0.5 * area2[..., None] * p[:, :, None] * p[:, None, :]


def cluster_decimate(verts, faces, cell, quadrics=None):
    """One clustering pass with cubic cells of size `cell`. Returns (verts, faces)."""
    dev = verts.device
    if quadrics is None:
        quadrics = face_quadrics(verts, faces)
    lo = verts.min(0)[0]
    key3 = ((verts - lo) / cell).floor().long()
    dims = key3.max(0)[0] + 1
    key = (key3[:, 0] * dims[1] + key3[:, 1]) * dims[2] + key3[:, 2]
    ukey, cid = torch.unique(key, return_inverse=True)
    nc = ukey.numel()
    q = torch.zeros(nc, 4, 4, device=dev, dtype=torch.float64)
    qd = quadrics.double()
    for k in range(3):
        q.index_add_(0, cid[faces[:, k]], qd)
    cnt = torch.zeros(nc, device=dev, dtype=torch.float64).index_add_(0, cid, torch.ones_like(cid, dtype=torch.float64))
    mean = torch.zeros(nc, 3, device=dev, dtype=torch.float64).index_add_(0, cid, verts.double()) / cnt[:, None]
    A, b = q[:, :3, :3], q[:, :3, 3]
    # Regularise toward the bucket mean so flat or degenerate buckets stay well posed.
    lam = (1e-3 * torch.diagonal(A, dim1=-2, dim2=-1).sum(-1) / 3.0 + 1e-12)[:, None]
    eye = torch.eye(3, device=dev, dtype=torch.float64)
    x = torch.linalg.solve(A + lam[..., None] * eye, (-b + lam * mean)[..., None])[..., 0]
    cell_lo = torch.stack([ukey // (dims[1] * dims[2]), (ukey // dims[2]) % dims[1], ukey % dims[2]], -1).double() * cell + lo.double()
    x = torch.minimum(torch.maximum(x, cell_lo), cell_lo + cell)
    nf = cid[faces]
    ok = (nf[:, 0] != nf[:, 1]) & (nf[:, 1] != nf[:, 2]) & (nf[:, 0] != nf[:, 2])
    nf = nf[ok]
    # Drop duplicate triangles (same three buckets), keeping the first one's winding.
    s = nf.sort(1)[0]
    k = (s[:, 0] * nc + s[:, 1]) * nc + s[:, 2]
    _, inv = torch.unique(k, return_inverse=True)
    first = torch.full((int(inv.max()) + 1 if inv.numel() else 0,), nf.shape[0], device=dev, dtype=torch.int64)
    first.scatter_reduce_(0, inv, torch.arange(nf.shape[0], device=dev), reduce="amin")
    nf = nf[first]
    return compact(x.float(), nf)


def decimate_to(verts, faces, target, tol=0.05, iters=30):
    """Bisects the cluster size until the face count is within tol of target (or below it)."""
    if faces.shape[0] <= target:
        return verts, faces, 0.0
    q = face_quadrics(verts, faces)
    ext = float((verts.max(0)[0] - verts.min(0)[0]).max())
    lo, hi = ext * 1e-5, ext / 4.0
    best = None
    for _ in range(iters):
        mid = (lo * hi) ** 0.5
        v, f = cluster_decimate(verts, faces, mid, q)
        nf = f.shape[0]
        if nf > target:
            lo = mid
        else:
            hi = mid
            best = (v, f, mid)
            if nf >= target * (1.0 - tol):
                break
    if best is None:
        v, f = cluster_decimate(verts, faces, hi, q)
        best = (v, f, hi)
    return best


def write_ply(path, verts, faces):
    """Binary little-endian PLY: float32 x,y,z and uchar-counted int32 triangles."""
    v = verts.detach().cpu().numpy().astype("<f4")
    f = faces.detach().cpu().numpy().astype("<i4")
    header = ("ply\nformat binary_little_endian 1.0\nelement vertex %d\n"
              "property float x\nproperty float y\nproperty float z\n"
              "element face %d\nproperty list uchar int vertex_indices\nend_header\n" % (len(v), len(f)))
    rec = np.zeros(len(f), dtype=[("n", "u1"), ("i", "<i4", (3,))])
    rec["n"] = 3
    rec["i"] = f
    with open(path, "wb") as fh:
        fh.write(header.encode("ascii"))
        fh.write(v.tobytes())
        fh.write(rec.tobytes())


def read_ply(path):
    """Reads what write_ply writes (binary little-endian, xyz float + triangle lists)."""
    with open(path, "rb") as fh:
        data = fh.read()
    end = data.index(b"end_header\n") + len(b"end_header\n")
    header = data[:end].decode("ascii").splitlines()
    if "format binary_little_endian 1.0" not in header:
        raise ValueError("%s: only binary little-endian PLY is supported" % path)
    nv = nf = 0
    vprops = []
    cur = None
    for line in header:
        parts = line.split()
        if parts[:2] == ["element", "vertex"]:
            nv, cur = int(parts[2]), "v"
        elif parts[:2] == ["element", "face"]:
            nf, cur = int(parts[2]), "f"
        elif parts[:1] == ["property"] and cur == "v":
            vprops.append(parts[1])
    if vprops != ["float"] * 3:
        raise ValueError("%s: expected exactly float x,y,z vertex properties, got %s" % (path, vprops))
    v = np.frombuffer(data, dtype="<f4", count=nv * 3, offset=end).reshape(nv, 3)
    rec = np.frombuffer(data, dtype=[("n", "u1"), ("i", "<i4", (3,))], count=nf, offset=end + nv * 12)
    if nf and not (rec["n"] == 3).all():
        raise ValueError("%s: only triangles are supported" % path)
    return torch.from_numpy(v.copy()), torch.from_numpy(rec["i"].astype(np.int64))
