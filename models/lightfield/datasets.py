"""Posed-image loaders for the two scene layouts the bake recipe accepts.

Both return cameras as camera-to-world 4x4 matrices in the OpenGL convention (x right,
y up, camera looks down -z), so everything downstream (rays, rasterizer, light field)
has exactly one convention to agree with.

nerf_synthetic ("blender"): transforms_{split}.json + RGBA PNGs, composited over WHITE,
the convention every published PSNR on these scenes uses.

LLFF: poses_bounds.npy, N x 17 = 3x5 [R | t | hwf] + (near, far). R's columns are in
LLFF's (down, right, back) order; we reorder to (right, up, back). Forward-facing scenes
are trained in NDC space (near plane 1 after the usual 0.75 * min-bound rescale).
"""
import json
import os
import re

import numpy as np
import torch

from pngio import read_png


def detect_layout(root):
    if os.path.exists(os.path.join(root, "transforms_train.json")):
        return "blender"
    if os.path.exists(os.path.join(root, "poses_bounds.npy")):
        return "llff"
    raise FileNotFoundError(
        "%s holds neither transforms_train.json (nerf_synthetic) nor poses_bounds.npy (LLFF)" % root)


def _area_downscale(img, factor):
    if factor == 1:
        return img
    h, w = img.shape[:2]
    if h % factor or w % factor:
        raise ValueError("image %dx%d is not divisible by downscale %d" % (w, h, factor))
    return img.reshape(h // factor, factor, w // factor, factor, -1).mean(axis=(1, 3))


def load_blender(root, split, downscale=1):
    """Returns dict(rgb [N,H,W,3] float32 over white, alpha [N,H,W], c2w [N,4,4], H, W, focal, names)."""
    path = os.path.join(root, "transforms_%s.json" % split)
    with open(path) as f:
        meta = json.load(f)
    rgbs, alphas, poses, names = [], [], [], []
    for fr in meta["frames"]:
        rel = fr["file_path"]
        if rel.startswith("./"):
            rel = rel[2:]
        if not rel.endswith(".png"):
            rel += ".png"
        img = read_png(os.path.join(root, rel)).astype(np.float32) / 255.0
        if img.shape[-1] != 4:
            raise ValueError("%s: expected RGBA, got %d channels" % (rel, img.shape[-1]))
        # Composite before downscaling: compositing is linear, so this equals averaging
        # premultiplied colour, and the alpha we keep stays the true coverage.
        rgb = img[..., :3] * img[..., 3:] + (1.0 - img[..., 3:])
        rgbs.append(_area_downscale(rgb, downscale))
        alphas.append(_area_downscale(img[..., 3:], downscale)[..., 0])
        poses.append(np.array(fr["transform_matrix"], dtype=np.float32))
        names.append(os.path.basename(rel))
    rgb = np.stack(rgbs).astype(np.float32)
    h, w = rgb.shape[1:3]
    focal = 0.5 * w / np.tan(0.5 * float(meta["camera_angle_x"]))
    return dict(layout="blender", rgb=rgb, alpha=np.stack(alphas).astype(np.float32),
                c2w=np.stack(poses), H=h, W=w, focal=float(focal), names=names)


def _normalize(v):
    return v / np.linalg.norm(v)


def _average_pose(c2w):
    """Mean camera of a forward-facing capture (NeRF's poses_avg), as 3x4."""
    center = c2w[:, :3, 3].mean(0)
    back = _normalize(c2w[:, :3, 2].sum(0))
    up = c2w[:, :3, 1].sum(0)
    right = _normalize(np.cross(up, back))
    up = _normalize(np.cross(back, right))
    return np.stack([right, up, back, center], 1)


def load_llff(root, factor=8, holdout_every=8):
    """Loads the images present in images_{factor}/ and their poses.

    File imageNNN.png is pose row NNN of poses_bounds.npy (0-based). The fern copy here has
    rows 0..19 and files 001..019 without 008 and 016: the missing 0, 8, 16 are exactly the
    standard every-8th LLFF test views, so the 0-based reading is the one consistent with how
    the copy was made. From the images present (sorted by index) every `holdout_every`-th
    position (0, 8, 16, ...) is held out for evaluation; the rest train.

    Recentering and the bound rescale use all rows of poses_bounds.npy, so the scene frame
    does not depend on which images happen to be present.
    """
    pb = np.load(os.path.join(root, "poses_bounds.npy")).astype(np.float64)
    if pb.ndim != 2 or pb.shape[1] != 17:
        raise ValueError("poses_bounds.npy should be N x 17, got %s" % (pb.shape,))
    raw = pb[:, :15].reshape(-1, 3, 5)
    bds = pb[:, 15:17]
    imgdir = os.path.join(root, "images_%d" % factor)
    files = sorted(f for f in os.listdir(imgdir) if f.lower().endswith(".png"))
    indices = []
    for f in files:
        m = re.search(r"(\d+)", f)
        if not m:
            raise ValueError("cannot read a pose index from file name %s" % f)
        indices.append(int(m.group(1)))
    order = np.argsort(indices)
    files = [files[i] for i in order]
    indices = [indices[i] for i in order]
    if max(indices) >= len(raw) or len(set(indices)) != len(indices):
        raise ValueError("image indices %s do not map onto %d pose rows" % (indices, len(raw)))

    imgs = [read_png(os.path.join(imgdir, f))[..., :3].astype(np.float32) / 255.0 for f in files]
    h, w = imgs[0].shape[:2]
    h0, w0, f0 = raw[0, :, 4]
    if abs(h0 / w0 - h / w) > 0.01:
        raise ValueError("images are %dx%d but poses say %dx%d" % (w, h, w0, h0))
    focal = float(f0) * w / float(w0)

    # (down, right, back) -> (right, up, back)
    rot_t = np.concatenate([raw[:, :, 1:2], -raw[:, :, 0:1], raw[:, :, 2:4]], 2)
    scale = 1.0 / (bds.min() * 0.75)
    rot_t[:, :, 3] *= scale
    bds = bds * scale
    avg = np.concatenate([_average_pose(rot_t), [[0, 0, 0, 1]]], 0)
    c2w_all = np.concatenate([rot_t, np.tile([[[0, 0, 0, 1.0]]], (len(rot_t), 1, 1))], 1)
    c2w_all = np.linalg.inv(avg) @ c2w_all

    positions = np.arange(len(files))
    test_pos = positions[positions % holdout_every == 0] if holdout_every > 0 else positions[:0]
    train_pos = np.setdiff1d(positions, test_pos)
    return dict(layout="llff", rgb=np.stack(imgs).astype(np.float32),
                c2w=c2w_all[indices].astype(np.float32), c2w_all=c2w_all.astype(np.float32),
                pose_rows=indices, names=files, H=h, W=w, focal=focal, bounds=bds.astype(np.float32),
                train_idx=train_pos.tolist(), test_idx=test_pos.tolist(), ndc_near=1.0)


def pixel_rays(H, W, focal, c2w):
    """World-space rays through pixel centres (x + 0.5, y + 0.5), unit directions.

    Blender renders sample pixel centres, so the half-pixel offset matters for PSNR.
    c2w: torch [4,4] (or [3,4]). Returns (o, d), each [H*W, 3].
    """
    dev = c2w.device
    j, i = torch.meshgrid(torch.arange(H, device=dev, dtype=torch.float32),
                          torch.arange(W, device=dev, dtype=torch.float32), indexing="ij")
    dirs = torch.stack([(i + 0.5 - 0.5 * W) / focal, -(j + 0.5 - 0.5 * H) / focal,
                        -torch.ones_like(i)], -1).reshape(-1, 3)
    d = dirs @ c2w[:3, :3].T
    d = d / d.norm(dim=-1, keepdim=True)
    o = c2w[:3, 3].expand_as(d)
    return o.contiguous(), d.contiguous()


def ndc_rays(H, W, focal, near, o, d):
    """World rays -> NDC rays of the (recentred) average camera (NeRF's ndc_rays)."""
    t = -(near + o[:, 2]) / d[:, 2]
    o = o + t[:, None] * d
    ox, oy, oz = o.unbind(-1)
    dx, dy, dz = d.unbind(-1)
    o_ndc = torch.stack([-focal / (0.5 * W) * ox / oz, -focal / (0.5 * H) * oy / oz, 1.0 + 2.0 * near / oz], -1)
    d_ndc = torch.stack([-focal / (0.5 * W) * (dx / dz - ox / oz), -focal / (0.5 * H) * (dy / dz - oy / oz),
                         -2.0 * near / oz], -1)
    return o_ndc, d_ndc


def ndc_to_world(p, H, W, focal, near):
    """Inverse of the NDC map for points (a projective map: triangles stay triangles)."""
    zn = p[:, 2].clamp(max=1.0 - 1e-4)
    z = 2.0 * near / (zn - 1.0)
    x = -p[:, 0] * z * (0.5 * W) / focal
    y = -p[:, 1] * z * (0.5 * H) / focal
    return torch.stack([x, y, z], -1)


def scene_rays(scene, views, device):
    """All rays and colours of the given views: (o, d, rgb), each [n, 3] on `device`.

    For LLFF scenes the rays are in NDC space, ready for the teacher.
    """
    os_, ds, cs = [], [], []
    for v in views:
        c2w = torch.as_tensor(scene["c2w"][v], device=device)
        o, d = pixel_rays(scene["H"], scene["W"], scene["focal"], c2w)
        if scene["layout"] == "llff":
            o, d = ndc_rays(scene["H"], scene["W"], scene["focal"], scene["ndc_near"], o, d)
        os_.append(o)
        ds.append(d)
        cs.append(torch.as_tensor(scene["rgb"][v], device=device).reshape(-1, 3))
    return torch.cat(os_), torch.cat(ds), torch.cat(cs)


def load_scene(root, split, downscale=1):
    """One entry point for both layouts. split: 'train' | 'val' | 'test'.

    For LLFF, 'train' gives the training positions and 'val'/'test' the held-out ones; the
    returned dict's 'views' lists the indices into rgb/c2w to use.
    """
    layout = detect_layout(root)
    if layout == "blender":
        s = load_blender(root, split, downscale)
        s["views"] = list(range(len(s["rgb"])))
        return s
    s = load_llff(root)
    s["views"] = s["train_idx"] if split == "train" else s["test_idx"]
    return s
