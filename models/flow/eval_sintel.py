#!/usr/bin/python3
"""EPE of a FlowNet checkpoint (PyTorch FP32) on the Sintel dev pairs, the way the C++ side will
run the .fvm: frames to grey, resized (bilinear, half-pixel) to the model size, flow upsampled
(bilinear, half-pixel) to the frame and scaled by frame/model size per axis. Evaluation only:
Sintel never enters training (../shared/data/README.md).

    /usr/bin/python3 models/flow/eval_sintel.py --ckpt RUN/best.pt [--data ../shared/data/flow/sintel_dev]
"""
import argparse
import glob
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from network import FlowNet, pack_pair, resize  # noqa: E402


def read_flo(path):
    with open(path, "rb") as f:
        assert np.fromfile(f, np.float32, 1)[0] == 202021.25
        w, h = np.fromfile(f, np.int32, 2)
        return np.fromfile(f, np.float32, w * h * 2).reshape(h, w, 2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "../../../shared/data/flow/sintel_dev"))
    ap.add_argument("--size", default="448x1024")
    a = ap.parse_args()
    H, W = map(int, a.size.split("x"))
    net = FlowNet()
    net.load_state_dict(torch.load(a.ckpt, map_location="cpu")["model"])
    net.eval()
    groups = {"small": [], "large": []}
    for d in sorted(glob.glob(os.path.join(a.data, "*"))):
        if not os.path.isdir(d):
            continue
        im = [torch.from_numpy(np.asarray(Image.open(os.path.join(d, f)).convert("RGB"), np.float32) / 255)
              .permute(2, 0, 1)[None] for f in ("frame1.png", "frame2.png")]
        gt = read_flo(os.path.join(d, "flow_gt.flo"))
        fh, fw = gt.shape[:2]
        valid = np.ones((fh, fw), bool)
        if os.path.exists(os.path.join(d, "invalid.png")):
            valid &= np.asarray(Image.open(os.path.join(d, "invalid.png")).convert("L")) < 128
        x = pack_pair(*(resize(i, H, W) for i in im))
        with torch.no_grad():
            out, _ = net(x)
            full = resize(out, fh, fw)[0].permute(1, 2, 0).numpy()
        full[..., 0] *= fw / W
        full[..., 1] *= fh / H
        epe = np.sqrt(((full - gt) ** 2).sum(-1))[valid].mean()
        zero = np.sqrt((gt ** 2).sum(-1))[valid].mean()
        name = os.path.basename(d)
        groups["large" if name.startswith("ambush") else "small"].append((epe, zero))
        print(f"{name:24s} EPE {epe:7.3f}   zero {zero:7.3f}")
    for g, v in groups.items():
        if v:
            e, z = np.mean([p[0] for p in v]), np.mean([p[1] for p in v])
            print(f"{g}-motion mean EPE {e:.3f} (zero {z:.3f}, x zero {e / z:.3f})")


if __name__ == "__main__":
    main()
