"""CPU tests of the recipe's geometry code against closed-form answers.

Run: python3 models/lightfield/tests/test_geometry.py   (or pytest on that file)
"""
import math
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from datasets import ndc_rays, ndc_to_world, pixel_rays  # noqa: E402
from marching_cubes import marching_cubes  # noqa: E402
from mesh_ops import decimate_to, keep_large_components, read_ply, vertex_components, write_ply  # noqa: E402
from rasterize import rasterize  # noqa: E402
from teacher import TensorVM, build_from_export, load_sharded, save_sharded  # noqa: E402


def sphere_field(n, centers_radii, extent=1.0):
    ax = torch.linspace(-extent, extent, n)
    p = torch.stack(torch.meshgrid(ax, ax, ax, indexing="ij"), -1)
    f = torch.full(p.shape[:3], -1e9)
    for c, r in centers_radii:
        f = torch.maximum(f, r - (p - torch.tensor(c)).norm(dim=-1))
    spacing = 2 * extent / (n - 1)
    return f, (-extent,) * 3, (spacing,) * 3


def signed_volume(v, f):
    a, b, c = v[f[:, 0]].double(), v[f[:, 1]].double(), v[f[:, 2]].double()
    return float((a * torch.cross(b, c, dim=-1)).sum() / 6.0)


def directed_edges_closed(f):
    """Every directed edge appears once and its reverse once: closed, consistently wound."""
    e = torch.cat([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    n = int(f.max()) + 1
    k = e[:, 0] * n + e[:, 1]
    kr = e[:, 1] * n + e[:, 0]
    if torch.unique(k).numel() != k.numel():
        return False
    return bool(torch.isin(kr, k).all()) if hasattr(torch, "isin") else set(kr.tolist()) <= set(k.tolist())


def test_mc_sphere_closed_outward_volume():
    vol, o, s = sphere_field(48, [((0.0, 0.0, 0.0), 0.6)])
    v, f = marching_cubes(vol, 0.0, o, s)
    assert directed_edges_closed(f)
    vol_mesh = signed_volume(v, f)
    assert abs(vol_mesh / (4 / 3 * math.pi * 0.6 ** 3) - 1) < 0.02, vol_mesh


def test_mc_random_field_every_case_closed():
    torch.manual_seed(0)
    noise = torch.randn(1, 1, 20, 20, 20)
    smooth = torch.nn.functional.avg_pool3d(noise, 3, 1, 1)[0, 0]
    smooth = torch.nn.functional.pad(smooth, (1, 1, 1, 1, 1, 1), value=-1.0)  # closes every surface
    v, f = marching_cubes(smooth, 0.0)
    assert f.shape[0] > 1000
    assert directed_edges_closed(f)
    inside = float((smooth > 0).sum())
    assert abs(signed_volume(v, f) / inside - 1) < 0.15


def test_components_and_decimation():
    vol, o, s = sphere_field(64, [((-0.4, 0.0, 0.0), 0.4), ((0.6, 0.0, 0.0), 0.12)])
    v, f = marching_cubes(vol, 0.0, o, s)
    lab = vertex_components(f, v.shape[0])
    assert torch.unique(lab[f[:, 0]]).numel() == 2
    v2, f2, st = keep_large_components(v, f, min_fraction=0.2)
    assert st["components"] == 2 and st["kept_components"] == 1
    assert abs(signed_volume(v2, f2) / (4 / 3 * math.pi * 0.4 ** 3) - 1) < 0.02
    target = f2.shape[0] // 8
    v3, f3, cell = decimate_to(v2, f2, target)
    assert 0.9 * target <= f3.shape[0] <= target, (f3.shape[0], target)
    assert abs(signed_volume(v3, f3) / (4 / 3 * math.pi * 0.4 ** 3) - 1) < 0.03


def test_ply_roundtrip():
    vol, o, s = sphere_field(16, [((0.0, 0.0, 0.0), 0.5)])
    v, f = marching_cubes(vol, 0.0, o, s)
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "m.ply")
        write_ply(p, v, f)
        v2, f2 = read_ply(p)
    assert torch.equal(v2, v.float()) and torch.equal(f2, f)


def look_at(eye):
    eye = torch.tensor(eye, dtype=torch.float32)
    back = eye / eye.norm()
    right = torch.cross(torch.tensor([0.0, 0.0, 1.0]), back, dim=0)
    right = right / right.norm()
    up = torch.cross(back, right, dim=0)
    c2w = torch.eye(4)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = right, up, back, eye
    return c2w


def test_rasterizer_matches_ray_sphere():
    vol, o, s = sphere_field(64, [((0.0, 0.0, 0.0), 0.7)])
    v, f = marching_cubes(vol, 0.0, o, s)
    H, W, focal = 60, 80, 70.0
    c2w = look_at([2.0, 1.0, 1.5])
    depth, fid = rasterize(v, f, c2w, H, W, focal, max_candidates=5000)
    ro, rd = pixel_rays(H, W, focal, c2w)
    b = (ro * rd).sum(-1)
    disc = b * b - ((ro * ro).sum(-1) - 0.7 ** 2)
    hit = (disc > 0).view(H, W)
    mesh_hit = fid >= 0
    iou = float((hit & mesh_hit).sum()) / float((hit | mesh_hit).sum())
    assert iou > 0.97, iou
    t = (-b - disc.clamp(min=0).sqrt()).view(H, W)
    # view-space z = t * cos(angle to the optical axis) = t * (d . -back)
    cosang = (rd @ -c2w[:3, 2]).view(H, W)
    both = hit & mesh_hit
    err = (depth[both] - (t * cosang)[both]).abs()
    assert float(err.median()) < 0.01, float(err.median())


def test_ndc_roundtrip():
    H, W, focal = 30, 40, 35.0
    c2w = torch.eye(4)
    c2w[:3, 3] = torch.tensor([0.1, -0.05, 0.2])
    o, d = pixel_rays(H, W, focal, c2w)
    on, dn = ndc_rays(H, W, focal, 1.0, o, d)
    for tn in (0.1, 0.5, 0.9):
        pw = ndc_to_world(on + tn * dn, H, W, focal, 1.0)
        # the recovered world point lies on the original ray
        r = pw - o
        cos = (r * d).sum(-1) / r.norm(dim=-1)
        assert float((1 - cos).abs().max()) < 1e-4


def test_teacher_shrink_keeps_field_and_export_roundtrip():
    torch.manual_seed(0)
    m = TensorVM(torch.tensor([[-1.0, -1, -1], [1, 1, 1]]), [20, 24, 28], n_sigma=(4, 4, 4), n_app=(4, 4, 4))
    with torch.no_grad():
        for p in m.density_planes:
            p.add_(2.0)  # some density everywhere so values are not ~0 after softplus
    pts = torch.rand(500, 3) * 0.8 - 0.4
    before = m.density(pts)
    m.shrink(torch.tensor([[-0.45, -0.5, -0.42], [0.43, 0.41, 0.5]]))
    assert max(m.reso) < 28
    assert torch.allclose(before, m.density(pts), atol=1e-5)
    m.update_alpha_mask([16, 16, 16])
    m2 = build_from_export(m.export())
    assert torch.allclose(m2.density(pts), m.density(pts)) and torch.equal(m2.alpha_mask, m.alpha_mask)


def test_sharded_export_splits_and_rejoins_large_tensors():
    torch.manual_seed(0)
    m = TensorVM(torch.tensor([[-1.0, -1, -1], [1, 1, 1]]), [40, 50, 30], n_sigma=(4, 4, 4), n_app=(8, 8, 8))
    ex = m.export(half=True)
    with tempfile.TemporaryDirectory() as d:
        prefix = os.path.join(d, "t")
        paths = save_sharded(ex, prefix, max_bytes=20000)  # forces splitting of every plane
        assert all(os.path.getsize(p) < 20000 + 4096 for p in paths[1:])
        back = load_sharded(prefix)
    assert set(back["state"]) == set(ex["state"])
    assert all(torch.equal(back["state"][k], ex["state"][k]) for k in ex["state"])


if __name__ == "__main__":
    names = [k for k in sorted(globals()) if k.startswith("test_")]
    failed = 0
    for k in names:
        try:
            globals()[k]()
            print("PASS", k)
        except Exception as e:  # report all, not just the first
            failed += 1
            print("FAIL", k, repr(e))
    print("%d passed, %d failed" % (len(names) - failed, failed))
    sys.exit(1 if failed else 0)
