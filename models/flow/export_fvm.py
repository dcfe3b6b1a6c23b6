#!/usr/bin/python3
"""Trained FlowNet (checkpoint) -> FP32 fovea .fvm, checked against PyTorch, + calibration PNGs
for fovea-quantize (C++ PTQ) and the command that makes the INT8 .fvm.

    /usr/bin/python3 models/flow/export_fvm.py --ckpt RUN/best.pt --out models/flow/flow_fp32.fvm \
        [--size 448x1024] [--calib-dir .work/flow/calib --calib 48 --carry .work/flow/carry] [--quantize]

Graph (NHWC): input `pair` [1,H,W,3] (grey 1, grey 2, 0; values in [0,1]), output `flow`
[1,H/4,W/4,2] (dx, dy in input pixels). Differences from the PyTorch module, all exact in maths:
- the stem conv of each frame is a 3-channel conv whose weights are zero on the other channels;
- each decoder's first 1x1 conv over concat(cost, features, up_flow) is written as one 1x1 conv
  per part and Adds (the last with the fused ReLU), so that in INT8 the cost volume, the features
  and the flow each keep their own quantization instead of sharing one (a Concat shares one
  per-tensor scale, which would crush the small cost values next to flows of tens of pixels).
Node names matter for --keep-float: the flow path (`decL.up_resize`, `decL.up_scale`, `decL.out`,
`decL.add`, `out.scale`) stays FP32 in the INT8 model (see KEEP_FLOAT).
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fvm_io import Graph, read_fvm, run_fvm, write_fvm  # noqa: E402
from network import DECODER_SLOPE, DISP, LEVELS, FlowNet  # noqa: E402


def keep_float_nodes():
    names = ["out.scale"]
    for l in LEVELS:
        names += [f"dec{l}.out"]
        if l != LEVELS[0]:
            names += [f"dec{l}.up_resize", f"dec{l}.up_scale", f"dec{l}.add"]
    return names


KEEP_FLOAT = keep_float_nodes()


def ohwi(w):
    return w.detach().permute(0, 2, 3, 1).contiguous().numpy()


def build_graph(net, H, W):
    g = Graph()
    pair = g.input("pair", [1, H, W, 3])
    feats = {}
    for f, ch in (("f1", 0), ("f2", 1)):
        x, out = pair, []
        for l, level in enumerate(net.feat, start=1):
            for i, c in enumerate(level):
                w = ohwi(c.weight)
                if l == 1 and i == 0:  # grey stem on one channel of the packed input
                    w3 = np.zeros(w.shape[:3] + (3,), np.float32)
                    w3[..., ch] = w[..., 0]
                    w = w3
                x = g.conv(f"{f}.l{l}.c{i}", x, w, c.bias.detach().numpy(), stride=c.stride[0],
                           pad=c.padding[0], relu=True)
            out.append(x)
        feats[f] = out
    flow = None
    for l in LEVELS:
        a, b = feats["f1"][l - 1], feats["f2"][l - 1]
        _, h, w, ca = g.shape(a)
        d = net.dec[str(l)]
        p = f"dec{l}"
        if flow is not None:
            up = g.scale(p + ".up_scale", g.resize(p + ".up_resize", flow, h, w), 2.0)
            b = g.warp(p + ".warp", b, up)
        cost = g.correlation(p + ".corr", a, b, DISP[l])
        nc = g.shape(cost)[3]
        w0 = ohwi(d.c0.weight)
        x = g.conv(p + ".c0_cost", cost, w0[..., :nc], d.c0.bias.detach().numpy())
        x = g.add(p + ".c0_add_feat", x, g.conv(p + ".c0_feat", a, w0[..., nc:nc + ca], None))
        if flow is not None:
            x = g.add(p + ".c0_add_flow", x, g.conv(p + ".c0_flow", up, w0[..., nc + ca:], None))
        x = g.leaky_relu(p + ".c0_act", x, DECODER_SLOPE)
        x = g.conv(p + ".c1", x, ohwi(d.c1.weight), d.c1.bias.detach().numpy(), pad=1)
        x = g.leaky_relu(p + ".c1_act", x, DECODER_SLOPE)
        x = g.conv(p + ".c2", x, ohwi(d.c2.weight), d.c2.bias.detach().numpy(), pad=1)
        x = g.leaky_relu(p + ".c2_act", x, DECODER_SLOPE)
        res = g.conv(p + ".out", x, ohwi(d.out.weight), d.out.bias.detach().numpy(), pad=1)
        flow = res if flow is None else g.add(p + ".add", up, res)
    out = g.scale("out.scale", flow, float(2 ** LEVELS[-1]))
    g.tensors[out]["name"] = "flow"
    g.output(out)
    return g


def calibration_pngs(carry, out_dir, n, H, W, seed=7_000_000):
    from PIL import Image
    from synth import TextureBank, make_batch
    from network import pack_pair
    os.makedirs(out_dir, exist_ok=True)
    bank = TextureBank(carry)
    for i0 in range(0, n, 4):
        seeds = list(range(seed + i0, seed + min(n, i0 + 4)))
        b = make_batch(bank, seeds, H, W)
        x = pack_pair(b["img1"], b["img2"])
        for j, s in enumerate(seeds):
            im = (x[j].permute(1, 2, 0).numpy() * 255).round().clip(0, 255).astype(np.uint8)
            Image.fromarray(im).save(os.path.join(out_dir, f"calib_{s}.png"))
    return out_dir


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", default="models/flow/flow_fp32.fvm")
    ap.add_argument("--size", default="448x1024")
    ap.add_argument("--carry", default=".work/flow/carry")
    ap.add_argument("--calib-dir", default=".work/flow/calib")
    ap.add_argument("--calib", type=int, default=48, help="calibration pairs (0: none)")
    ap.add_argument("--quantize", action="store_true", help="also run fovea-quantize")
    ap.add_argument("--quantizer", default="build-lead/tools/fovea-quantize")
    ap.add_argument("--int8-out", default="models/flow/flow_int8.fvm")
    # percentile 99.9 was chosen over 99.5, 99.99, 99.999, mse and minmax on held-out synthetic pairs (README):
    ap.add_argument("--method", default="percentile")
    ap.add_argument("--percentile", default="99.9")
    a = ap.parse_args()
    H, W = map(int, a.size.split("x"))
    ck = torch.load(a.ckpt, map_location="cpu")
    net = FlowNet()
    net.load_state_dict(ck["model"])
    net.eval()
    g = build_graph(net, H, W)
    prov = "\n".join([f"source: models/flow checkpoint {os.path.basename(a.ckpt)} step {ck.get('step', '?')}",
                      "recipe: models/flow (synthetic FlyingChairs-style pairs, BSDS500/DAVIS/opencv-doc textures)",
                      "tool: models/flow/export_fvm.py"])
    desc = (f"fovea learned optical flow (compact PWC-Net). input pair [1,{H},{W},3]: grey frame 1, grey "
            f"frame 2, 0, in [0,1]; output flow [1,{H // 4},{W // 4},2]: (dx, dy) in input pixels at 1/4 "
            "resolution, upsample bilinearly (half-pixel) to the frame")
    size = write_fvm(a.out, g, "fovea_flow_fp32", desc, prov)
    print(f"wrote {a.out}: {size} bytes, {len(g.nodes)} nodes, {len(g.tensors)} tensors")

    # Check: the file, read back and interpreted, against the PyTorch module; and the same for a
    # copy whose flows are made large (random decoder biases), so warping is exercised too.
    import copy
    torch.manual_seed(0)
    loud = copy.deepcopy(net)
    with torch.no_grad():
        for d in loud.dec.values():
            d.out.bias.uniform_(-3, 3)
    write_fvm(a.out + ".check", build_graph(loud, H, W), "check")
    x = torch.rand(1, 3, H, W)
    x[:, 2] = 0
    with torch.no_grad():
        ref = loud(x)[0].permute(0, 2, 3, 1).numpy()
    got = run_fvm(read_fvm(a.out + ".check"), {"pair": x.permute(0, 2, 3, 1).numpy()})["flow"]
    os.remove(a.out + ".check")
    err = np.abs(got - ref).max()
    print(f"check with large flows: max |diff| {err:.2e} over flow of max |{np.abs(ref).max():.2f}|")
    assert err < 1e-3 * max(1.0, np.abs(ref).max()), "export does not match the network"

    x = torch.rand(1, 3, H, W)
    x[:, 1] = torch.roll(x[:, 0], (3, -5), (1, 2)) * 0.9 + 0.05
    x[:, 2] = 0
    with torch.no_grad():
        ref = net(x)[0].permute(0, 2, 3, 1).numpy()
    got = run_fvm(read_fvm(a.out), {"pair": x.permute(0, 2, 3, 1).numpy()})["flow"]
    err = np.abs(got - ref).max()
    print(f"fvm graph vs PyTorch: max |diff| {err:.2e} over flow of max |{np.abs(ref).max():.2f}|")
    assert err < 1e-3 * max(1.0, np.abs(ref).max()), "export does not match the network"

    if a.calib:
        calibration_pngs(a.carry, a.calib_dir, a.calib, H, W)
        print(f"{a.calib} calibration pairs in {a.calib_dir}")
    cmd = [a.quantizer, a.out, "--calibration", a.calib_dir, "--out", a.int8_out, "--method", a.method,
           "--scale", str(1 / 255), "--mean", "0,0,0", "--std", "1,1,1",
           "--report", os.path.splitext(a.int8_out)[0] + "_report.txt"]
    if a.method == "percentile":
        cmd += ["--percentile", a.percentile]
    for n in KEEP_FLOAT:
        cmd += ["--keep-float", n]
    print("INT8: " + " ".join(cmd))
    if a.quantize:
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
