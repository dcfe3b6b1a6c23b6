#!/usr/bin/python3
"""fovea's learned optical flow: a compact PWC-Net (Sun et al., CVPR 2018) sized for INT8 on 2 CPU cores.

Input: one tensor `pair` [B,3,H,W] in [0,1]: channel 0 = frame 1 in grey, channel 1 = frame 2 in
grey, channel 2 = 0 (see README: one 3-channel input lets fovea-quantize calibrate from PNGs
today). H and W must be multiples of 32; the deployed model is 448x1024 (Sintel's 436 rows are
resized to 448 by the caller).

Network (levels l = 1..5 are 1/2 .. 1/32 of the input):
- Feature pyramid, shared by both frames: conv3x3/s2 + ReLU per level (levels 3-5 add a
  conv3x3/s1 + ReLU), channels 16, 24, 32, 64, 96.
- Coarse to fine, levels 5, 4, 3, 2: cost volume Correlation(f1, Warp(f2, up_flow)) with max
  displacement 4, 4, 3, 2 (81, 81, 49, 25 channels); a decoder (1x1 conv, two 3x3 convs, a 3x3
  conv to 2 channels) on [cost, f1, up_flow] predicts a residual; flow_l = up_flow + residual.
  up_flow = 2 * bilinear_resize(flow_{l+1}) (half-pixel centres).
- Output `flow` [B,2,H/4,W/4] = 4 * flow_2: flow at 1/4 resolution in input pixels. The caller
  upsamples it bilinearly (half-pixel centres, as cv::resize) to the frame.

Only ops the fovea core has: Conv2d (+ fused ReLU), Add, Multiply, Concat, ResizeBilinear,
Correlation, Warp. `correlation` and `warp` below are exactly the core's kCorrelation and kWarp
(core/src/inference/reference_flow_ops.cpp; fixtures in tests/reference/make_op_fixtures.py).

    /usr/bin/python3 models/flow/network.py      # prints parameters and MACs at 448x1024
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

# The coarsest level: 5 (1/32, the committed model) or 6, an experiment (session 6) that adds a
# 1/64 level and decoder so that the coarsest search reaches +-256 px instead of +-128 (inputs
# then a multiple of 64). Read once at import so that every module sees the same network.
COARSEST = int(os.environ.get("FOVEA_FLOW_COARSEST", "5"))
assert COARSEST in (5, 6), "FOVEA_FLOW_COARSEST must be 5 or 6"
FEAT = (16, 24, 32, 64, 96, 128)[:COARSEST]   # pyramid channels, levels 1..COARSEST
FEAT_EXTRA = (0, 0, 1, 1, 1, 1)[:COARSEST]    # extra stride-1 convs per level
DISP = {6: 4, 5: 4, 4: 4, 3: 3, 2: 2}         # correlation max displacement per decoder level
DEC = {6: (128, 64, 48), 5: (96, 64, 48), 4: (64, 64, 48), 3: (32, 32, 24), 2: (24, 24, 16)}
LEVELS = tuple(range(COARSEST, 1, -1))        # decoder levels, coarse to fine; the last is the output
DECODER_SLOPE = 0.1                # the decoders' LeakyReLU negative slope (core op LeakyRelu)


def correlation(a, b, r):
    """Core kCorrelation, NCHW: out[:, (dy+r)*(2r+1) + (dx+r)] = mean_c a[c,y,x] * b[c,y+dy,x+dx],
    zero where (y+dy, x+dx) leaves the map; stride 1."""
    B, C, H, W = a.shape
    k = 2 * r + 1
    a, b = a.float(), b.float()  # FP32 under autocast too (the core runs it in FP32)
    # All (2r+1)^2 shifted copies of b at once: a few kernels instead of one per displacement,
    # which made training launch-bound. unfold orders its rows (channel, dy, dx).
    shifted = F.unfold(F.pad(b, (r, r, r, r)), k).view(B, C, k * k, H, W)
    return (a[:, :, None] * shifted).mean(1)


def warp(x, flow):
    """Core kWarp, NCHW: bilinear sample of x at (col + flow_x, row + flow_y), each of the four
    taps zero outside the map (grid_sample, align_corners=True, zeros)."""
    B, _, H, W = x.shape
    x, flow = x.float(), flow.float()  # FP32 under autocast: bf16 positions would be off by pixels
    ys, xs = torch.meshgrid(torch.arange(H, device=x.device, dtype=x.dtype),
                            torch.arange(W, device=x.device, dtype=x.dtype), indexing="ij")
    gx = (xs + flow[:, 0]) * (2.0 / max(W - 1, 1)) - 1.0
    gy = (ys + flow[:, 1]) * (2.0 / max(H - 1, 1)) - 1.0
    return F.grid_sample(x, torch.stack([gx, gy], -1), mode="bilinear", padding_mode="zeros",
                         align_corners=True)


def resize(x, h, w):
    """Core kResizeBilinear with align_corners = false (half-pixel centres)."""
    return F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)


def conv(cin, cout, k=3, stride=1):
    return nn.Conv2d(cin, cout, k, stride, padding=k // 2)


class Decoder(nn.Module):
    def __init__(self, cin, widths):
        super().__init__()
        w0, w1, w2 = widths
        self.c0, self.c1, self.c2, self.out = conv(cin, w0, 1), conv(w0, w1), conv(w1, w2), conv(w2, 2)

    def forward(self, x):
        # LeakyReLU (PWC-Net's choice): with plain ReLU the first H100 run's decoders died
        # (c2 99 % zero, README "First GPU call").
        x = F.leaky_relu(self.c0(x), DECODER_SLOPE)
        x = F.leaky_relu(self.c1(x), DECODER_SLOPE)
        x = F.leaky_relu(self.c2(x), DECODER_SLOPE)
        return self.out(x)


class FlowNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.feat = nn.ModuleList()
        cin = 1
        for l in range(len(FEAT)):
            convs = [conv(cin, FEAT[l], 3, 2)] + [conv(FEAT[l], FEAT[l]) for _ in range(FEAT_EXTRA[l])]
            self.feat.append(nn.ModuleList(convs))
            cin = FEAT[l]
        self.dec = nn.ModuleDict()
        for l in LEVELS:
            side = 2 * DISP[l] + 1
            cin = side * side + FEAT[l - 1] + (2 if l != LEVELS[0] else 0)
            self.dec[str(l)] = Decoder(cin, DEC[l])
        # He initialisation. PyTorch's default conv init shrinks the activation variance ~6x per
        # ReLU layer: at 1/8-1/32 the features had std ~0.01 and the cost volume ~1e-4, so the
        # decoders could not see motion and the first H100 call learnt nothing (README).
        for level in self.feat:
            for c in level:
                nn.init.kaiming_normal_(c.weight, nonlinearity="relu")
                nn.init.zeros_(c.bias)
        for d in self.dec.values():
            for c in (d.c0, d.c1, d.c2):
                nn.init.kaiming_normal_(c.weight, a=DECODER_SLOPE, nonlinearity="leaky_relu")
                nn.init.zeros_(c.bias)
        # Small last layers: the first flows start near zero.
        for d in self.dec.values():
            nn.init.normal_(d.out.weight, std=1e-3)
            nn.init.zeros_(d.out.bias)

    def pyramid(self, g):
        feats, x = [], g
        for level in self.feat:
            for c in level:
                x = F.relu(c(x))
            feats.append(x)
        return feats  # feats[l-1] is level l

    def forward(self, pair):
        """pair [B,3,H,W] -> (flow [B,2,H/4,W/4] in input pixels, {level: flow in level pixels})."""
        f1, f2 = self.pyramid(pair[:, 0:1]), self.pyramid(pair[:, 1:2])
        flows, flow = {}, None
        for l in LEVELS:
            a, b = f1[l - 1], f2[l - 1]
            if flow is None:
                cost = correlation(a, b, DISP[l])
                flow = self.dec[str(l)](torch.cat([cost, a.float()], 1)).float()
            else:  # the flow path stays FP32 under autocast (and in the INT8 model)
                up = resize(flow, a.shape[2], a.shape[3]) * 2.0
                cost = correlation(a, warp(b, up), DISP[l])
                flow = up + self.dec[str(l)](torch.cat([cost, a.float(), up], 1)).float()
            flows[l] = flow
        return flow * float(2 ** LEVELS[-1]), flows


def pack_pair(img1, img2):
    """RGB [B,3,H,W] pair in [0,1] -> the network input: grey 1, grey 2, zeros. The grey is
    rounded to 8 bits, as the C++ side's cv::cvtColor(BGR2GRAY) gives it."""
    g = lambda im: torch.round((0.299 * im[:, 0:1] + 0.587 * im[:, 1:2] + 0.114 * im[:, 2:3]) * 255) / 255
    return torch.cat([g(img1), g(img2), torch.zeros_like(img1[:, :1])], 1)


def count(model, height=448, width=1024, export_stem=True):
    """(parameters, conv MACs, correlation MACs, per-layer list) for one pair at height x width."""
    rows, hooks = [], []

    def hook(name):
        def f(m, inp, out):
            cin = m.in_channels * (3 if export_stem and m.in_channels == 1 else 1)
            macs = out.shape[2] * out.shape[3] * m.out_channels * m.kernel_size[0] * m.kernel_size[1] * cin // m.groups
            rows.append((name, tuple(out.shape[1:]), macs))
        return f

    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(hook(name)))
    with torch.no_grad():
        model(torch.zeros(1, 3, height, width))
    for h in hooks:
        h.remove()
    corr = 0
    for l in LEVELS:
        hh, ww = height >> l, width >> l
        corr += hh * ww * (2 * DISP[l] + 1) ** 2 * FEAT[l - 1]
    params = sum(p.numel() for p in model.parameters())
    return params, sum(r[2] for r in rows), corr, rows


if __name__ == "__main__":
    net = FlowNet().eval()
    params, macs, corr, rows = count(net)
    for name, shape, m in rows:
        print(f"  {name:12s} {str(shape):18s} {m / 1e6:8.1f} M")
    print(f"parameters: {params} ({params * 4 / 1e6:.2f} MB FP32, ~{params / 1e6:.2f} MB INT8)")
    print(f"conv MACs at 448x1024 (export graph, 3-channel stems, both frames): {macs / 1e9:.3f} G")
    print(f"correlation MACs (FP32 in the core): {corr / 1e6:.1f} M")
