#!/usr/bin/python3
"""FlyingChairs/Things-style synthetic flow pairs, made on the fly in PyTorch (CPU or GPU).

A pair is 2 to 4 layers composited back to front: a background photo filling the frame, then
foreground objects cut out by a DAVIS mask or a random star/polygon shape, each textured by
another photo. Every layer gets its own motion q = M(p) = c + A (p - c) + t + d(p): a random
affine part A (rotation, scale, a little shear) about a point c, a translation t, and a smooth
deformation d (a coarse random grid, bilinear, Lipschitz < 0.25). Frame 1 samples each layer's
texture and mask at its placement P(p); frame 2 samples them at P(M^-1(q)), where M^-1 is solved
by a fixed-point iteration (10 steps, contraction factor < 0.25: error < 1e-5 px). So the ground
truth flow M(p) - p of the topmost layer at p is exact by construction, and so is occlusion:
p is occluded when the topmost layer at q = M(p) in frame 2 is another one, or q leaves the frame.
Photometric changes come after: contrast, brightness, gamma, colour gains (shared), a small
per-frame brightness/gain drift, Gaussian blur, noise and 8-bit rounding.

Motion regimes per pair: 'small' (background |t| ~ 0-6 px, objects up to ~12 px: Sintel alley
/ bandage) and 'large' (background up to 40 px, objects up to 130 px, some 200 or 260 px:
ambush). Motion blur on half the large pairs and a quarter of the small ones: each layer is
averaged along its own motion over an exposure of 10-70% of the frame interval.
Pixel magnitudes are at Sintel's full 1024-wide scale: train on crops of that scale.

Sweep layers (opt-in, `sweep_frac`, default 0; session 7): in that fraction of the large-motion
pairs one more layer goes on top, made like Sintel's ambush_4 figures, which the network missed: large
(a DAVIS mask or a star/polygon, stretched and scaled to cover ~35-70% of the frame before the
frame's edges cut it), dark and low-contrast (the texture's contrast pulled 40-80% toward its mean,
then a gain of 0.1-0.45, a slight tint on half), moving 100-280 px in any direction with a little
rotation, scale and deformation (the same motion model, so the ground truth stays exact), and
always motion-blurred (the pair's exposure 40-100% of the interval, more taps for long streaks);
on half of them the background barely moves (0-10 px: a still camera). Why opt-in: every draw of
it comes from a third stream, RandomState(seed * 104729 + 71), touched only when sweep_frac > 0,
so with the default the pairs, the training stream and the held-out sets are bit-identical to
before; with it, the other pairs are unchanged too, and the pairs with a sweep layer at a fraction
f are a subset of those at any larger f.

Deterministic by seed: sample i of a batch uses numpy RandomState(seed_i) for every random
choice; only the rendering runs on the device.

    bank = TextureBank("path/to/carry", device)
    batch = make_batch(bank, seeds=[1, 2, 3], height=384, width=768)
    # img1, img2: [B,3,H,W] in [0,1]; flow: [B,2,H,W] (dx, dy) frame1 -> frame2; occ: [B,1,H,W]

CLI: `synth.py --carry DIR --out DIR --count 6` writes PNG previews (frames, colour-coded flow,
occlusion) and `.flo` folders in fovea-flow's pair layout; `--sweep-frac F` adds sweep layers and
`--sweep-only` keeps only the pairs that have one (seeds scanned upwards from --seed).
"""
import argparse
import glob
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

TEX_H, TEX_W = 320, 480  # every texture is stored at this size (portrait photos are rotated)


def _decode(path):
    try:
        from PIL import Image
        return np.asarray(Image.open(path).convert("RGB"))
    except ImportError:
        pass
    try:
        import torchvision.io as tio
        return tio.decode_image(tio.read_file(path), mode=tio.ImageReadMode.RGB).permute(1, 2, 0).numpy()
    except ImportError:
        import cv2
        return cv2.imread(path, cv2.IMREAD_COLOR)[:, :, ::-1].copy()


def _fit(img):
    """HxWx3 uint8 -> [3, TEX_H, TEX_W] uint8 tensor: landscape, centre-cropped to 2:3, resized."""
    t = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)
    if t.shape[1] > t.shape[2]:
        t = t.transpose(1, 2)
    h, w = t.shape[1:]
    if w * TEX_H > h * TEX_W:
        nw = h * TEX_W // TEX_H
        t = t[:, :, (w - nw) // 2:(w - nw) // 2 + nw]
    else:
        nh = w * TEX_H // TEX_W
        t = t[:, (h - nh) // 2:(h - nh) // 2 + nh]
    t = F.interpolate(t[None].float(), size=(TEX_H, TEX_W), mode="bilinear", align_corners=False,
                      antialias=False)[0]
    return t.round().clamp(0, 255).to(torch.uint8)


class TextureBank:
    """Textures [N,3,TEX_H,TEX_W] uint8 and shape masks [M,1,128,128] float, on `device`."""

    def __init__(self, carry, device="cpu", limit=None):
        files = sorted(glob.glob(os.path.join(carry, "textures", "*.jpg")))
        if limit:
            files = files[:: max(1, len(files) // limit)][:limit]
        if not files:
            raise FileNotFoundError(f"no textures under {carry}/textures (run make_carry.py)")
        self.names = [os.path.basename(f) for f in files]
        self.textures = torch.stack([_fit(_decode(f)) for f in files]).to(device)
        z = np.load(os.path.join(carry, "masks.npz"))
        bits = np.unpackbits(z["bits"], axis=2)[:, :, :128]
        self.masks = torch.from_numpy(bits.astype(np.float32))[:, None].to(device)
        self.mask_fill = bits.reshape(len(bits), -1).mean(1)  # share of each mask's square it covers
        self.device = torch.device(device)


def _rot(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s], [s, c]])


def _draw_layer(r, r2, k, regime, H, W, n_tex, n_mask):
    """Random parameters of layer k (0 = background) as a dict of numpy values."""
    big = regime == "large"
    L = {}
    L["tex"] = r.randint(n_tex)
    # Placement: frame pixel -> texture pixel u = Z R (p - pc) + tc; object coords m = R (p - pc) / rad.
    ang = r.uniform(-math.pi, math.pi) if k else r.uniform(-0.3, 0.3)
    zoom = math.exp(r.uniform(math.log(0.35), math.log(1.0)))
    L["place"] = _rot(ang) * zoom
    L["tc"] = np.array([r.uniform(0.3, 0.7) * TEX_W, r.uniform(0.3, 0.7) * TEX_H])
    L["pc"] = np.array([r.uniform(0, W), r.uniform(0, H)]) if k else np.array([W / 2, H / 2])
    L["rot"] = _rot(ang)
    L["rad"] = r.uniform(0.12, 0.4) * min(H, W) * (1.0 if r.rand() < 0.8 else 1.6)
    L["shape"] = 0 if k == 0 else (1 if r.rand() < 0.55 else 2)  # 0 full, 1 DAVIS mask, 2 star
    L["mask"] = r.randint(n_mask)
    L["harm"] = r.uniform(-1, 1, 6) * np.array([0, 0.25, 0.2, 0.12, 0.08, 0.05])
    L["phase"] = r.uniform(0, 2 * math.pi, 6)
    L["poly"] = r.randint(0, 2) * r.randint(4, 10)  # 0: smooth star, n: n-gon-like
    L["verts"] = r.uniform(0.55, 1.0, 12)
    # Motion q = c + A (p - c) + t + d(p).
    if big:
        tmax = 40.0 if k == 0 else (130.0 if r.rand() < 0.9 else 200.0)
        if k and r2.rand() < 0.2:
            tmax = 260.0  # Sintel's ambush figures cross the frame by up to ~250 px
        t = r.uniform(-1, 1, 2) * tmax * np.array([1.0, 0.6])
        rot = r.uniform(-1, 1) * (0.03 if k == 0 else 0.15)
        sc = math.exp(r.uniform(-1, 1) * (0.05 if k == 0 else 0.15))
        damp = r.uniform(0, 1) * (4.0 if k == 0 else 10.0)
    else:
        tmax = 6.0 if k == 0 else 12.0
        t = r.normal(0, tmax / 2.5, 2).clip(-tmax, tmax)
        rot = r.uniform(-1, 1) * (0.01 if k == 0 else 0.04)
        sc = math.exp(r.uniform(-1, 1) * (0.02 if k == 0 else 0.05))
        damp = r.uniform(0, 1) * (1.5 if k == 0 else 3.0)
    shear = r.uniform(-1, 1) * 0.02
    L["A"] = _rot(rot) @ np.array([[sc, shear], [0, sc]])
    L["c"] = L["pc"] + r.normal(0, 0.2, 2) * np.array([W, H]) * (k == 0)
    L["t"] = t
    # Deformation grid 4x4 over the frame, amplitude damp px, Lipschitz ~ damp / (side/3) < 0.25.
    damp = min(damp, 0.2 * min(H, W) / 3)
    L["d"] = r.uniform(-1, 1, (2, 4, 4)) * damp
    return L


def _shape_area(L, samples=720):
    """Area of a star/polygon layer's outline in object coordinates (unit radius), as render() draws it."""
    th = np.linspace(-math.pi, math.pi, samples, endpoint=False)
    if L["poly"] > 0:
        n = L["poly"]
        pos = (th + math.pi) / (2 * math.pi) * n
        i0 = np.floor(pos).astype(int)
        a0, ang = 2 * math.pi / n, (pos - i0) * (2 * math.pi / n)
        v0, v1 = L["verts"][i0 % n], L["verts"][(i0 + 1) % n]
        r = v0 * v1 * math.sin(a0) / np.maximum(v1 * np.sin(a0 - ang) + v0 * np.sin(ang), 1e-6)
    else:
        j = np.arange(6)
        r = 0.8 * (1 + (L["harm"] * np.cos(j * th[:, None] + L["phase"])).sum(1))
    return 0.5 * (r ** 2).mean() * 2 * math.pi


def _draw_sweep(r3, H, W, n_tex, mask_fill):
    """A sweep layer (module docstring): large, dark, low-contrast, fast. All draws from r3."""
    n_mask = len(mask_fill)
    L = {"tex": r3.randint(n_tex)}
    zoom = math.exp(r3.uniform(math.log(0.25), math.log(0.6)))  # magnified texture: low frequencies
    L["place"] = _rot(r3.uniform(-math.pi, math.pi)) * zoom
    L["tc"] = np.array([r3.uniform(0.4, 0.6) * TEX_W, r3.uniform(0.4, 0.6) * TEX_H])
    L["pc"] = np.array([r3.uniform(0.25, 0.75) * W, r3.uniform(0.2, 0.8) * H])
    L["shape"] = 1 if r3.rand() < 0.5 else 2
    L["mask"] = r3.randint(n_mask)
    L["harm"] = r3.uniform(-1, 1, 6) * np.array([0, 0.25, 0.2, 0.12, 0.08, 0.05])
    L["phase"] = r3.uniform(0, 2 * math.pi, 6)
    L["poly"] = r3.randint(0, 2) * r3.randint(4, 10)
    L["verts"] = r3.uniform(0.55, 1.0, 12)
    # Object coords m = S R (p - pc) / rad, S = diag(1/sx, 1/sy) with sx * sy = 1: an elongated
    # body at any angle, its area unchanged by the stretch.
    asp = math.exp(r3.uniform(-0.7, 0.7))
    L["rot"] = np.diag([1 / math.sqrt(asp), math.sqrt(asp)]) @ _rot(r3.uniform(-math.pi, math.pi))
    area_unit = 4 * float(mask_fill[L["mask"]]) if L["shape"] == 1 else _shape_area(L)
    target = r3.uniform(0.4, 0.8) * H * W  # before the frame's edges cut it
    L["rad"] = math.sqrt(target / max(area_unit, 0.05))
    ang, mag = r3.uniform(-math.pi, math.pi), r3.uniform(100.0, 280.0)
    rot, sc = r3.uniform(-1, 1) * 0.05, math.exp(r3.uniform(-1, 1) * 0.06)
    shear = r3.uniform(-1, 1) * 0.02
    L["A"] = _rot(rot) @ np.array([[sc, shear], [0, sc]])
    L["c"] = L["pc"].copy()
    L["t"] = mag * np.array([math.cos(ang), math.sin(ang)])
    damp = min(r3.uniform(0, 1) * 8.0, 0.2 * min(H, W) / 3)
    L["d"] = r3.uniform(-1, 1, (2, 4, 4)) * damp
    # Dark, low contrast: colour = (mean + (1 - pull) (texture - mean)) * gain * tint.
    tint = 1 + r3.uniform(-0.12, 0.12, 3) if r3.rand() < 0.5 else np.ones(3)
    L["dark"] = np.concatenate([[r3.uniform(0.4, 0.8)], r3.uniform(0.1, 0.45) * tint])
    return L


def _draw_pair(seed, H, W, n_tex, n_mask, sweep_frac=0.0, mask_fill=None):
    r = np.random.RandomState(seed % (2 ** 32))
    # Parameters added later (motion blur, the longest motions) come from a second stream, so
    # the first stream's draws, and the held-out pairs' layouts, stay as they were.
    r2 = np.random.RandomState((seed * 7919 + 13) % (2 ** 32))
    regime = "large" if r.rand() < 0.55 else "small"
    n_layers = r.choice([2, 3, 4], p=[0.35, 0.4, 0.25]) if r.rand() < 0.92 else 1
    layers = [_draw_layer(r, r2, k, regime, H, W, n_tex, n_mask) for k in range(n_layers)]
    photo = dict(
        contrast=r.uniform(0.6, 1.4), bright=r.uniform(-0.15, 0.15), gamma=math.exp(r.uniform(-0.4, 0.4)),
        gain=r.uniform(0.88, 1.12, 3), drift=r.normal(0, 0.02, 2), drift_gain=r.normal(1, 0.025, 2),
        blur=r.uniform(0.3, 1.6) if r.rand() < 0.3 else 0.0, noise=r.uniform(0, 0.02, 2) * (r.rand() < 0.7),
        # Motion blur: the shutter is open for this fraction of the frame interval (per frame).
        exposure=r2.uniform(0.1, 0.7, 2) * (r2.rand() < (0.5 if regime == "large" else 0.25)))
    photo["sweep"] = -1  # index of the sweep layer, -1: none
    if sweep_frac > 0 and regime == "large":
        r3 = np.random.RandomState((seed * 104729 + 71) % (2 ** 32))
        if r3.rand() < sweep_frac:
            layers.append(_draw_sweep(r3, H, W, n_tex, mask_fill if mask_fill is not None else np.full(n_mask, 0.5)))
            photo["sweep"] = len(layers) - 1
            photo["exposure"] = r3.uniform(0.4, 1.0, 2)  # long exposures: the sweep layer always streaks
            if r3.rand() < 0.5:  # a still camera: the background moves 0-10 px
                bg, a = layers[0], r3.uniform(-math.pi, math.pi)
                bg["t"] = r3.uniform(0, 10) * np.array([math.cos(a), math.sin(a)])
                bg["A"] = _rot(r3.uniform(-1, 1) * 0.003) * math.exp(r3.uniform(-1, 1) * 0.004)
                bg["d"] = r3.uniform(-1, 1, (2, 4, 4)) * r3.uniform(0, 1.0)
    return regime, layers, photo


def _stack(layers, key, B, L, fill):
    out = np.zeros((B, L) + np.shape(fill), np.float64) + fill
    for b, ls in enumerate(layers):
        for k, l in enumerate(ls):
            out[b, k] = l.get(key, fill)
    return out


def make_batch(bank, seeds, height, width, photometric=True, sweep_frac=0.0):
    dev, B, H, W = bank.device, len(seeds), height, width
    pairs = [_draw_pair(int(s), H, W, bank.textures.shape[0], bank.masks.shape[0], sweep_frac,
                        getattr(bank, "mask_fill", None)) for s in seeds]
    Lmax = max(len(p[1]) for p in pairs)
    layers = [p[1] for p in pairs]
    present = torch.tensor([[k < len(ls) for k in range(Lmax)] for ls in layers], device=dev)
    T = lambda a: torch.as_tensor(a, dtype=torch.float32, device=dev)
    place, tc, pc, rot = (T(_stack(layers, k, B, Lmax, f)) for k, f in
                          [("place", np.eye(2)), ("tc", np.zeros(2)), ("pc", np.zeros(2)), ("rot", np.eye(2))])
    rad, shape = T(_stack(layers, "rad", B, Lmax, 1.0)), _stack(layers, "shape", B, Lmax, 0).astype(int)
    A, c, t, d = (T(_stack(layers, k, B, Lmax, f)) for k, f in
                  [("A", np.eye(2)), ("c", np.zeros(2)), ("t", np.zeros(2)), ("d", np.zeros((2, 4, 4)))])
    harm, phase = T(_stack(layers, "harm", B, Lmax, np.zeros(6))), T(_stack(layers, "phase", B, Lmax, np.zeros(6)))
    poly, verts = _stack(layers, "poly", B, Lmax, 0).astype(int), T(_stack(layers, "verts", B, Lmax, np.ones(12)))
    tex_idx = torch.as_tensor(_stack(layers, "tex", B, Lmax, 0).astype(np.int64), device=dev)
    mask_idx = torch.as_tensor(_stack(layers, "mask", B, Lmax, 0).astype(np.int64), device=dev)
    sweep_np = np.array([[pp[2]["sweep"] == k for k in range(Lmax)] for pp in pairs])  # [B,Lmax]
    sweep = torch.as_tensor(sweep_np, device=dev)
    dark = T(_stack(layers, "dark", B, Lmax, np.array([0.0, 1.0, 1.0, 1.0])))

    ys, xs = torch.meshgrid(torch.arange(H, device=dev, dtype=torch.float32),
                            torch.arange(W, device=dev, dtype=torch.float32), indexing="ij")
    grid_p = torch.stack([xs, ys], -1)  # [H,W,2]
    scale_frame = torch.tensor([2.0 / max(W - 1, 1), 2.0 / max(H - 1, 1)], device=dev)

    def deform(k, p):  # p [B,H,W,2] frame px -> d(p) [B,H,W,2]
        g = p * scale_frame - 1.0
        return F.grid_sample(d[:, k], g, mode="bilinear", padding_mode="border", align_corners=True).permute(0, 2, 3, 1)

    def affine(Mx, v):  # Mx [B,2,2], v [B,H,W,2]
        return torch.einsum("bij,bhwj->bhwi", Mx, v)

    def motion(k, p):
        ck = c[:, k, None, None]
        return ck + affine(A[:, k], p - ck) + t[:, k, None, None] + deform(k, p)

    def inverse_motion(k, q):
        ck, Ainv = c[:, k, None, None], torch.linalg.inv(A[:, k])
        base = q - ck - t[:, k, None, None]
        p = ck + affine(Ainv, base)
        for _ in range(10):
            p = ck + affine(Ainv, base - deform(k, p))
        return p

    def render(k, p):  # colour [B,3,H,W], alpha [B,1,H,W] of layer k at frame positions p
        rel = p - pc[:, k, None, None]
        u = affine(place[:, k], rel) + tc[:, k, None, None]
        g = (u + 0.5) / torch.tensor([TEX_W, TEX_H], device=dev) * 2 - 1
        col = F.grid_sample(bank.textures[tex_idx[:, k]].float() / 255.0, g, mode="bilinear",
                            padding_mode="reflection", align_corners=False)
        if sweep_np[:, k].any():  # sweep layers: contrast pulled toward the texture's mean, then darkened
            mean = bank.textures[tex_idx[:, k]].float().mean((2, 3), keepdim=True) / 255.0
            dk = dark[:, k, :, None, None]
            col = torch.where(sweep[:, k, None, None, None], (mean + (col - mean) * (1 - dk[:, :1])) * dk[:, 1:], col)
        m = affine(rot[:, k], rel) / rad[:, k, None, None, None]  # object coords, unit radius
        alpha = torch.ones(B, 1, H, W, device=dev)
        sel_mask = torch.as_tensor(shape[:, k] == 1, device=dev)
        if sel_mask.any():
            a_m = F.grid_sample(bank.masks[mask_idx[:, k]], m, mode="bilinear", padding_mode="zeros",
                                align_corners=False)
            alpha = torch.where(sel_mask[:, None, None, None], a_m, alpha)
        sel_star = torch.as_tensor(shape[:, k] == 2, device=dev)
        if sel_star.any():
            th = torch.atan2(m[..., 1], m[..., 0])
            j = torch.arange(6, device=dev, dtype=torch.float32)
            smooth = 0.8 * (1 + (harm[:, k, None, None] * torch.cos(j * th[..., None] + phase[:, k, None, None])).sum(-1))
            n = torch.as_tensor(np.maximum(poly[:, k], 3), device=dev, dtype=torch.float32)[:, None, None]
            pos = (th + math.pi) / (2 * math.pi) * n
            i0 = pos.floor().long()
            fr = pos - i0
            vv = verts[:, k]
            v0 = torch.gather(vv, 1, (i0 % n.long()).flatten(1)).view_as(fr)
            v1 = torch.gather(vv, 1, ((i0 + 1) % n.long()).flatten(1)).view_as(fr)
            # polygon edge between two vertices at radii v0, v1: radius along the chord
            a0 = 2 * math.pi / n
            ang = fr * a0
            polyr = v0 * v1 * torch.sin(a0) / (v1 * torch.sin(a0 - ang) + v0 * torch.sin(ang)).clamp_min(1e-6)
            use_poly = torch.as_tensor(poly[:, k] > 0, device=dev)[:, None, None]
            rr = torch.where(use_poly, polyr, smooth)
            a_s = ((rr - m.norm(dim=-1)) * rad[:, k, None, None] + 0.5).clamp(0, 1)[:, None]
            alpha = torch.where(sel_star[:, None, None, None], a_s, alpha)
        alpha = alpha * present[:, k, None, None, None]
        return col, alpha

    p = grid_p.expand(B, H, W, 2)
    img1 = torch.zeros(B, 3, H, W, device=dev)
    img2 = torch.zeros_like(img1)
    top1 = torch.zeros(B, H, W, dtype=torch.long, device=dev)
    top2 = torch.zeros_like(top1)
    flow = torch.zeros(B, H, W, 2, device=dev)
    exposure = torch.tensor(np.array([pp[2]["exposure"] for pp in pairs], np.float32), device=dev)
    exposure = exposure * float(photometric)  # photometric=False: the sharp, exact frames
    for k in range(Lmax):
        col, al = render(k, p)
        vis = al[:, 0] > 0.5
        top1 = torch.where(vis, k, top1)
        layer_flow = motion(k, p) - p
        flow = torch.where(vis[..., None], layer_flow, flow)
        taps = 15
        if sweep_np[:, k].any() and photometric:  # streaks of up to ~280 px: a tap every ~6 px
            sel = sweep[:, k]
            streak = (exposure.amax(1)[sel] * layer_flow[sel].norm(dim=-1).amax((1, 2))).max().item()
            taps = int(min(48, max(15, math.ceil(streak / 6))))
        img1 = _composite_split(sweep_np[:, k], taps, img1, col, al, layer_flow, exposure[:, 0])
        q_src = inverse_motion(k, p)
        col, al = render(k, q_src)
        top2 = torch.where(al[:, 0] > 0.5, k, top2)
        img2 = _composite_split(sweep_np[:, k], taps, img2, col, al, p - q_src, exposure[:, 1])
    sweep_top = torch.tensor([pp[2]["sweep"] for pp in pairs], device=dev)[:, None, None]
    on_sweep = (top1 == sweep_top) & (sweep_top >= 0)
    cover = on_sweep.float().mean((1, 2))
    sweep_motion = (flow.norm(dim=-1) * on_sweep).sum((1, 2)) / on_sweep.sum((1, 2)).clamp_min(1)
    bg_motion = (flow.norm(dim=-1) * (top1 == 0)).sum((1, 2)) / (top1 == 0).sum((1, 2)).clamp_min(1)
    q = p + flow
    inside = (q[..., 0] > -0.5) & (q[..., 0] < W - 0.5) & (q[..., 1] > -0.5) & (q[..., 1] < H - 0.5)
    qi = q.round().long()
    qx, qy = qi[..., 0].clamp(0, W - 1), qi[..., 1].clamp(0, H - 1)
    top2_at_q = torch.gather(top2.flatten(1), 1, (qy * W + qx).flatten(1)).view(B, H, W)
    occ = (~inside) | (top2_at_q != top1)

    if photometric:
        img1, img2 = _photometric(img1, img2, [pp[2] for pp in pairs], dev)
    return dict(img1=img1, img2=img2, flow=flow.permute(0, 3, 1, 2).contiguous(),
                occ=occ[:, None].float(), regime=[pp[0] for pp in pairs],
                sweep=[pp[2]["sweep"] >= 0 for pp in pairs], sweep_cover=cover.tolist(),
                sweep_motion=sweep_motion.tolist(), bg_motion=bg_motion.tolist())


def _composite_split(sel, taps, img, col, al, layer_flow, exposure):
    """_composite with `taps` taps for the pairs in `sel` (numpy bool [B]: their sweep layer) and
    the usual 15 for the others, so a batch's other pairs render as they do without sweep layers."""
    if taps == 15 or not sel.any():
        return _composite(img, col, al, layer_flow, exposure)
    if sel.all():
        return _composite(img, col, al, layer_flow, exposure, taps)
    i1 = torch.as_tensor(np.flatnonzero(sel), device=img.device)
    i0 = torch.as_tensor(np.flatnonzero(~sel), device=img.device)
    out = torch.empty_like(img)
    out[i1] = _composite(img[i1], col[i1], al[i1], layer_flow[i1], exposure[i1], taps)
    # the others take the blurred path whenever the whole batch would (the same arithmetic)
    out[i0] = _composite(img[i0], col[i0], al[i0], layer_flow[i0], exposure[i0], blur=float(exposure.max()) > 0)
    return out


def _composite(img, col, al, layer_flow, exposure, taps=15, blur=None):
    """img over-composited with one layer (col, al), motion-blurred along the layer's own flow:
    the layer is averaged (premultiplied) over positions p - tau * flow(p), tau spread evenly over
    [-exposure/2, exposure/2] of the frame interval. The ground truth stays the flow between the
    exposures' centres, as Sintel's does."""
    if not (float(exposure.max()) > 0 if blur is None else blur):
        return img * (1 - al) + col * al
    B, _, H, W = img.shape
    x = torch.cat([col * al, al], 1)
    p = torch.stack(torch.meshgrid(torch.arange(W, device=img.device, dtype=torch.float32),
                                   torch.arange(H, device=img.device, dtype=torch.float32), indexing="xy"), -1)
    scale = torch.tensor([2.0 / W, 2.0 / H], device=img.device)
    acc = torch.zeros_like(x)
    for t in np.linspace(-0.5, 0.5, taps):
        q = p - (float(t) * exposure)[:, None, None, None] * layer_flow
        acc += F.grid_sample(x, (q + 0.5) * scale - 1, mode="bilinear", padding_mode="border", align_corners=False)
    acc /= taps
    return img * (1 - acc[:, 3:4]) + acc[:, :3]


def _photometric(img1, img2, photo, dev):
    B = img1.shape[0]
    T = lambda key, shape=(): torch.tensor(np.array([ph[key] for ph in photo], np.float32), device=dev).view((B,) + shape)
    con, bri, gam = T("contrast", (1, 1, 1)), T("bright", (1, 1, 1)), T("gamma", (1, 1, 1))
    gain = T("gain", (3, 1, 1))
    drift, dgain, noise = T("drift", (2, 1, 1, 1)), T("drift_gain", (2, 1, 1, 1)), T("noise", (2, 1, 1, 1))
    blur = [ph["blur"] for ph in photo]
    out = []
    for i, im in enumerate((img1, img2)):
        im = ((im - 0.5) * con + 0.5 + bri) * gain
        im = im.clamp(0, 1) ** gam
        im = im * dgain[:, i] + drift[:, i]
        out.append(im)
    for b, s in enumerate(blur):
        if s > 0:
            rad = int(math.ceil(2.5 * s))
            x = torch.arange(-rad, rad + 1, device=dev, dtype=torch.float32)
            k1 = torch.exp(-x ** 2 / (2 * s * s))
            k1 = k1 / k1.sum()
            for i in range(2):
                im = out[i][b:b + 1]
                im = F.conv2d(F.pad(im, (rad, rad, 0, 0), mode="replicate"), k1.view(1, 1, 1, -1).expand(3, 1, 1, -1), groups=3)
                im = F.conv2d(F.pad(im, (0, 0, rad, rad), mode="replicate"), k1.view(1, 1, -1, 1).expand(3, 1, -1, 1), groups=3)
                out[i] = torch.cat([out[i][:b], im, out[i][b + 1:]])
    g = torch.Generator(device=dev).manual_seed(int(sum(ph["contrast"] * 1e6 for ph in photo)) % (2 ** 31))
    for i in range(2):
        n = torch.randn(out[i].shape, generator=g, device=dev)
        out[i] = ((out[i] + n * noise[:, i]).clamp(0, 1) * 255).round() / 255
    return out[0], out[1]


def to_gray(img):
    """[B,3,H,W] RGB in [0,1] -> [B,1,H,W] (ITU-R 601 luma, as OpenCV's BGR2GRAY)."""
    return (0.299 * img[:, 0:1] + 0.587 * img[:, 1:2] + 0.114 * img[:, 2:3])


# ---- previews and files ---------------------------------------------------------------------

def flow_to_rgb(flow, radius=None):
    """Middlebury colour wheel (Baker et al.), as fovea's flow_color.h. flow [2,H,W] numpy."""
    RY, YG, GC, CB, BM, MR = 15, 6, 4, 11, 13, 6
    wheel = []
    for i in range(RY): wheel.append((255, 255 * i // RY, 0))
    for i in range(YG): wheel.append((255 - 255 * i // YG, 255, 0))
    for i in range(GC): wheel.append((0, 255, 255 * i // GC))
    for i in range(CB): wheel.append((0, 255 - 255 * i // CB, 255))
    for i in range(BM): wheel.append((255 * i // BM, 0, 255))
    for i in range(MR): wheel.append((255, 0, 255 - 255 * i // MR))
    wheel = np.array(wheel, np.float64)
    u, v = flow[0].astype(np.float64), flow[1].astype(np.float64)
    mag = np.sqrt(u * u + v * v)
    radius = radius or max(mag.max(), 1e-6)
    u, v, mag = u / radius, v / radius, mag / radius
    a = np.arctan2(-v, -u) / np.pi
    fk = (a + 1) / 2 * (len(wheel) - 1)
    k0 = np.floor(fk).astype(int)
    k1 = (k0 + 1) % len(wheel)
    f = (fk - k0)[..., None]
    col = ((1 - f) * wheel[k0] + f * wheel[k1]) / 255
    small = (mag <= 1)[..., None]
    col = np.where(small, 1 - mag[..., None] * (1 - col), col * 0.75)
    return (col * 255).astype(np.uint8)


def write_flo(path, flow):
    """flow [2,H,W] -> Middlebury .flo."""
    with open(path, "wb") as f:
        np.array([202021.25], np.float32).tofile(f)
        np.array([flow.shape[2], flow.shape[1]], np.int32).tofile(f)
        np.ascontiguousarray(flow.transpose(1, 2, 0), np.float32).tofile(f)


def main():
    from PIL import Image
    ap = argparse.ArgumentParser()
    ap.add_argument("--carry", default=".work/flow/carry")
    ap.add_argument("--out", default=".work/flow/synth_preview")
    ap.add_argument("--count", type=int, default=6)
    ap.add_argument("--size", default="436x1024", help="HxW")
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--pairs", action="store_true", help="also write fovea-flow pair folders")
    ap.add_argument("--sweep-frac", type=float, default=0.0,
                    help="fraction of large-motion pairs with a sweep layer (module docstring); 0: none")
    ap.add_argument("--sweep-only", action="store_true",
                    help="keep only pairs with a sweep layer: --count of them, seeds scanned upwards from --seed")
    a = ap.parse_args()
    H, W = map(int, a.size.split("x"))
    os.makedirs(a.out, exist_ok=True)
    bank = TextureBank(a.carry)
    seeds = list(range(a.seed, a.seed + a.count))
    if a.sweep_only:
        seeds, s = [], a.seed
        while len(seeds) < a.count:
            if _draw_pair(s, H, W, bank.textures.shape[0], bank.masks.shape[0], a.sweep_frac, bank.mask_fill)[2]["sweep"] >= 0:
                seeds.append(s)
            s += 1
    import time
    t0 = time.time()
    b = make_batch(bank, seeds, H, W, sweep_frac=a.sweep_frac)
    print(f"{a.count} pairs {H}x{W} in {time.time() - t0:.2f} s (CPU)")
    # exactness check without photometric noise: warp frame 2 back by the GT flow
    bc = make_batch(bank, seeds, H, W, photometric=False, sweep_frac=a.sweep_frac)
    from network import warp
    back = warp(bc["img2"], bc["flow"])
    noc = (1 - bc["occ"])
    err = ((back - bc["img1"]).abs().mean(1, keepdim=True) * noc).sum() / noc.sum()
    print(f"photo-consistency |warp(img2, gt) - img1| on non-occluded pixels: {err.item() * 255:.2f} / 255")
    for i in range(a.count):
        fl = b["flow"][i].numpy()
        i1 = (b["img1"][i].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
        i2 = (b["img2"][i].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
        occ = np.repeat((b["occ"][i, 0].numpy() * 255).astype(np.uint8)[..., None], 3, 2)
        grid = np.concatenate([np.concatenate([i1, i2], 1), np.concatenate([flow_to_rgb(fl), occ], 1)], 0)
        mag = np.sqrt((fl ** 2).sum(0))
        name = f"pair_{seeds[i]}_{b['regime'][i]}" + ("_sweep" if b["sweep"][i] else "")
        Image.fromarray(grid).save(os.path.join(a.out, name + ".png"))
        print(f"{name}: mean |flow| {mag.mean():.1f} px, max {mag.max():.1f} px, occluded {b['occ'][i].mean().item() * 100:.1f}%"
              + (f", sweep layer covers {100 * b['sweep_cover'][i]:.0f}% moving {b['sweep_motion'][i]:.0f} px, background mean |flow| {b['bg_motion'][i]:.1f} px"
                 if b["sweep"][i] else ""))
        if a.pairs:
            d = os.path.join(a.out, name)
            os.makedirs(d, exist_ok=True)
            Image.fromarray(i1).save(os.path.join(d, "frame1.png"))
            Image.fromarray(i2).save(os.path.join(d, "frame2.png"))
            Image.fromarray(occ[..., 0]).save(os.path.join(d, "occlusions.png"))
            write_flo(os.path.join(d, "flow_gt.flo"), fl)


if __name__ == "__main__":
    main()
