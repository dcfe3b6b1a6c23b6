"""An 8-bit copy of a teacher export, small enough to carry to the GPU machine with its data.

The fern teacher is 61 MB in fp16: with the photos and the mesh it does not fit the device's
64 MiB carry. Its grids are stored here as symmetric int8 with one fp16 scale per row (the
last axis), which halves the size; tensors whose rows are short (the line factors, the MLP)
stay fp16. The distillation only needs the teacher's rendered colours, and the int8 copy's
renders are compared with the fp16 ones below (`--check`).

    python3 teacher_int8.py --teacher .work/lightfield/fern/teacher_fp16 --out .work/lightfield/carry_fern/teacher_int8.pt \
        [--check .data/fern_llff]
"""
import argparse
import os

import torch

from common import atomic_save, torch_load
from teacher import build_from_export, load_sharded


def quantize_export(ex, min_row=64):
    state = {}
    for k, t in ex["state"].items():
        if t.is_floating_point() and t.dim() >= 2 and t.shape[-1] >= min_row:
            x = t.float()
            s = x.abs().amax(-1, keepdim=True).clamp(min=1e-12) / 127.0
            state[k] = dict(q=torch.round(x / s).clamp(-127, 127).to(torch.int8), s=s.half())
        else:
            state[k] = t
    return dict({k: v for k, v in ex.items() if k != "state"}, state=state, int8=True)


def dequantize_export(ex):
    state = {k: (v["q"].float() * v["s"].float() if isinstance(v, dict) else v) for k, v in ex["state"].items()}
    return dict({k: v for k, v in ex.items() if k not in ("state", "int8")}, state=state)


def load_teacher_any(path, device="cpu"):
    """A shard prefix, a checkpoint, or an int8 copy (*.int8.pt / teacher_int8.pt)."""
    if os.path.isfile(path):
        ck = torch_load(path)
        if ck.get("int8"):
            return build_from_export(dequantize_export(ck), device)
    from teacher import load_teacher
    return load_teacher(path, device)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teacher", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--check", default="", help="data folder: compare renders of a held-out view's rays")
    ap.add_argument("--rays", type=int, default=4096)
    args = ap.parse_args()
    ex = load_sharded(args.teacher)
    q = quantize_export(ex)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    atomic_save(q, args.out)
    print("wrote %s: %.1f MB" % (args.out, os.path.getsize(args.out) / 1e6))
    if args.check:
        from common import psnr
        from datasets import load_scene, ndc_rays, pixel_rays
        s = load_scene(args.check, "val" if os.path.exists(os.path.join(args.check, "transforms_val.json")) else "test")
        v = s["views"][0]
        o, d = pixel_rays(s["H"], s["W"], s["focal"], torch.as_tensor(s["c2w"][v]))
        if s["layout"] == "llff":
            o, d = ndc_rays(s["H"], s["W"], s["focal"], s["ndc_near"], o, d)
        g = torch.Generator().manual_seed(0)
        idx = torch.randint(0, o.shape[0], (args.rays,), generator=g)
        white = s["layout"] == "blender"
        a = build_from_export(ex).eval().render_chunked(o[idx], d[idx], 1024, white)["rgb"]
        b = load_teacher_any(args.out).eval().render_chunked(o[idx], d[idx], 1024, white)["rgb"]
        gt = torch.as_tensor(s["rgb"][v]).reshape(-1, 3)[idx]
        print("int8 vs fp16 renders: PSNR %.2f dB; vs photo: fp16 %.2f dB, int8 %.2f dB (%d rays of %s)"
              % (psnr(((a - b) ** 2).mean().item()), psnr(((a - gt) ** 2).mean().item()),
                 psnr(((b - gt) ** 2).mean().item()), args.rays, s["names"][v]))


if __name__ == "__main__":
    main()
