#!/usr/bin/python3
"""Quantization-aware fine-tuning for FlowNet: the convolutions fovea-quantize makes INT8 see
INT8-rounded weights and inputs while training, so the network learns weights that survive
post-training quantization (models/flow/README.md: INT8 costs +40% EPE on photo pairs, half of it
in the pyramid's 8-bit features).

What is simulated mirrors the C++ PTQ (core/src/inference/quantizer.cpp) and export_fvm.py:
- weights: per output channel, symmetric, 127 levels each side (qc8);
- inputs of every INT8 convolution: per tensor, asymmetric, 256 levels. Each decoder's first
  1x1 conv is exported as one conv per part of its input (cost volume, features, upsampled
  flow), each part with its own quantization, so the parts get their own ranges here too;
- the decoders' output convolutions (`decL.out`) stay FP32, as KEEP_FLOAT keeps them.
Ranges are exponential moving averages of each batch's min and max (momentum 0.99), frozen in
eval mode; they are buffers, so checkpoints carry them. Gradients pass straight through inside
the range (PyTorch's fake-quantize ops). The exported model is still quantized by fovea-quantize
from calibration pairs: QAT only makes the weights robust to it.

    net = FlowNet(); enable_qat(net)   # before loading a QAT checkpoint's state dict
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from network import DISP, FEAT, LEVELS


class _Range(nn.Module):
    """Running min/max of a tensor (EMA), and fake quantization to 256 levels over it."""

    def __init__(self, momentum=0.99):
        super().__init__()
        self.momentum = momentum
        self.register_buffer("lo", torch.zeros(()))
        self.register_buffer("hi", torch.zeros(()))
        self.register_buffer("seen", torch.zeros((), dtype=torch.bool))

    def forward(self, x):
        x = x.float()
        if self.training:
            with torch.no_grad():  # no host sync: the first batch's range is taken as it is
                lo, hi = x.min().clamp(max=0.0), x.max().clamp(min=0.0)
                m = self.momentum
                self.lo.copy_(torch.where(self.seen, m * self.lo + (1 - m) * lo, lo))
                self.hi.copy_(torch.where(self.seen, m * self.hi + (1 - m) * hi, hi))
                self.seen.fill_(True)
        scale = ((self.hi - self.lo) / 255.0).clamp(min=1e-8)
        zero_point = (-128 - torch.round(self.lo / scale)).clamp(-128, 127).to(torch.int32)
        return torch.fake_quantize_per_tensor_affine(x, scale, zero_point, -128, 127)


def fake_quant_weight(w):
    """Per output channel, symmetric, [-127, 127] (qc8)."""
    w = w.float()
    scale = (w.detach().abs().amax(dim=(1, 2, 3)) / 127.0).clamp(min=1e-12)
    zero = torch.zeros_like(scale, dtype=torch.int32)
    return torch.fake_quantize_per_channel_affine(w, scale, zero, 0, -127, 127)


class _QatConv(nn.Module):
    """Wraps a Conv2d: input parts fake-quantized by their own ranges, weights per channel."""

    def __init__(self, conv, parts=None):
        super().__init__()
        self.conv = conv
        self.parts = list(parts) if parts else [conv.in_channels]
        self.ranges = nn.ModuleList(_Range() for _ in self.parts)

    def forward(self, x):
        chunks = torch.split(x, self.parts, dim=1)
        x = torch.cat([r(c) for r, c in zip(self.ranges, chunks)], 1)
        c = self.conv
        return F.conv2d(x, fake_quant_weight(c.weight), c.bias, c.stride, c.padding, c.dilation, c.groups)


def enable_qat(net):
    """Swaps the INT8 convolutions of `net` (a FlowNet) for fake-quantized ones, in place.
    State-dict keys of the wrapped convs gain a `.conv` level and each gains range buffers."""
    for level in net.feat:
        for i, c in enumerate(level):
            level[i] = _QatConv(c)
    for l in LEVELS:
        d = net.dec[str(l)]
        side = 2 * DISP[l] + 1
        parts = [side * side, FEAT[l - 1]] + ([2] if l != LEVELS[0] else [])
        d.c0 = _QatConv(d.c0, parts)
        d.c1 = _QatConv(d.c1)
        d.c2 = _QatConv(d.c2)
    return net


def is_qat(net):
    return any(isinstance(m, _QatConv) for m in net.modules())


def plain_state_dict(net):
    """The weights of a FlowNet, QAT-wrapped or not, under the plain FlowNet's keys."""
    return {k.replace(".conv.", "."): v for k, v in net.state_dict().items() if ".ranges." not in k}


def weights(net):
    """Checkpoint entries: `model` always in plain keys (export_fvm.py, eval_sintel.py and a
    plain resume read it), plus `qat_state`, the wrapped state with its ranges, under QAT."""
    out = {"model": plain_state_dict(net)}
    if is_qat(net):
        out["qat_state"] = net.state_dict()
    return out


def load_weights(net, checkpoint):
    """Loads a checkpoint written by weights() (or an older plain one) into `net`, QAT-wrapped
    or not. A plain checkpoint into a wrapped net leaves the ranges to be learnt."""
    if is_qat(net) and "qat_state" in checkpoint:
        net.load_state_dict(checkpoint["qat_state"])
        return
    plain = checkpoint["model"]
    if not is_qat(net):
        net.load_state_dict(plain)
        return
    state = net.state_dict()
    for k in state:
        if ".ranges." not in k:
            state[k] = plain[k.replace(".conv.", ".")]
    net.load_state_dict(state)
