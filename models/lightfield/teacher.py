"""Teacher radiance field: TensoRF's vector-matrix (VM) factorisation, plain PyTorch.

Why this architecture: it is the fastest published field that needs no custom CUDA
(everything is grid_sample + a 3-layer MLP), it reaches ~35 dB on lego in 15-30k steps,
and its density is a smooth trilinear field that marching cubes handles well.

density(x) = act(sum_i <P^sigma_i(x_a, x_b), L^sigma_i(x_c)> + shift)
feature(x) = B @ concat_i(P^app_i(x_a, x_b) * L^app_i(x_c))
colour     = MLP(feature, PE(feature), d, PE(d))
with (a, b, c) running over (x,y|z), (x,z|y), (y,z|x).

The model carries its own scene box, grid size and occupancy ("alpha") mask, so a
checkpoint is self-describing: build_from_checkpoint() rebuilds any stage of training.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MAT_MODE = ((0, 1), (0, 2), (1, 2))
VEC_MODE = (2, 1, 0)


def n_to_reso(n_voxels, aabb):
    """Per-axis grid size with n_voxels in total and cubic voxels over aabb."""
    size = (aabb[1] - aabb[0]).double()
    voxel = (size.prod() / n_voxels) ** (1.0 / 3.0)
    return [int(v) for v in (size / voxel).long().tolist()]


def positional_encoding(x, freqs):
    bands = 2.0 ** torch.arange(freqs, device=x.device, dtype=x.dtype)
    p = (x[..., None] * bands).reshape(*x.shape[:-1], freqs * x.shape[-1])
    return torch.cat([torch.sin(p), torch.cos(p)], -1)


DEFAULTS = dict(
    n_sigma=(16, 16, 16), n_app=(48, 48, 48), app_dim=27, view_pe=2, fea_pe=2, hidden=128,
    density_act="softplus", density_shift=-10.0, distance_scale=25.0, step_ratio=0.5,
    near_far=(2.0, 6.0), ndc=False, weight_thres=1e-4, alpha_mask_thres=1e-4,
)


class TensorVM(nn.Module):
    def __init__(self, aabb, reso, **cfg):
        super().__init__()
        c = dict(DEFAULTS)
        c.update(cfg)
        self.cfg = c
        self.register_buffer("aabb", torch.as_tensor(aabb, dtype=torch.float32).reshape(2, 3).clone())
        self.reso = [int(r) for r in reso]
        self.density_planes, self.density_lines = self._init_vm(c["n_sigma"], 0.1)
        self.app_planes, self.app_lines = self._init_vm(c["n_app"], 0.1)
        self.basis_mat = nn.Linear(sum(c["n_app"]), c["app_dim"], bias=False)
        in_dim = c["app_dim"] * (1 + 2 * c["fea_pe"]) + 3 * (1 + 2 * c["view_pe"])
        last = nn.Linear(c["hidden"], 3)
        nn.init.constant_(last.bias, 0.0)
        self.mlp = nn.Sequential(nn.Linear(in_dim, c["hidden"]), nn.ReLU(inplace=True),
                                 nn.Linear(c["hidden"], c["hidden"]), nn.ReLU(inplace=True), last)
        # Occupancy mask: a boolean grid over mask_aabb; samples in empty cells are skipped.
        self.register_buffer("alpha_mask", torch.zeros(0, dtype=torch.bool))
        self.register_buffer("mask_aabb", torch.zeros(2, 3))

    # ---- grids -------------------------------------------------------------------------
    def _init_vm(self, comps, scale):
        planes, lines = nn.ParameterList(), nn.ParameterList()
        for i, (a, b) in enumerate(MAT_MODE):
            cidx = VEC_MODE[i]
            planes.append(nn.Parameter(scale * torch.randn(1, comps[i], self.reso[b], self.reso[a])))
            lines.append(nn.Parameter(scale * torch.randn(1, comps[i], self.reso[cidx], 1)))
        return planes, lines

    def grid_params(self):
        return (list(self.density_planes) + list(self.density_lines)
                + list(self.app_planes) + list(self.app_lines))

    def net_params(self):
        return list(self.basis_mat.parameters()) + list(self.mlp.parameters())

    @property
    def units(self):
        return (self.aabb[1] - self.aabb[0]) / (torch.tensor(self.reso, device=self.aabb.device) - 1)

    @property
    def step_size(self):
        return float(self.units.mean()) * self.cfg["step_ratio"]

    @property
    def n_samples(self):
        if self.cfg["ndc"]:
            return int(math.sqrt(sum(r * r for r in self.reso)) / self.cfg["step_ratio"])
        diag = float((self.aabb[1] - self.aabb[0]).norm())
        return int(diag / self.step_size) + 1

    def normalize(self, xyz):
        return (xyz - self.aabb[0]) / (self.aabb[1] - self.aabb[0]) * 2.0 - 1.0

    def _vm(self, planes, lines, xn):
        n = xn.shape[0]
        out = []
        for i, (a, b) in enumerate(MAT_MODE):
            gp = torch.stack([xn[:, a], xn[:, b]], -1).view(1, n, 1, 2)
            gl = torch.stack([torch.zeros_like(xn[:, 0]), xn[:, VEC_MODE[i]]], -1).view(1, n, 1, 2)
            p = F.grid_sample(planes[i], gp, align_corners=True).view(-1, n)
            l = F.grid_sample(lines[i], gl, align_corners=True).view(-1, n)
            out.append(p * l)
        return out

    def density(self, xyz):
        """World-scale density (already multiplied by distance_scale) at [n,3] points."""
        feats = self._vm(self.density_planes, self.density_lines, self.normalize(xyz))
        s = sum(f.sum(0) for f in feats)
        # The shift only applies to softplus (TensoRF): it starts the field near-empty.
        s = F.softplus(s + self.cfg["density_shift"]) if self.cfg["density_act"] == "softplus" else F.relu(s)
        return s * self.cfg["distance_scale"]

    def color(self, xyz, viewdirs):
        feats = self._vm(self.app_planes, self.app_lines, self.normalize(xyz))
        f = self.basis_mat(torch.cat(feats, 0).T)
        parts = [f, viewdirs]
        if self.cfg["fea_pe"] > 0:
            parts.append(positional_encoding(f, self.cfg["fea_pe"]))
        if self.cfg["view_pe"] > 0:
            parts.append(positional_encoding(viewdirs, self.cfg["view_pe"]))
        return torch.sigmoid(self.mlp(torch.cat(parts, -1)))

    # ---- occupancy mask --------------------------------------------------------------
    def mask_lookup(self, xyz):
        """True where the occupancy mask allows a sample (nearest cell)."""
        if self.alpha_mask.numel() == 0:
            return torch.ones(xyz.shape[0], dtype=torch.bool, device=xyz.device)
        res = torch.tensor(self.alpha_mask.shape, device=xyz.device)
        lo, hi = self.mask_aabb[0], self.mask_aabb[1]
        idx = ((xyz - lo) / (hi - lo) * (res - 1)).round().long()
        inside = ((idx >= 0) & (idx < res)).all(-1)
        idx = torch.minimum(idx.clamp(min=0), res - 1)
        flat = (idx[:, 0] * res[1] + idx[:, 1]) * res[2] + idx[:, 2]
        return inside & self.alpha_mask.view(-1)[flat]

    def grid_points(self, reso, aabb=None):
        aabb = self.aabb if aabb is None else aabb
        axes = [torch.linspace(float(aabb[0, k]), float(aabb[1, k]), int(reso[k]), device=aabb.device)
                for k in range(3)]
        return torch.stack(torch.meshgrid(*axes, indexing="ij"), -1)

    @torch.no_grad()
    def dense_density(self, reso, aabb=None, chunk=1 << 21, use_mask=False):
        """Density sampled on a reso[0] x reso[1] x reso[2] lattice spanning aabb (corners included)."""
        pts = self.grid_points(reso, aabb).view(-1, 3)
        out = torch.empty(pts.shape[0], device=pts.device)
        for s in range(0, pts.shape[0], chunk):
            p = pts[s:s + chunk]
            sig = self.density(p)
            if use_mask:
                sig = sig * self.mask_lookup(p)
            out[s:s + chunk] = sig
        return out.view(*[int(r) for r in reso])

    @torch.no_grad()
    def update_alpha_mask(self, reso):
        """Recompute the occupancy mask; returns the tight box of occupied space."""
        sigma = self.dense_density(reso)
        alpha = 1.0 - torch.exp(-sigma * self.step_size)
        # Dilate so that trilinear density near an occupied cell is never culled.
        alpha = F.max_pool3d(alpha[None, None], kernel_size=3, padding=1, stride=1)[0, 0]
        mask = alpha > self.cfg["alpha_mask_thres"]
        self.alpha_mask = mask
        self.mask_aabb = self.aabb.clone()
        pts = self.grid_points(reso)[mask]
        if pts.shape[0] == 0:
            return self.aabb.clone()
        return torch.stack([pts.min(0)[0], pts.max(0)[0]])

    # ---- resolution changes ----------------------------------------------------------
    @torch.no_grad()
    def upsample(self, reso):
        reso = [int(r) for r in reso]
        for planes, lines in ((self.density_planes, self.density_lines), (self.app_planes, self.app_lines)):
            for i, (a, b) in enumerate(MAT_MODE):
                planes[i] = nn.Parameter(F.interpolate(planes[i].data, size=(reso[b], reso[a]),
                                                       mode="bilinear", align_corners=True))
                lines[i] = nn.Parameter(F.interpolate(lines[i].data, size=(reso[VEC_MODE[i]], 1),
                                                      mode="bilinear", align_corners=True))
        self.reso = reso

    @torch.no_grad()
    def shrink(self, new_aabb):
        """Crop the grids to new_aabb, snapped outward to grid lines (no resampling loss)."""
        units = self.units
        lo = ((new_aabb[0] - self.aabb[0]) / units).floor().long().clamp(min=0)
        hi = (((new_aabb[1] - self.aabb[0]) / units).ceil().long() + 1)
        hi = torch.minimum(hi, torch.tensor(self.reso, device=hi.device))
        lo, hi = lo.tolist(), hi.tolist()
        for planes, lines in ((self.density_planes, self.density_lines), (self.app_planes, self.app_lines)):
            for i, (a, b) in enumerate(MAT_MODE):
                c = VEC_MODE[i]
                planes[i] = nn.Parameter(planes[i].data[..., lo[b]:hi[b], lo[a]:hi[a]].contiguous())
                lines[i] = nn.Parameter(lines[i].data[..., lo[c]:hi[c], :].contiguous())
        lo_t = torch.tensor(lo, device=units.device, dtype=torch.float32)
        hi_t = torch.tensor(hi, device=units.device, dtype=torch.float32) - 1
        self.aabb = torch.stack([self.aabb[0] + lo_t * units, self.aabb[0] + hi_t * units])
        self.reso = [h - l for l, h in zip(lo, hi)]

    # ---- volume rendering ------------------------------------------------------------
    def sample_rays(self, o, d, is_train):
        n = self.n_samples
        if self.cfg["ndc"]:
            near, far = self.cfg["near_far"]
            t = torch.linspace(near, far, n, device=o.device)[None].expand(o.shape[0], n)
            if is_train:
                t = t + torch.rand_like(t[:, :1]) * ((far - near) / n)
            dist = torch.full_like(t, (far - near) / n) * d.norm(dim=-1, keepdim=True)
        else:
            near, far = self.cfg["near_far"]
            vec = torch.where(d == 0, torch.full_like(d, 1e-6), d)
            ra = (self.aabb[1] - o) / vec
            rb = (self.aabb[0] - o) / vec
            t_min = torch.minimum(ra, rb).amax(-1).clamp(min=near, max=far)
            rng = torch.arange(n, device=o.device, dtype=torch.float32)[None]
            if is_train:
                rng = rng + torch.rand(o.shape[0], 1, device=o.device)
            t = t_min[:, None] + self.step_size * rng
            dist = torch.full_like(t, self.step_size)
        xyz = o[:, None] + d[:, None] * t[..., None]
        valid = ((xyz >= self.aabb[0]) & (xyz <= self.aabb[1])).all(-1)
        if not self.cfg["ndc"]:
            valid &= t <= self.cfg["near_far"][1]
        return xyz, t, dist, valid

    def render(self, o, d, is_train=False, white_bg=True):
        """Returns dict(rgb [B,3], acc [B], depth [B]) for rays (o, d)."""
        xyz, t, dist, valid = self.sample_rays(o, d, is_train)
        if self.alpha_mask.numel() > 0:
            vi = valid.nonzero(as_tuple=True)
            keep = self.mask_lookup(xyz[vi])
            valid = torch.zeros_like(valid)
            valid[vi[0][keep], vi[1][keep]] = True
        sigma = torch.zeros_like(t)
        if valid.any():
            sigma[valid] = self.density(xyz[valid])
        alpha = 1.0 - torch.exp(-sigma * dist)
        trans = torch.cumprod(torch.cat([torch.ones_like(alpha[:, :1]), 1.0 - alpha + 1e-10], -1), -1)[:, :-1]
        w = alpha * trans
        app = w > self.cfg["weight_thres"]
        rgb = torch.zeros(*t.shape, 3, device=o.device)
        if app.any():
            vd = d / d.norm(dim=-1, keepdim=True)
            rgb[app] = self.color(xyz[app], vd[:, None].expand_as(xyz)[app])
        acc = w.sum(-1)
        rgb_map = (w[..., None] * rgb).sum(-2)
        if white_bg:
            rgb_map = rgb_map + (1.0 - acc[:, None])
        depth = (w * t).sum(-1)
        return dict(rgb=rgb_map.clamp(0, 1), acc=acc, depth=depth)

    @torch.no_grad()
    def render_chunked(self, o, d, chunk=8192, white_bg=True):
        outs = [self.render(o[s:s + chunk], d[s:s + chunk], False, white_bg) for s in range(0, o.shape[0], chunk)]
        return {k: torch.cat([x[k] for x in outs]) for k in outs[0]}

    # ---- regularisers ----------------------------------------------------------------
    def density_l1(self):
        return sum(p.abs().mean() for p in list(self.density_planes) + list(self.density_lines))

    @staticmethod
    def _tv(p):
        return ((p[..., 1:, :] - p[..., :-1, :]) ** 2).mean() + ((p[..., :, 1:] - p[..., :, :-1]) ** 2).mean()

    def tv_density(self):
        return sum(2e-2 * self._tv(p) for p in self.density_planes)

    def tv_app(self):
        return sum(2e-2 * self._tv(p) for p in self.app_planes)

    # ---- (de)serialisation -----------------------------------------------------------
    def export(self, half=False):
        """Self-describing state: config, box, grid size, weights, packed mask."""
        sd = {k: v for k, v in self.state_dict().items() if k not in ("alpha_mask", "mask_aabb")}
        if half:
            sd = {k: (v.half() if v.is_floating_point() else v) for k, v in sd.items()}
        mask = self.alpha_mask.cpu().numpy()
        return dict(cfg=self.cfg, reso=self.reso, state=sd,
                    mask_shape=list(mask.shape), mask_bits=torch.from_numpy(np.packbits(mask.reshape(-1))),
                    mask_aabb=self.mask_aabb.cpu())


def build_from_export(ex, device="cpu"):
    m = TensorVM(ex["state"]["aabb"].float(), ex["reso"], **ex["cfg"])
    res = m.load_state_dict({k: v.float() for k, v in ex["state"].items()}, strict=False)
    missing = set(res.missing_keys) - {"alpha_mask", "mask_aabb"}
    if missing or res.unexpected_keys:
        raise KeyError("teacher export does not match the model: missing %s, unexpected %s"
                       % (sorted(missing), res.unexpected_keys))
    if ex["mask_shape"] and int(np.prod(ex["mask_shape"])) > 0:
        bits = np.unpackbits(ex["mask_bits"].numpy())[:int(np.prod(ex["mask_shape"]))]
        m.alpha_mask = torch.from_numpy(bits.astype(bool).reshape(ex["mask_shape"]))
        m.mask_aabb = ex["mask_aabb"].float()
    return m.to(device)


def save_sharded(ex, prefix, max_bytes=13 << 20):
    """Splits an export into files of about max_bytes (the device returns files of <= 16 MiB;
    the margin leaves room for shard 0's packed occupancy mask and config).

    Tensors larger than max_bytes are cut along their longest axis into pieces named
    'key##i/n@axis'; load_sharded glues them back. Non-tensor fields go to shard 0.
    """
    state = {}
    for k, t in ex["state"].items():
        nbytes = t.numel() * t.element_size()
        if nbytes <= max_bytes:
            state[k] = t
            continue
        axis = int(torch.tensor(t.shape).argmax())
        pieces = torch.chunk(t, -(-nbytes // max_bytes), dim=axis)
        for i, p in enumerate(pieces):
            state["%s##%d/%d@%d" % (k, i, len(pieces), axis)] = p.clone()
    meta = {k: v for k, v in ex.items() if k != "state"}
    shards, cur, size = [], {}, 0
    for k in sorted(state, key=lambda k: -state[k].numel() * state[k].element_size()):
        nbytes = state[k].numel() * state[k].element_size()
        if cur and size + nbytes > max_bytes:
            shards.append(cur)
            cur, size = {}, 0
        cur[k] = state[k]
        size += nbytes
    shards.append(cur)
    paths = []
    for i, sd in enumerate(shards):
        path = "%s.%d-of-%d.pt" % (prefix, i, len(shards))
        torch.save(dict(meta, state=sd) if i == 0 else dict(state=sd), path)
        paths.append(path)
    return paths


def load_sharded(prefix):
    import glob
    from common import torch_load
    paths = sorted(glob.glob(prefix + ".*-of-*.pt"))
    if not paths:
        raise FileNotFoundError("no shards %s.*-of-*.pt" % prefix)
    n = int(paths[0].rsplit("-of-", 1)[1].split(".")[0])
    if len(paths) != n:
        raise FileNotFoundError("expected %d shards of %s, found %d" % (n, prefix, len(paths)))
    ex = None
    state, pieces = {}, {}
    for p in paths:
        part = torch_load(p)
        for k, t in part["state"].items():
            if "##" in k:
                base, rest = k.split("##")
                idx, rest = rest.split("/")
                count, axis = rest.split("@")
                pieces.setdefault(base, [None] * int(count))[int(idx)] = (int(axis), t)
            else:
                state[k] = t
        if "cfg" in part:
            ex = part
    for base, parts in pieces.items():
        if any(p is None for p in parts):
            raise FileNotFoundError("tensor %s is missing pieces in %s" % (base, prefix))
        state[base] = torch.cat([t for _, t in parts], dim=parts[0][0])
    ex["state"] = state
    return ex


def load_teacher(path, device="cpu"):
    """Accepts a training checkpoint (.pt with 'model') or a shard prefix."""
    import os
    if os.path.isfile(path):
        from common import torch_load
        ck = torch_load(path)
        return build_from_export(ck["model"] if "model" in ck else ck, device)
    return build_from_export(load_sharded(path), device)
