#!/usr/bin/python3
"""FlowNet's forward pass as the INT8 `.fvm` runs it, for fidelity training (train.py --int8-sim).

qat.py fake-quantizes only the inputs of convolutions, over min-max ranges, and a network trained
with it stopped at 0.978 output cosine against its own FP32 model (README, session 6). This module
follows the exported graph node for node instead (export_fvm.build_graph), with the INT8 model's
quantization points as fovea-quantize makes them:

- the output of every node the INT8 model runs in INT8 is on its own 8-bit grid, shared by all of
  its consumers: pyramid convolutions (ReLU fused), correlations, each decoder's three split 1x1
  convolutions and their adds, its 3x3 convolutions, its LeakyReLUs (lookup tables in C++);
- per-output-channel symmetric INT8 weights, taken per exported convolution (so the decoders'
  split first convolution gets one scale per part, as in the file);
- the flow path stays FP32 (KEEP_FLOAT): the upsampled flow is quantized only where an INT8
  convolution reads it (`decL.c0_flow`); Warp reads it in FP32 and keeps f2's grid.

Ranges mirror the quantizer's percentile method (core/src/inference/quantizer.cpp,
activation_quantization): the 0.1th and 99.9th percentiles, widened to include 0, 255 steps.
Each batch's percentiles (over a random subsample) update an exponential moving average; they
start from the committed INT8 file's scales when one is given. Gradients pass straight through
inside the range.

    sim = Int8Sim(net, "models/flow/flow_int8.fvm")   # net: a plain FlowNet
    flow_q = sim(pair)                                 # [B,2,H/4,W/4], as FlowNet's first output
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from network import DECODER_SLOPE, DISP, LEVELS, correlation, resize, warp
from qat import fake_quant_weight  # per output channel, qc8, as fovea-quantize makes them

_SUBSAMPLE = 1 << 17


def quantized_tensor_names():
    """Names of the tensors the INT8 model holds in 8 bits (node names of export_fvm.build_graph;
    the two frames' pyramids share weights and, here, ranges per frame)."""
    names = []
    for f in ("f1", "f2"):
        for l, extra in ((1, 0), (2, 0), (3, 1), (4, 1), (5, 1)):
            names += [f"{f}.l{l}.c{i}" for i in range(extra + 1)]
    for l in LEVELS:
        p = f"dec{l}"
        names += [p + ".corr", p + ".c0_cost", p + ".c0_feat", p + ".c0_add_feat"]
        if l != LEVELS[0]:
            names += [p + ".up_scale", p + ".c0_flow", p + ".c0_add_flow"]
        names += [p + ".c0_act", p + ".c1", p + ".c1_act", p + ".c2", p + ".c2_act"]
    return names


def _ranges_from_fvm(path):
    """{name: (lo, hi)} from an INT8 .fvm's activation scales and zero points."""
    from int8_replay import int8_activations
    quant, _ = int8_activations(path)
    return {n: ((-128 - zp) * s, (127 - zp) * s) for n, (s, zp) in quant.items()}


class Int8Sim(nn.Module):
    def __init__(self, net, int8_fvm=None, percentile=99.9, momentum=0.99):
        super().__init__()
        self.net = [net]  # not a submodule: its parameters stay the optimizer's, its state dict plain
        self.names = quantized_tensor_names()
        self.index = {n: i for i, n in enumerate(self.names)}
        self.tail = (100.0 - percentile) / 100.0
        self.momentum = momentum
        r = torch.zeros(len(self.names), 2)
        seen = torch.zeros(len(self.names), dtype=torch.bool)
        if int8_fvm:
            for n, (lo, hi) in _ranges_from_fvm(int8_fvm).items():
                if n in self.index:
                    r[self.index[n]] = torch.tensor([lo, hi])
                    seen[self.index[n]] = True
        self.register_buffer("ranges", r)
        self.register_buffer("seen", seen)

    def q(self, name, x, update=True):
        i = self.index[name]
        x = x.float()
        if self.training and update:
            with torch.no_grad():
                flat = x.detach().reshape(-1)
                if flat.numel() > _SUBSAMPLE:
                    flat = flat[torch.randint(flat.numel(), (_SUBSAMPLE,), device=flat.device)]
                now = torch.quantile(flat, torch.tensor([self.tail, 1.0 - self.tail], device=flat.device))
                m = torch.where(self.seen[i], torch.tensor(self.momentum, device=flat.device),
                                torch.tensor(0.0, device=flat.device))
                self.ranges[i].copy_(m * self.ranges[i] + (1 - m) * now)
                self.seen[i] = True
        lo = self.ranges[i, 0].clamp(max=0.0)
        hi = torch.maximum(self.ranges[i, 1].clamp(min=0.0), lo + 1e-8)
        scale = (hi - lo) / 255.0
        zero = (-128 - torch.round(lo / scale)).clamp(-128, 127).to(torch.int32)
        return torch.fake_quantize_per_tensor_affine(x, scale, zero, -128, 127)

    def _conv(self, name, x, conv, weight=None, bias=True, act=None):
        w = conv.weight if weight is None else weight
        y = F.conv2d(x, fake_quant_weight(w), conv.bias.float() if bias else None, conv.stride,
                     conv.padding, conv.dilation, conv.groups)
        if act == "relu":
            y = F.relu(y)
        return self.q(name, y)

    def _pyramid(self, frame, g):
        feats, x = [], g
        for l, level in enumerate(self.net[0].feat, start=1):
            for i, c in enumerate(level):
                x = self._conv(f"{frame}.l{l}.c{i}", x, c, act="relu")
            feats.append(x)
        return feats

    def forward(self, pair):
        net = self.net[0]
        # The input's 8-bit grid is exact for pack_pair's rounded greys: no quantization step.
        f1, f2 = self._pyramid("f1", pair[:, 0:1].float()), self._pyramid("f2", pair[:, 1:2].float())
        flow = None
        for l in LEVELS:
            p, d = f"dec{l}", net.dec[str(l)]
            a, b = f1[l - 1], f2[l - 1]
            up = None
            if flow is not None:
                up = resize(flow, a.shape[2], a.shape[3]) * 2.0
                b = warp(b, up)  # INT8 in C++: a bilinear mix of f2's grid values, on f2's grid
                b = self.q(f2_name(l), b, update=False)
            cost = self.q(p + ".corr", correlation(a, b, DISP[l]))
            nc, ca = cost.shape[1], a.shape[1]
            w0 = d.c0.weight
            x = self._conv(p + ".c0_cost", cost, d.c0, w0[:, :nc])
            x = self.q(p + ".c0_add_feat", x + self._conv(p + ".c0_feat", a, d.c0, w0[:, nc:nc + ca], bias=False))
            if up is not None:
                uq = self.q(p + ".up_scale", up)
                x = self.q(p + ".c0_add_flow", x + self._conv(p + ".c0_flow", uq, d.c0, w0[:, nc + ca:], bias=False))
            x = self.q(p + ".c0_act", F.leaky_relu(x, DECODER_SLOPE))
            x = self.q(p + ".c1_act", F.leaky_relu(self._conv(p + ".c1", x, d.c1), DECODER_SLOPE))
            x = self.q(p + ".c2_act", F.leaky_relu(self._conv(p + ".c2", x, d.c2), DECODER_SLOPE))
            res = F.conv2d(x, d.out.weight.float(), d.out.bias.float(), 1, 1)  # FP32 (KEEP_FLOAT)
            flow = res if up is None else up + res
        return flow * float(2 ** LEVELS[-1])


def f2_name(level):
    """The tensor whose grid a level's warped features keep: f2's last layer at that level."""
    return {1: "f2.l1.c0", 2: "f2.l2.c0"}.get(level, f"f2.l{level}.c1")


def main():
    """Checks the simulation against int8_replay.py's replay of an INT8 file (which matches the
    C++ model's cosine within ~0.001) on fovea-bench core's photo pairs:

        /usr/bin/python3 models/flow/int8_sim.py CKPT FP32_FVM INT8_FVM
    """
    import argparse
    import sys

    import numpy as np
    import int8_replay
    import fvm_io
    from network import FlowNet

    ap = argparse.ArgumentParser()
    ap.add_argument("ckpt")
    ap.add_argument("fp32")
    ap.add_argument("int8")
    a = ap.parse_args()
    net = FlowNet()
    net.load_state_dict(torch.load(a.ckpt, map_location="cpu")["model"])
    net.eval()
    sim = Int8Sim(net, a.int8).eval()
    graph = fvm_io.read_fvm(a.fp32)
    quant, int8_nodes = int8_replay.int8_activations(a.int8)
    _, height, width, _ = graph["tensors"][graph["inputs"][0]]["shape"]
    sims, replays, gaps = [], [], []
    with torch.no_grad():
        for _, x in int8_replay.photo_pairs(height, width):
            t = torch.from_numpy(x).permute(0, 3, 1, 2)
            fp, q = net(t)[0], sim(t)
            r = int8_replay.run(graph, quant, x, int8_nodes)
            sims.append(int8_replay.cosine(q, fp))
            replays.append(int8_replay.cosine(r, fp))
            gaps.append((q - r).abs().mean().item())
    print(f"INT8 against FP32 output cosine, mean over {len(sims)} photo pairs: simulation "
          f"{np.mean(sims):.4f}, replay {np.mean(replays):.4f}; simulation against replay: "
          f"mean |difference| {np.mean(gaps):.4f} px")
    sys.exit(0 if abs(np.mean(sims) - np.mean(replays)) < 0.005 else 1)


if __name__ == "__main__":
    main()
