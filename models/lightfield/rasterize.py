"""Z-buffer triangle rasterizer in PyTorch, with the cameras of datasets.py.

Same pinhole convention as datasets.pixel_rays (OpenGL camera, pixel centres at +0.5), so a
pixel's mesh hit here is the first surface its training ray meets. Used to check meshes
against alpha masks now, and later to find the surface point x(pixel) where the
factorised light field is evaluated during distillation.

Method: each triangle expands into the pixels of its screen bounding box, edge functions
test coverage at pixel centres, depth is interpolated as 1/z (perspective correct), and a
scatter-min builds the z-buffer. Triangles are processed in chunks so memory stays bounded
whatever their screen size.
"""
import torch


def project(verts, c2w, H, W, focal):
    """World points -> (screen x, screen y, view depth z > 0 in front)."""
    R, t = c2w[:3, :3], c2w[:3, 3]
    pc = (verts - t) @ R
    z = -pc[:, 2]
    zs = torch.where(z.abs() < 1e-9, torch.full_like(z, 1e-9), z)
    sx = focal * pc[:, 0] / zs + 0.5 * W
    sy = -focal * pc[:, 1] / zs + 0.5 * H
    return sx, sy, z


def rasterize(verts, faces, c2w, H, W, focal, near=1e-3, max_candidates=1 << 22):
    """Returns (depth [H,W] view-space z, inf where nothing; face id [H,W], -1 where nothing)."""
    dev = verts.device
    sx, sy, z = project(verts, c2w, H, W, focal)
    fz = z[faces]
    front = (fz > near).all(-1)  # triangles crossing the near plane are dropped (none in our scenes)
    fx, fy = sx[faces], sy[faces]
    x0 = torch.ceil(fx.min(-1)[0] - 0.5).clamp(0, W).long()
    x1 = torch.floor(fx.max(-1)[0] - 0.5).clamp(-1, W - 1).long()
    y0 = torch.ceil(fy.min(-1)[0] - 0.5).clamp(0, H).long()
    y1 = torch.floor(fy.max(-1)[0] - 0.5).clamp(-1, H - 1).long()
    nx, ny = (x1 - x0 + 1).clamp(min=0), (y1 - y0 + 1).clamp(min=0)
    cnt = torch.where(front, nx * ny, torch.zeros_like(nx))
    fids = cnt.nonzero()[:, 0]
    cnt = cnt[fids]

    zbuf = torch.full((H * W,), float("inf"), device=dev)
    kept = []
    csum = torch.cumsum(cnt, 0)
    start = 0
    while start < fids.numel():
        base = int(csum[start - 1]) if start > 0 else 0
        end = int(torch.searchsorted(csum, torch.tensor(base + max_candidates, device=dev), right=True))
        end = max(end, start + 1)
        f = fids[start:end]
        c = cnt[start:end]
        fi = torch.repeat_interleave(torch.arange(f.numel(), device=dev), c)
        off = torch.arange(fi.numel(), device=dev) - (torch.cumsum(c, 0) - c)[fi]
        fg = f[fi]
        px = x0[fg] + off % nx[fg]
        py = y0[fg] + off // nx[fg]
        cx, cy = px.float() + 0.5, py.float() + 0.5
        ax, bx, qx = fx[fg, 0], fx[fg, 1], fx[fg, 2]
        ay, by, qy = fy[fg, 0], fy[fg, 1], fy[fg, 2]
        w0 = (bx - cx) * (qy - cy) - (by - cy) * (qx - cx)
        w1 = (qx - cx) * (ay - cy) - (qy - cy) * (ax - cx)
        w2 = (ax - cx) * (by - cy) - (ay - cy) * (bx - cx)
        area = w0 + w1 + w2
        inside = (((w0 >= 0) & (w1 >= 0) & (w2 >= 0)) | ((w0 <= 0) & (w1 <= 0) & (w2 <= 0))) & (area.abs() > 1e-12)
        b0, b1, b2 = w0 / area, w1 / area, w2 / area
        zz = fz[fg]
        depth = 1.0 / (b0 / zz[:, 0] + b1 / zz[:, 1] + b2 / zz[:, 2])
        pix = py * W + px
        pix, depth, fg = pix[inside], depth[inside], fg[inside]
        zbuf.scatter_reduce_(0, pix, depth, reduce="amin")
        kept.append((pix, depth, fg))
        start = end
    fid = torch.full((H * W,), -1, dtype=torch.int64, device=dev)
    for pix, depth, fg in kept:
        win = depth <= zbuf[pix]
        fid[pix[win]] = fg[win]
    return zbuf.view(H, W), fid.view(H, W)
