"""Stage 3: distil the factorised light field on the stage-2 mesh, quantise, export the asset.

    python3 distill.py --data .data/lego_400 --mesh .work/lightfield/lego/mesh.ply \
        --teacher .work/lightfield/lego/teacher_fp16 --out .work/lightfield/lego/lf32 --k 32 --patch 1

colour_c = sigmoid(bias_c + sum_j f_{c,j}(x) beta_j(d)), d = normalize(x - eye)  (docs/lightfield-asset.md)

1. Views: the training photos plus dense novel views rendered by the teacher (lego: random
   cameras on the training cameras' sphere band looking at the origin; LLFF: cameras between and
   slightly beyond pairs of training cameras). Held-out views are never used.
2. Samples: each view's pixels are rasterised (rasterize.py); a pixel's ray is intersected with
   the plane of its triangle for the exact (perspective-correct) barycentrics, which give the
   atlas coordinates and so the texel, exactly as the renderer's nearest lookup picks it.
3. Stage A (float): per-texel features f [texels, 3k] (free parameters, nearest lookups from the
   start) and beta(d) as a small MLP on the view direction (smooth, so it generalises between
   views); Adam, MSE on colour.
4. Stage B (8-bit): beta baked onto the octahedral grid's texel centres; per-channel ranges from
   robust percentiles; then f and the beta grid are fine-tuned with the 8-bit quantisation
   simulated (straight-through rounding) and the same nearest direction lookup as the shader.
5. Export with export_asset.write_asset (the bytes are exactly the simulated quantisation).

The run saves a checkpoint after each stage and every --ckpt-every iterations, and resumes from
it; --max-minutes cuts the stages short by wall clock (the log says so) so the asset is always
written.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn

import atlas as atl
from common import Log, atomic_save, describe_env, pick_device, psnr, torch_load
from datasets import load_scene, ndc_rays, pixel_rays
from export_asset import oct_texel_dirs, pack_layers, write_asset
from mesh_ops import decimate_to, read_ply
from rasterize import rasterize

DIR_FRAME = np.diag([1.0, -1.0, -1.0])  # local +z (map centre) = world -z: where the rays point


# ---- shared lookups (same float32 arithmetic as render_asset / the shader) -----------------


def oct_texel_torch(d, R, N):
    l = d.float() @ R.T
    l = l / l.abs().sum(-1, keepdim=True)
    px, py, pz = l.unbind(-1)
    sx = torch.where(px >= 0, torch.ones_like(px), -torch.ones_like(px))
    sy = torch.where(py >= 0, torch.ones_like(py), -torch.ones_like(py))
    qx = torch.where(pz >= 0, px, (1.0 - py.abs()) * sx)
    qy = torch.where(pz >= 0, py, (1.0 - px.abs()) * sy)
    i = torch.floor((qx * 0.5 + 0.5) * N).clamp(0, N - 1).long()
    j = torch.floor((qy * 0.5 + 0.5) * N).clamp(0, N - 1).long()
    return j * N + i


def ray_plane(o, d, P):
    """World point where rays (o, d) [n,3] meet the planes of triangles P [n,3,3]."""
    P, od, dd = P.double(), o.double(), d.double()
    nrm = torch.cross(P[:, 1] - P[:, 0], P[:, 2] - P[:, 0], dim=-1)
    den = (nrm * dd).sum(-1)
    den = torch.where(den.abs() < 1e-30, torch.full_like(den, 1e-30), den)
    t = (nrm * (P[:, 0] - od)).sum(-1) / den
    return (od + t[:, None] * dd).float()


def texel_index(x, fid, tri_pos, tri_uv, W, H):
    """Texel j*W+i that the renderer's nearest lookup reads at world point x on triangle fid: the
    perspective-correct barycentrics of x are its 3-D barycentrics in the triangle."""
    P = tri_pos[fid].double()
    e1, e2, v2 = P[:, 1] - P[:, 0], P[:, 2] - P[:, 0], x.double() - P[:, 0]
    d00, d01, d11 = (e1 * e1).sum(-1), (e1 * e2).sum(-1), (e2 * e2).sum(-1)
    d20, d21 = (v2 * e1).sum(-1), (v2 * e2).sum(-1)
    dn = d00 * d11 - d01 * d01
    dn = torch.where(dn.abs() < 1e-300, torch.full_like(dn, 1e-300), dn)
    b1 = (d11 * d20 - d01 * d21) / dn
    b2 = (d00 * d21 - d01 * d20) / dn
    b = torch.stack([1 - b1 - b2, b1, b2], -1).clamp(0, 1)
    b = b / b.sum(-1, keepdim=True)
    st = (b.float()[..., None] * tri_uv[fid]).sum(1)
    i = torch.floor(st[:, 0] * W).clamp(0, W - 1).long()
    j = torch.floor(st[:, 1] * H).clamp(0, H - 1).long()
    return j * W + i


def texel_of_bary(t, bary, tri_uv, W, H):
    """Texel read at barycentric point `bary` [n,3] of triangles t [n] (new order)."""
    st = (bary[..., None] * tri_uv[t]).sum(1)
    i = torch.floor(st[:, 0] * W).clamp(0, W - 1).long()
    j = torch.floor(st[:, 1] * H).clamp(0, H - 1).long()
    return j * W + i


def texel_pairs(faces, P, tri_uv, W, H):
    """Pairs [n,2] of neighbouring texels for the smoothness penalty: (1) inside a triangle, texels
    read at neighbouring points of a barycentric lattice of step 1/(2P); (2) across every edge two
    triangles share, the texels each one reads at 1/4, 1/2, 3/4 along it. faces [T,3] (vertex ids),
    P [T] and tri_uv [T,3,2] in the atlas order. Pairs of one texel with itself are dropped."""
    dev = faces.device
    out = []
    for p in sorted(set(P.tolist())):
        if p < 2:
            continue
        t = torch.nonzero(P == p)[:, 0]
        n = 2 * p
        ij = [(i, j) for i in range(n + 1) for j in range(n + 1 - i)]
        idx = {q: k for k, q in enumerate(ij)}
        b = torch.tensor([[1 - (i + j) / n, i / n, j / n] for i, j in ij], device=dev, dtype=torch.float32)
        tex = texel_of_bary(t.repeat_interleave(len(ij)), b.repeat(t.numel(), 1), tri_uv, W, H).view(-1, len(ij))
        nb = []
        for (i, j), k in idx.items():
            for q in ((i + 1, j), (i, j + 1), (i + 1, j - 1)):
                if q in idx:
                    nb.append((k, idx[q]))
        nb = torch.tensor(nb, device=dev)
        out.append(torch.stack([tex[:, nb[:, 0]].reshape(-1), tex[:, nb[:, 1]].reshape(-1)], -1))
    T = faces.shape[0]
    loc = torch.tensor([[0, 1], [1, 2], [2, 0]], device=dev)
    va, vb = faces[:, loc[:, 0]].reshape(-1), faces[:, loc[:, 1]].reshape(-1)
    lo, hi = torch.minimum(va, vb), torch.maximum(va, vb)
    key = lo * (int(faces.max()) + 1) + hi
    key, perm = key.sort()
    same = torch.nonzero(key[1:] == key[:-1])[:, 0]
    e1, e2 = perm[same], perm[same + 1]  # edge slots (face*3 + local edge)

    def side(e, s):
        f, le = e // 3, e % 3
        a, b = loc[le, 0], loc[le, 1]
        bary = torch.zeros(e.numel(), 3, device=dev)
        a_is_lo = (faces[f, a] < faces[f, b]).float()
        bary[torch.arange(e.numel(), device=dev), a] = a_is_lo * (1 - s) + (1 - a_is_lo) * s
        bary[torch.arange(e.numel(), device=dev), b] = a_is_lo * s + (1 - a_is_lo) * (1 - s)
        return texel_of_bary(f, bary, tri_uv, W, H)
    for s in (0.25, 0.5, 0.75):
        out.append(torch.stack([side(e1, s), side(e2, s)], -1))
    pr = torch.cat(out)
    pr = pr[pr[:, 0] != pr[:, 1]]
    pr = torch.stack([pr.min(1)[0], pr.max(1)[0]], -1)
    return torch.unique(pr, dim=0)


# ---- cameras ---------------------------------------------------------------------------------


def look_at(eye, target, up):
    f = target - eye
    f = f / np.linalg.norm(f)
    r = np.cross(f, up)
    r = r / np.linalg.norm(r)
    u = np.cross(r, f)
    m = np.eye(4, dtype=np.float32)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = r, u, -f, eye
    return m


def novel_poses(scene, n, seed=0):
    rng = np.random.default_rng(seed)
    c2w = scene["c2w"][scene["views"]]
    pos = c2w[:, :3, 3]
    if scene["layout"] == "blender":
        r = float(np.linalg.norm(pos, axis=1).mean())
        el = np.arcsin(np.clip(pos[:, 2] / np.linalg.norm(pos, axis=1), -1, 1))
        zlo, zhi = np.sin(el.min()), np.sin(el.max())
        out = []
        for _ in range(n):
            z = rng.uniform(zlo, zhi)
            phi = rng.uniform(0, 2 * np.pi)
            e = r * np.array([math.sqrt(1 - z * z) * math.cos(phi), math.sqrt(1 - z * z) * math.sin(phi), z])
            out.append(look_at(e.astype(np.float32), np.zeros(3, np.float32), np.array([0, 0, 1], np.float32)))
        return np.stack(out)
    out = []
    for _ in range(n):
        i, j = rng.choice(len(c2w), 2, replace=False)
        a = rng.uniform(-0.25, 1.25)
        m = (1 - a) * c2w[i] + a * c2w[j]
        u, _, vt = np.linalg.svd(m[:3, :3])
        m[:3, :3] = u @ vt
        m[:3, 3] += rng.normal(0, 0.02, 3)
        out.append(m.astype(np.float32))
    return np.stack(out)


# ---- the light field -------------------------------------------------------------------------


def pe(x, n):
    bands = 2.0 ** torch.arange(n, device=x.device, dtype=x.dtype)
    p = (x[..., None] * bands).reshape(*x.shape[:-1], -1)
    return torch.cat([x, torch.sin(p), torch.cos(p)], -1)


class DirMLP(nn.Module):
    def __init__(self, k, freqs=4, hidden=128):
        super().__init__()
        self.freqs = freqs
        self.net = nn.Sequential(nn.Linear(3 + 6 * freqs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, k))

    def forward(self, d):
        return self.net(pe(d, self.freqs))


def fake_quant(x, lo, scale):
    q = torch.round(((x - lo) / scale).clamp(0, 1) * 255.0) / 255.0 * scale + lo
    return x + (q - x).detach()


def to_bytes(x, lo, scale):
    return torch.round(((x - lo) / scale).clamp(0, 1) * 255.0).to(torch.uint8)


# ---- main ------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--mesh", required=True)
    ap.add_argument("--teacher", default="", help="teacher shard prefix; empty = photos only")
    ap.add_argument("--out", required=True)
    ap.add_argument("--asset", default="", help="asset path (default OUT/NAME.fvlf)")
    ap.add_argument("--name", default="")
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--patch", type=int, default=0, help="one patch size for all triangles; 0 = per triangle, from its footprint")
    ap.add_argument("--texels", type=int, default=300000, help="atlas texel budget (patch 0)")
    ap.add_argument("--pmax", type=int, default=8, help="largest patch size (patch 0)")
    ap.add_argument("--target-tris", type=int, default=0, help="decimate to at most this many (0 = keep)")
    ap.add_argument("--dir-res", type=int, default=256)
    ap.add_argument("--novel", type=int, default=300, help="teacher-rendered novel views")
    ap.add_argument("--views-cache", default="", help="file keeping the teacher's novel views (shared by runs); 'none' = keep none")
    ap.add_argument("--photo-weight", type=float, default=1.0, help="loss weight of photo pixels vs teacher pixels")
    ap.add_argument("--dilate", type=float, default=0.0, help="offset vertices outward by this (scene units)")
    ap.add_argument("--drop-unseen", action="store_true", help="drop triangles no view ever hits")
    ap.add_argument("--cache-samples", action="store_true", help="keep the pixel samples on disk for a resume")
    ap.add_argument("--llff-background", default="black", choices=["black", "mean"],
                    help="LLFF: colour of pixels no triangle covers (mean = mean colour of the training photos)")
    ap.add_argument("--smooth", type=float, default=0.0,
                    help="weight of a smoothness penalty between neighbouring texels (same triangle or across a shared edge)")
    ap.add_argument("--smooth-batch", type=int, default=1 << 18, help="texel pairs per iteration for --smooth")
    ap.add_argument("--val-novel", type=int, default=0,
                    help="extra teacher-rendered novel views (another seed) kept out of training: their PSNR against the "
                         "teacher is logged, for choosing settings without the held-out photos")
    ap.add_argument("--far-cap", type=float, default=0.0, help="LLFF: pull vertices farther than this toward the origin")
    ap.add_argument("--iters-a", type=int, default=8000)
    ap.add_argument("--iters-b", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=1 << 18)
    ap.add_argument("--lr-f", type=float, default=1e-2)
    ap.add_argument("--lr-mlp", type=float, default=2e-3)
    ap.add_argument("--lr-b", type=float, default=2e-3, help="stage B learning rate of f (beta grid: x 0.5)")
    ap.add_argument("--clip-pct", type=float, default=0.02, help="percent clipped at each end of a channel's range")
    ap.add_argument("--downscale", type=int, default=1)
    ap.add_argument("--train-views", type=int, default=0, help="0 = all (smaller for smoke tests)")
    ap.add_argument("--eval-views", type=int, default=0, help="views of the held-out split for the log, 0 = all")
    ap.add_argument("--max-minutes", type=float, default=0.0)
    ap.add_argument("--reserve-minutes", type=float, default=0.6, help="kept for baking + export")
    ap.add_argument("--ckpt-every", type=int, default=2000)
    ap.add_argument("--log-every", type=int, default=250)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    t_start = time.time()
    os.makedirs(args.out, exist_ok=True)
    log = Log(os.path.join(args.out, "distill.log"))
    dev = pick_device(args.device)
    describe_env(log)
    log("args: %s" % json.dumps(vars(args)))
    torch.manual_seed(args.seed)
    k, N = args.k, args.dir_res
    deadline = t_start + 60.0 * args.max_minutes if args.max_minutes > 0 else float("inf")
    reserve = 60.0 * args.reserve_minutes

    def out_of_time():
        return time.time() > deadline - reserve

    scene = load_scene(args.data, "train", args.downscale)
    name = args.name or os.path.basename(os.path.normpath(args.data)).split("_")[0]
    H, Wimg, focal = scene["H"], scene["W"], scene["focal"]
    blender = scene["layout"] == "blender"
    if scene["layout"] == "llff" and args.downscale != 1:
        raise ValueError("LLFF scenes are used at images_8 resolution (no --downscale)")
    R = torch.tensor(DIR_FRAME, dtype=torch.float32, device=dev)

    # ---- mesh and atlas ---------------------------------------------------------------------
    verts, faces = read_ply(args.mesh)
    verts, faces = verts.float(), faces.long()
    n0 = faces.shape[0]
    if args.target_tris and faces.shape[0] > args.target_tris:
        t0 = time.time()
        verts, faces, _ = decimate_to(verts.to(dev), faces.to(dev), args.target_tris)
        verts, faces = verts.cpu(), faces.cpu()
        log("decimated %d -> %d triangles (%d vertices) in %.1f s" % (n0, faces.shape[0], verts.shape[0], time.time() - t0))
    if args.far_cap > 0:
        dist = verts.norm(dim=-1)
        far = dist > args.far_cap
        verts[far] = verts[far] * (args.far_cap / dist[far])[:, None]
        log("pulled %d far vertices in to distance %.1f" % (int(far.sum()), args.far_cap))
    if args.dilate > 0:
        # move vertices outward along their area-weighted normals (oriented by the signed volume):
        # a missed object pixel costs more than a covered background one, whose texel can learn
        # the blend (lego: 0.002 halves the training views' missed pixels)
        fn = torch.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]], dim=-1)
        vn = torch.zeros_like(verts)
        for i in range(3):
            vn.index_add_(0, faces[:, i], fn)
        vn = vn / vn.norm(dim=-1, keepdim=True).clamp(min=1e-12)
        vol = float((verts[faces[:, 0]] * torch.cross(verts[faces[:, 1]], verts[faces[:, 2]], dim=-1)).sum()) / 6.0
        verts = verts + (args.dilate if vol >= 0 else -args.dilate) * vn
        log("dilated the mesh by %.4f along vertex normals (signed volume %.4f)" % (args.dilate, vol))
    # drop degenerate faces (zero area after capping/decimation)
    area = torch.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]], dim=-1).norm(dim=-1)
    faces = faces[area > 1e-12]
    T = faces.shape[0]
    v_d, f_d = verts.to(dev), faces.to(dev)
    tri_pos0 = v_d[f_d]  # [T,3,3], original face order

    def view_hits(c2w):
        """Rasterise one view: hit mask [HW], face id (original order), world point x, direction."""
        c2w_t = torch.as_tensor(c2w, device=dev)
        _, fid = rasterize(v_d, f_d, c2w_t, H, Wimg, focal)
        fid = fid.reshape(-1)
        o, d = pixel_rays(H, Wimg, focal, c2w_t)
        hit = fid >= 0
        x = ray_plane(o[hit], d[hit], tri_pos0[fid[hit]])
        dd = x - o[hit]
        dd = dd / dd.norm(dim=-1, keepdim=True)
        return hit, fid[hit], x, dd

    # ---- samples (cached) -------------------------------------------------------------------
    samples_path = os.path.join(args.out, "samples.pt")
    val_views = []
    if args.cache_samples and os.path.exists(samples_path):
        S = torch_load(samples_path)
        log("samples: %d from %s" % (S["fid"].numel(), samples_path))
    else:
        t0 = time.time()
        views = scene["views"][:args.train_views] if args.train_views > 0 else scene["views"]
        cams = [(scene["c2w"][v], torch.as_tensor(scene["rgb"][v]).reshape(-1, 3), 1) for v in views]
        cache = "" if args.views_cache == "none" else args.views_cache
        if cache and os.path.exists(cache):
            nv = torch_load(cache)
            for c2w, rgb in zip(nv["c2w"], nv["rgb"]):
                cams.append((c2w, rgb.float().reshape(-1, 3) / 255.0, 0))
            val_views = list(zip(nv.get("val_c2w", []), nv.get("val_rgb", [])))[:args.val_novel]
            log("novel views: %d (+%d validation) from %s" % (len(nv["c2w"]), len(val_views), cache))
        elif args.teacher and (args.novel > 0 or args.val_novel > 0):
            from teacher_int8 import load_teacher_any
            teacher = load_teacher_any(args.teacher, dev).eval()

            def render(c2w):
                o, d = pixel_rays(H, Wimg, focal, torch.as_tensor(c2w, device=dev))
                if not blender:
                    o, d = ndc_rays(H, Wimg, focal, scene["ndc_near"], o, d)
                rgb = teacher.render_chunked(o, d, 16384, white_bg=blender)["rgb"].cpu()
                return (rgb * 255).round().byte()
            poses, imgs = novel_poses(scene, args.novel, args.seed), []
            for c2w in poses:
                imgs.append(render(c2w))
                cams.append((c2w, imgs[-1].float() / 255.0, 0))
            # validation views: another seed, never trained on
            vposes = novel_poses(scene, args.val_novel, args.seed + 1000) if args.val_novel > 0 else []
            val_views = [(c2w, render(c2w)) for c2w in vposes]
            del teacher
            if dev.type == "cuda":
                torch.cuda.empty_cache()
            if cache:
                atomic_save(dict(c2w=poses, rgb=imgs, val_c2w=[v[0] for v in val_views], val_rgb=[v[1] for v in val_views]), cache)
            log("teacher rendered %d novel views (+%d validation) in %.1f s" % (args.novel, len(val_views), time.time() - t0))
        fids, xs, dirs, rgbs, src = [], [], [], [], []
        footprint = torch.zeros(T, dtype=torch.int64, device=dev)
        missed = 0
        for c2w, rgb, is_photo in cams:
            hit, fid, x, dd = view_hits(c2w)
            footprint = torch.maximum(footprint, torch.bincount(fid, minlength=T))
            fids.append(fid.int().cpu())
            xs.append(x.cpu())
            dirs.append(dd.half().cpu())
            rgbs.append((rgb[hit.cpu()] * 255).round().byte())
            src.append(torch.full((fid.numel(),), is_photo, dtype=torch.uint8))
            if blender:  # object pixels (not white) the mesh misses
                missed += int(((rgb[~hit.cpu()] < 0.9).any(-1)).sum())
        S = dict(fid=torch.cat(fids), x=torch.cat(xs), dir=torch.cat(dirs), rgb=torch.cat(rgbs), photo=torch.cat(src),
                 footprint=footprint.cpu())
        if args.cache_samples:
            atomic_save(S, samples_path)
        log("samples: %d pixels hit from %d views (%d photos); %.3f%% of pixels are object pixels the mesh misses; %.1f s"
            % (S["fid"].numel(), len(cams), sum(c[2] for c in cams), 100.0 * missed / (len(cams) * H * Wimg), time.time() - t0))

    # ---- atlas: patch size per triangle from its largest footprint, within the texel budget ----
    fp = S["footprint"].numpy()
    if args.drop_unseen:
        # triangles no pixel of any training or novel view hits are hidden (behind others) from
        # everywhere the views reach: drop them from the mesh (forward-facing scenes)
        keep = torch.as_tensor(fp > 0)
        kept_of_old = torch.cumsum(keep.long(), 0) - 1
        faces = faces[keep]
        f_d = f_d[keep.to(dev)]
        tri_pos0 = tri_pos0[keep.to(dev)]
        S["fid"] = kept_of_old[S["fid"].long()].int()
        fp = fp[fp > 0]
        log("dropped %d never-seen triangles, %d kept" % (T - faces.shape[0], faces.shape[0]))
        T = faces.shape[0]
    if args.patch > 0:
        P = np.full(T, args.patch, dtype=np.int64)
        alpha, used = 0.0, (T + 1) // 2 * args.patch * (args.patch + 1)
    else:
        P, alpha, used = atl.choose_patch_sizes(fp, args.texels, args.pmax)
    lay = atl.build_layout(verts.numpy(), faces.numpy(), P)
    W, Ha = lay["W"], lay["H"]
    ntex = W * Ha
    order = torch.as_tensor(lay["order"], device=dev)
    new_of_old = torch.empty_like(order)
    new_of_old[order] = torch.arange(T, device=dev)
    tri_pos = tri_pos0[order].contiguous()
    tri_uv = torch.as_tensor(lay["uv"], device=dev)
    hist = np.bincount(lay["P"], minlength=args.pmax + 1)
    log("mesh: %d triangles (%d never seen); atlas %dx%d = %d texels (%d in patches, budget %d), %.2f texels per footprint pixel;"
        " triangles per patch size %s; direction map %dx%d; k=%d"
        % (T, int((fp == 0).sum()), W, Ha, ntex, used, args.texels, alpha,
           {p: int(hist[p]) for p in range(1, len(hist)) if hist[p]}, N, N, k))

    def texels_of(fid_old, x):
        return texel_index(x, new_of_old[fid_old.long()], tri_pos, tri_uv, W, Ha)

    s_tex = torch.cat([texels_of(S["fid"][i:i + (1 << 22)].to(dev), S["x"][i:i + (1 << 22)].to(dev))
                       for i in range(0, S["fid"].numel(), 1 << 22)])
    s_dir = S["dir"].to(dev).float()
    s_rgb = S["rgb"].to(dev).float() / 255.0
    s_w = torch.where(S["photo"].to(dev) > 0, torch.tensor(args.photo_weight, device=dev), torch.tensor(1.0, device=dev))
    n_s = s_tex.numel()
    hits = torch.bincount(s_tex, minlength=ntex)
    seen = hits > 0
    log("texels seen: %d of %d (%.1f%%); median hits per seen texel %d"
        % (int(seen.sum()), used, 100.0 * float(seen.sum()) / max(1, used), int(hits[seen].median()) if seen.any() else 0))

    if args.smooth > 0:
        t0 = time.time()
        pairs = texel_pairs(f_d[order], torch.as_tensor(lay["P"], device=dev), tri_uv, W, Ha)
        log("smoothness: %d neighbouring texel pairs, weight %g, %.1f s" % (pairs.shape[0], args.smooth, time.time() - t0))

    def smooth_loss():
        if args.smooth <= 0:
            return 0.0
        pi = pairs[torch.randint(0, pairs.shape[0], (args.smooth_batch,), device=dev)]
        return args.smooth * ((F[pi[:, 0]] - F[pi[:, 1]]) ** 2).mean()

    # ---- eval views (held-out split), for the log ----------------------------------------------
    ev_scene = load_scene(args.data, "val" if blender else "test", args.downscale)
    ev_views = ev_scene["views"][:args.eval_views] if args.eval_views > 0 else ev_scene["views"]
    ev = []
    for v in ev_views:
        hit, fid, x, dd = view_hits(ev_scene["c2w"][v])
        ev.append((hit, texels_of(fid, x), dd, torch.as_tensor(ev_scene["rgb"][v], device=dev).reshape(-1, 3)))
    if blender:
        bg = torch.ones(3, device=dev)
    elif args.llff_background == "mean":
        bg = torch.as_tensor(np.stack([scene["rgb"][v] for v in scene["views"]]).reshape(-1, 3).mean(0), device=dev).float()
        log("background colour (mean of the training photos): %s" % [round(float(x), 4) for x in bg])
    else:
        bg = torch.zeros(3, device=dev)

    vv = []
    for c2w, rgb in val_views:
        hit, fid, x, dd = view_hits(c2w)
        vv.append((hit, texels_of(fid, x), dd, rgb.to(dev).float().reshape(-1, 3) / 255.0))

    def evaluate(colour_fn, views=None):
        ps = []
        with torch.no_grad():
            for hit, tx, dd, gt in (ev if views is None else views):
                img = bg.expand(H * Wimg, 3).clone()
                img[hit] = colour_fn(tx, dd)
                ps.append(psnr(((img - gt) ** 2).mean().item()))
        return float(np.mean(ps))

    # ---- checkpoint --------------------------------------------------------------------------
    ck_path = os.path.join(args.out, "distill_ckpt.pt")
    F = torch.zeros(ntex, 3 * k, device=dev)
    mlp = DirMLP(k).to(dev)
    bias = torch.zeros(3, device=dev)
    grid = None
    ranges = None
    stage, it0 = "A", 0
    optstate = None
    if os.path.exists(ck_path):
        ck = torch_load(ck_path)
        F = ck["F"].to(dev)
        mlp.load_state_dict(ck["mlp"])
        bias = ck["bias"].to(dev)
        grid = ck["grid"].to(dev) if ck["grid"] is not None else None
        ranges = {key: val.to(dev) for key, val in ck["ranges"].items()} if ck["ranges"] else None
        stage, it0, optstate = ck["stage"], ck["it"], ck["opt"]
        log("resumed: stage %s, iteration %d" % (stage, it0))
    else:
        F.normal_(0, 0.1)

    def save(stage_, it_, opt_):
        atomic_save(dict(F=F.detach().cpu(), mlp=mlp.state_dict(), bias=bias.detach().cpu(),
                         grid=None if grid is None else grid.detach().cpu(),
                         ranges=None if ranges is None else {a: b.cpu() for a, b in ranges.items()},
                         stage=stage_, it=it_, opt=None if opt_ is None else opt_.state_dict()), ck_path)

    def colour_float(tx, dd):
        beta = mlp(dd)
        z = (F[tx].view(-1, 3, k) * beta[:, None, :]).sum(-1) + bias
        return torch.sigmoid(z)

    timing = {}
    # ---- stage A -----------------------------------------------------------------------------
    if stage == "A":
        F.requires_grad_(True)
        bias.requires_grad_(True)
        opt = torch.optim.Adam([dict(params=[F], lr=args.lr_f), dict(params=list(mlp.parameters()) + [bias], lr=args.lr_mlp)],
                               betas=(0.9, 0.99))
        if optstate is not None:
            opt.load_state_dict(optstate)
        t0 = time.time()
        it = it0
        while it < args.iters_a:
            frac = it / max(1, args.iters_a)
            for g, base in zip(opt.param_groups, (args.lr_f, args.lr_mlp)):
                g["lr"] = base * (0.1 ** frac)
            idx = torch.randint(0, n_s, (args.batch,), device=dev)
            pred = colour_float(s_tex[idx], s_dir[idx])
            mse = ((pred - s_rgb[idx]) ** 2 * s_w[idx, None]).mean()
            sm = smooth_loss()
            loss = mse + sm
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            it += 1
            if it % args.log_every == 0 or it == args.iters_a:
                log("A it %d loss %.6f (train psnr ~%.2f) lr %.2e %.1f it/s%s" % (
                    it, mse.item(), psnr(mse.item()), opt.param_groups[0]["lr"], (it - it0) / (time.time() - t0),
                    " smooth term %.6f" % float(sm.detach()) if args.smooth > 0 else ""))
            if it % args.ckpt_every == 0:
                save("A", it, opt)
            if out_of_time():
                log("STOPPED EARLY: stage A cut at iteration %d of %d by the wall clock" % (it, args.iters_a))
                break
        F.requires_grad_(False)
        bias.requires_grad_(False)
        timing["stage_a_s"] = time.time() - t0
        p_a = evaluate(colour_float)
        if vv:
            log("stage A: validation novel views (teacher, never trained on) PSNR %.3f dB" % evaluate(colour_float, vv))
        log("stage A done: %d iterations, %.1f s; held-out PSNR (float, MLP beta) %.3f dB" % (it, timing["stage_a_s"], p_a))
        # unseen texels -> channel median (never drawn; compresses well)
        med = F[seen].median(0)[0]
        F[~seen] = med
        # bake beta on the grid
        with torch.no_grad():
            dirs = torch.as_tensor(oct_texel_dirs(DIR_FRAME, N).reshape(-1, 3), device=dev)
            grid = torch.cat([mlp(dirs[i:i + 65536]) for i in range(0, dirs.shape[0], 65536)])
        stage, it0, optstate = "B0", 0, None
        save(stage, 0, None)

    s_dtex = oct_texel_torch(s_dir, R, N)

    if stage == "B0":
        # per-channel ranges from robust percentiles (seen texels; observed direction texels)
        def prange(x, pct):
            x = x.float()
            if x.shape[0] > 1 << 20:
                x = x[torch.randperm(x.shape[0], device=x.device)[:1 << 20]]
            xs = x.sort(0)[0]  # (torch.quantile refuses inputs above 2^24 elements)
            n = xs.shape[0]
            lo = xs[int(round(pct / 100.0 * (n - 1)))]
            hi = xs[int(round((1 - pct / 100.0) * (n - 1)))]
            hi = torch.maximum(hi, lo + 1e-6)
            return lo, hi - lo
        flo, fsc = prange(F[seen], args.clip_pct)
        dseen = torch.bincount(s_dtex, minlength=N * N) > 0
        blo, bsc = prange(grid[dseen], args.clip_pct)
        ranges = dict(flo=flo, fsc=fsc, blo=blo, bsc=bsc)
        stage = "B"
        save(stage, 0, None)

    def colour_grid(tx, dtx, quant=True):
        f = F[tx]
        b = grid[dtx]
        if quant:
            f = fake_quant(f, ranges["flo"], ranges["fsc"])
            b = fake_quant(b, ranges["blo"], ranges["bsc"])
        z = (f.view(-1, 3, k) * b[:, None, :]).sum(-1) + bias
        return torch.sigmoid(z)

    if stage == "B":
        p_grid = evaluate(lambda tx, dd: colour_grid(tx, oct_texel_torch(dd, R, N), quant=False))
        p_q0 = evaluate(lambda tx, dd: colour_grid(tx, oct_texel_torch(dd, R, N), quant=True))
        log("before fine-tuning: held-out PSNR with the beta grid %.3f dB, 8-bit %.3f dB" % (p_grid, p_q0))
        F.requires_grad_(True)
        grid.requires_grad_(True)
        bias.requires_grad_(True)
        opt = torch.optim.Adam([dict(params=[F], lr=args.lr_b), dict(params=[grid], lr=0.5 * args.lr_b),
                                dict(params=[bias], lr=0.5 * args.lr_b)], betas=(0.9, 0.99))
        if optstate is not None:
            opt.load_state_dict(optstate)
        t0 = time.time()
        it = it0
        while it < args.iters_b:
            frac = it / max(1, args.iters_b)
            for g, base in zip(opt.param_groups, (args.lr_b, 0.5 * args.lr_b, 0.5 * args.lr_b)):
                g["lr"] = base * (0.1 ** frac)
            idx = torch.randint(0, n_s, (args.batch,), device=dev)
            pred = colour_grid(s_tex[idx], s_dtex[idx])
            mse = ((pred - s_rgb[idx]) ** 2 * s_w[idx, None]).mean()
            sm = smooth_loss()
            loss = mse + sm
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            it += 1
            if it % args.log_every == 0 or it == args.iters_b:
                log("B it %d loss %.6f (train psnr ~%.2f) %.1f it/s" % (it, mse.item(), psnr(mse.item()), (it - it0) / (time.time() - t0)))
            if it % args.ckpt_every == 0:
                save("B", it, opt)
            if time.time() > deadline - 0.5 * reserve:
                log("STOPPED EARLY: stage B cut at iteration %d of %d by the wall clock" % (it, args.iters_b))
                break
        F.requires_grad_(False)
        grid.requires_grad_(False)
        bias.requires_grad_(False)
        timing["stage_b_s"] = time.time() - t0
        stage = "done"
        save(stage, it, None)

    p_q = evaluate(lambda tx, dd: colour_grid(tx, oct_texel_torch(dd, R, N), quant=True))
    p_val = evaluate(lambda tx, dd: colour_grid(tx, oct_texel_torch(dd, R, N), quant=True), vv) if vv else None
    if vv:
        log("8-bit model: validation novel views (teacher, never trained on) PSNR %.3f dB over %d views" % (p_val, len(vv)))
    log("8-bit model (training-time tensors): held-out PSNR %.3f dB" % p_q)

    # ---- export ------------------------------------------------------------------------------
    t0 = time.time()
    fb = to_bytes(F, ranges["flo"], ranges["fsc"]).cpu().numpy()
    bb = to_bytes(grid, ranges["blo"], ranges["bsc"]).cpu().numpy()
    flo, fhi = ranges["flo"].cpu().numpy(), (ranges["flo"] + ranges["fsc"]).cpu().numpy()
    blo, bhi = ranges["blo"].cpu().numpy(), (ranges["blo"] + ranges["bsc"]).cpu().numpy()
    pos = tri_pos.reshape(-1, 3).cpu().numpy()
    uvs = tri_uv.reshape(-1, 2).cpu().numpy()
    if blender:
        ev_c2w = ev_scene["c2w"][ev_views[0]]
        cam = dict(eye=ev_c2w[:3, 3], target=np.zeros(3), up=(0, 0, 1), fovy=2 * math.atan(0.5 * H / focal),
                   near=0.5, far=20.0)
    else:
        cam = dict(eye=np.zeros(3), target=np.array([0, 0, -1.0]), up=(0, 1, 0), fovy=2 * math.atan(0.5 * H / focal),
                   near=0.2, far=float(np.linalg.norm(pos, axis=1).max() * 2 + 1))
    prov = "\n".join([
        "data: %s (%s, train split%s)" % (args.data, scene["layout"], "" if blender else ": held out " + ",".join(scene["names"][i] for i in scene["test_idx"])),
        "teacher: %s (%d novel views)" % (args.teacher or "none", args.novel if args.teacher else 0),
        "dilate: %g, drop_unseen: %s" % (args.dilate, args.drop_unseen),
        "mesh: %s, %d triangles%s" % (args.mesh, T, " (decimated from %d)" % n0 if T < n0 else ""),
        "recipe: models/lightfield/distill.py k=%d patch=%s texels=%d dir_res=%d iters=%d+%d batch=%d" % (
            k, args.patch or "per-triangle 1..%d" % int(lay["P"].max()), used, N, args.iters_a, args.iters_b, args.batch),
        "psnr_training_tensors: %.3f" % p_q,
        "date: %s" % time.strftime("%Y-%m-%d"),
        "tool: fovea models/lightfield/export_asset.py 1.0"])
    asset_path = args.asset or os.path.join(args.out, "%s.fvlf" % name)
    nbytes = write_asset(asset_path, name=name, k=k, positions=pos, uvs=uvs, triangles=np.arange(3 * T).reshape(T, 3),
                         atlas=pack_layers(fb, Ha, W), atlas_lo=flo, atlas_hi=fhi,
                         dirmap=pack_layers(bb, N, N), dir_lo=blo, dir_hi=bhi, bias=bias.cpu().numpy(),
                         background=(1.0, 1.0, 1.0, 1.0) if blender else tuple(float(x) for x in bg.cpu()) + (1.0,), dir_frame=DIR_FRAME,
                         camera=cam, description="%s light field, k=%d, Re-ReND-style bake of fovea" % (name, k),
                         provenance=prov, patch=int(lay["P"].max()))
    timing["export_s"] = time.time() - t0
    timing["total_s"] = time.time() - t_start
    gpu = 3 * k * W * Ha + k * N * N + 3 * T * 20 + 12 * T
    res = dict(name=name, asset=asset_path, file_bytes=nbytes, triangles=T, k=k, patch=args.patch,
               patch_hist={p: int(hist[p]) for p in range(1, len(hist)) if hist[p]}, texels_in_patches=used, atlas=[W, Ha],
               dir_res=N, gpu_bytes_with_index=gpu, psnr_heldout_training_tensors=p_q, psnr_val_novel=p_val, val_novel_views=len(vv), eval_views=len(ev), timing=timing)
    with open(os.path.join(args.out, "distill.json"), "w") as f:
        json.dump(res, f, indent=1)
    log("wrote %s: %.2f MB; GPU %.2f MB; %s" % (asset_path, nbytes / 1e6, gpu / 1e6, json.dumps(timing)))


if __name__ == "__main__":
    main()
