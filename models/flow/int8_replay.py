#!/usr/bin/python3
"""Where the INT8 flow model loses its cosine to FP32: the INT8 .fvm's quantization replayed on
the FP32 .fvm in PyTorch, over the photo pairs `fovea-bench core` measures (opencv-doc photos
5-20 in name order, each with itself moved by (4, -3) px), so one layer at a time can be
quantized or left float.

The replay takes every activation's scale and zero point from the INT8 file (what fovea-quantize
chose) and re-derives the per-channel INT8 weights the same way (largest |w| / 127 per output
channel). Its all-INT8 cosine is the bench's within about 0.001, so what it says per layer holds
for the C++ model too (models/flow/README.md, session 7).

    /usr/bin/python3 models/flow/int8_replay.py models/flow/flow_fp32.fvm models/flow/flow_int8.fvm \
        [--sensitivity] [--layers f.l2.c0,f.l3.c0]

--sensitivity: per layer (both frames' pyramid layers together as f.lL.cI), the cosine with only
that layer in INT8 and with every layer but it in INT8. Slow: two passes over 16 pairs per layer.
"""
import argparse
import os
import re
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fvm_io  # noqa: E402
from network import correlation, warp  # noqa: E402

INT8 = 2  # fovea DataType::kInt8
PHOTOS = "/usr/share/doc/opencv-doc/examples/data"
FIRST_EVALUATED, EVALUATED = 4, 16  # fovea-bench core: the first 4 photos calibrate its ONNX models
SHIFT = (4.0, -3.0)


def int8_activations(path):
    """INT8 .fvm -> {FP32 tensor name: (scale, zero point)} for every INT8 activation. Quantize
    nodes the quantizer inserted are named 'TENSOR:0/quantizeN'; they carry TENSOR's INT8 form.
    Also the set of node names that run in INT8. Reads the graph section only (the constants of
    an INT8 file are entropy-coded, which fvm_io does not decode)."""
    b = open(path, "rb").read()
    assert b[:8] == fvm_io.MAGIC, f"{path} is not an .fvm"
    _, _, _, _, _, nsec, table = struct.unpack_from("<HHIQIIQ", b, 8)
    sections = {}
    for i in range(nsec):
        kind, _, off, size = struct.unpack_from("<IIQQ", b, table + 24 * i)
        sections[kind] = (off, size)
    r = fvm_io._R(b, sections[2][0])
    count, _, _, _ = r.take("IIII")
    quant, int8_nodes = {}, set()
    for _ in range(count):
        name = r.string()
        dtype, rank, _, constant = r.take("BBHi")
        r.p += 8 * rank
        zero_point, _, nscale = r.take("iiI")
        scales = [r.take("f") for _ in range(nscale)]
        if constant < 0 and dtype == INT8:
            quant[name.split(":0/")[0]] = (scales[0], zero_point)
            if "/" not in name:
                int8_nodes.add(name)
    return quant, int8_nodes


def fake_quantize(x, scale, zero_point):
    return ((x / scale).round() + zero_point).clamp(-128, 127).sub(zero_point).mul(scale)


def int8_weights(w):
    scale = w.abs().amax(dim=(1, 2, 3), keepdim=True) / 127
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return (w / scale).round().clamp(-127, 127) * scale


def run(graph, quant, feed, int8):
    """The FP32 graph on `feed` (NHWC), with the nodes named in `int8` quantized as the INT8
    model runs them: inputs and output on their INT8 grids, per-channel INT8 weights."""
    T, ops, val = graph["tensors"], fvm_io.OPS, {}
    for i in graph["inputs"]:
        val[i] = torch.from_numpy(feed).permute(0, 3, 1, 2)

    def get(i, q):
        if i in val:
            name = T[i]["name"]
            return fake_quantize(val[i], *quant[name]) if q and name in quant else val[i]
        d = torch.from_numpy(np.array(T[i]["data"]))
        return d.permute(0, 3, 1, 2) if d.dim() == 4 else d

    for n in graph["nodes"]:
        a, op, ins, q = n["attrs"], n["op"], n["inputs"], n["name"] in int8
        if op == ops["Conv2d"]:
            w = torch.from_numpy(np.array(T[ins[1]]["data"])).permute(0, 3, 1, 2)
            bias = torch.from_numpy(np.array(T[ins[2]]["data"])) if ins[2] >= 0 else None
            x = F.pad(get(ins[0], q), (a["pad_left"], a["pad_right"], a["pad_top"], a["pad_bottom"]))
            y = F.conv2d(x, int8_weights(w) if q else w, bias, (a["stride_h"], a["stride_w"]), 0,
                         (a["dilation_h"], a["dilation_w"]), a["groups"])
        elif op == ops["Add"]:
            y = get(ins[0], q) + get(ins[1], q)
        elif op == ops["Multiply"]:
            y = get(ins[0], q) * get(ins[1], q)
        elif op == ops["ResizeBilinear"]:
            y = F.interpolate(get(ins[0], q), size=(a["output_h"], a["output_w"]), mode="bilinear",
                              align_corners=bool(a["align_corners"]))
        elif op == ops["Correlation"]:
            y = correlation(get(ins[0], q), get(ins[1], q), a["max_displacement"])
        elif op == ops["Warp"]:
            y = warp(get(ins[0], q), get(ins[1], q))
        elif op == ops["LeakyRelu"]:
            y = F.leaky_relu(get(ins[0], q), a["alpha"])
        else:
            raise NotImplementedError(fvm_io.OP_NAMES.get(op, op))
        if op in (ops["Conv2d"], ops["Add"]):
            y = y.clamp(a["clamp_min"], a["clamp_max"])
        if q:
            y = fake_quantize(y, *quant[n["name"]])
        val[n["outputs"][0]] = y
    return val[graph["outputs"][0]]


def photo_pairs(height, width):
    """As fovea-bench core's to_flow_pair: area-resized, grey, moved by SHIFT with edge pixels."""
    import cv2
    photos = []
    for name in sorted(os.listdir(PHOTOS)):
        if not name.endswith((".jpg", ".png", ".ppm")):
            continue
        bgr = cv2.imread(os.path.join(PHOTOS, name), cv2.IMREAD_COLOR)
        if bgr is not None and bgr.shape[0] >= 32 and bgr.shape[1] >= 32:
            photos.append((name, bgr))
    pairs = []
    for name, bgr in photos[FIRST_EVALUATED:FIRST_EVALUATED + EVALUATED]:
        rgb = cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (width, height), interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        moved = cv2.warpAffine(grey, np.float32([[1, 0, SHIFT[0]], [0, 1, SHIFT[1]]]), (width, height),
                               flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        x = np.zeros((1, height, width, 3), np.float32)
        x[0, ..., 0], x[0, ..., 1] = grey / 255.0, moved / 255.0
        pairs.append((name, x))
    return pairs


def cosine(a, b):
    a, b = a.flatten().double(), b.flatten().double()
    return (a @ b / (a.norm() * b.norm())).item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fp32")
    ap.add_argument("int8")
    ap.add_argument("--sensitivity", action="store_true")
    ap.add_argument("--layers", default="", help="comma-separated layer groups for --sensitivity")
    a = ap.parse_args()
    graph = fvm_io.read_fvm(a.fp32)
    quant, int8_nodes = int8_activations(a.int8)
    _, height, width, _ = graph["tensors"][graph["inputs"][0]]["shape"]
    pairs = photo_pairs(height, width)
    with torch.no_grad():
        reference = [run(graph, quant, x, set()) for _, x in pairs]

        def mean_cosine(int8):
            c = [cosine(run(graph, quant, x, int8), r) for (_, x), r in zip(pairs, reference)]
            return float(np.mean(c)), c

        mean, each = mean_cosine(int8_nodes)
        print(f"all INT8 ({len(int8_nodes)} layers): cosine mean {mean:.4f}, min {min(each):.4f}")
        print("  " + "  ".join(f"{name} {c:.3f}" for (name, _), c in zip(pairs, each)))
        if not a.sensitivity:
            return
        groups = {}
        for n in int8_nodes:
            groups.setdefault(re.sub(r"^f[12]\.", "f.", n), set()).add(n)
        wanted = set(filter(None, a.layers.split(",")))
        rows = []
        for g, nodes in sorted(groups.items()):
            if wanted and g not in wanted:
                continue
            rows.append((mean_cosine(nodes)[0], mean_cosine(int8_nodes - nodes)[0], g))
            print(f"  {g}: done", file=sys.stderr, flush=True)
        print(f"{'layer':20s} {'only it INT8':>13s} {'all but it':>11s}")
        for only, all_but, g in sorted(rows):
            print(f"{g:20s} {only:13.4f} {all_but:11.4f}")


if __name__ == "__main__":
    main()
