#!/usr/bin/python3
"""Writes tests/fixtures/reference_ops.fxt: inputs and PyTorch outputs for every reference op.

The C++ reference kernels (core/src/inference/reference_*.cpp) are checked against these, so
their conventions (padding, half-pixel resize, pooling borders, warping) are PyTorch's.
Run with Debian's interpreter: /usr/bin/python3 tests/reference/make_op_fixtures.py

File format: fxt_file.py. A case's "attrs" array (i32) holds its op attributes.
"""
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from fxt_file import write_fxt  # noqa: E402

rng = np.random.default_rng(20261122)
cases = []


def f32(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def nchw(x):
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def nhwc(t):
    return np.ascontiguousarray(t.detach().numpy().transpose(0, 2, 3, 1))


def add(name, attrs, **arrays):
    cases.append((name, dict(attrs=np.array(attrs, dtype=np.int32), **arrays)))


def conv_case(name, n, h, w, c, o, k, stride, dilation, pads, groups, relu6=False):
    """pads = (top, left, bottom, right); attrs follow that order after the geometry."""
    x = f32(n, h, w, c)
    wt = f32(o, k, k, c // groups, scale=0.3)  # OHWI
    b = f32(o, scale=0.1)
    top, left, bottom, right = pads
    xt = F.pad(nchw(x), (left, right, top, bottom))
    y = F.conv2d(xt, torch.from_numpy(wt.transpose(0, 3, 1, 2).copy()), torch.from_numpy(b),
                 stride=stride, dilation=dilation, groups=groups)
    if relu6:
        y = y.clamp(0, 6)
    add(name, [k, k, stride, stride, dilation, dilation, top, left, bottom, right, groups,
               int(relu6)], x=x, w=wt, b=b, y=nhwc(y))


conv_case("conv_3x3_s2", 1, 9, 11, 5, 7, 3, 2, 1, (1, 1, 1, 1), 1)
conv_case("conv_depthwise_d2", 2, 8, 7, 6, 6, 3, 1, 2, (2, 2, 2, 2), 6)
conv_case("conv_grouped_asym_pad_relu6", 1, 6, 5, 4, 6, 2, 1, 1, (0, 1, 1, 0), 2, relu6=True)
conv_case("conv_1x1", 1, 4, 4, 8, 3, 1, 1, 1, (0, 0, 0, 0), 1)

x = f32(3, 10)
wt = f32(4, 10)
b = f32(4)
add("fully_connected", [], x=x, w=wt, b=b, y=F.linear(torch.from_numpy(x), torch.from_numpy(wt),
                                                       torch.from_numpy(b)).numpy())

a, bb = f32(1, 4, 5, 3), f32(1, 1, 1, 3)
add("add_broadcast", [], a=a, b=bb, y=a + bb)
a, bb = f32(2, 3, 4), f32(3, 1)
add("multiply_broadcast", [], a=a, b=bb, y=a * bb)

a, bb = f32(1, 2, 3, 4), f32(1, 2, 3, 2)
add("concat_channels", [3], a=a, b=bb, y=np.concatenate([a, bb], axis=3))

x = f32(2, 5, 6, 3)
add("global_average_pool", [], x=x, y=x.mean(axis=(1, 2), keepdims=True))
add("global_max_pool", [], x=x, y=x.max(axis=(1, 2), keepdims=True))

x = f32(1, 9, 8, 3)
add("max_pool_3x3_s2_p1", [3, 2, 1], x=x, y=nhwc(F.max_pool2d(nchw(x), 3, 2, 1)))
add("average_pool_3x3_s2_p1", [3, 2, 1], x=x,
    y=nhwc(F.avg_pool2d(nchw(x), 3, 2, 1, count_include_pad=False)))

for name, (h, w, oh, ow), align in [("resize_up_half_pixel", (5, 7, 10, 14), False),
                                    ("resize_down_half_pixel", (8, 8, 3, 5), False),
                                    ("resize_up_align_corners", (4, 6, 7, 9), True)]:
    x = f32(1, h, w, 2)
    y = F.interpolate(nchw(x), size=(oh, ow), mode="bilinear", align_corners=align)
    add(name, [oh, ow, int(align)], x=x, y=nhwc(y))

x = f32(3, 17, scale=3.0)
xt = torch.from_numpy(x)
add("sigmoid", [], x=x, y=torch.sigmoid(xt).numpy())
add("tanh", [], x=x, y=torch.tanh(xt).numpy())
add("hardswish", [], x=x, y=F.hardswish(xt).numpy())
add("softmax", [], x=x, y=torch.softmax(xt, dim=-1).numpy())
add("clamp_relu6", [], x=x, y=xt.clamp(0, 6).numpy())

# Correlation has no PyTorch op; this is the definition written independently in NumPy.
a, bb, r = f32(1, 5, 6, 4), f32(1, 5, 6, 4), 2
pad = np.pad(bb, ((0, 0), (r, r), (r, r), (0, 0)))
out = np.zeros((1, 5, 6, (2 * r + 1) ** 2), np.float32)
for dy in range(-r, r + 1):
    for dx in range(-r, r + 1):
        shifted = pad[:, r + dy:r + dy + 5, r + dx:r + dx + 6, :]
        out[..., (dy + r) * (2 * r + 1) + (dx + r)] = (a * shifted).mean(axis=3)
add("correlation_r2", [r], a=a, b=bb, y=out)

# Warp = grid_sample at (x + u, y + v), align_corners=True, zeros outside.
x, flow = f32(1, 6, 7, 3), f32(1, 6, 7, 2, scale=2.0)
hh, ww = np.meshgrid(np.arange(6), np.arange(7), indexing="ij")
gx = (ww + flow[0, :, :, 0]) / (7 - 1) * 2 - 1
gy = (hh + flow[0, :, :, 1]) / (6 - 1) * 2 - 1
grid = torch.from_numpy(np.stack([gx, gy], axis=-1)[None].astype(np.float32))
y = F.grid_sample(nchw(x), grid, mode="bilinear", padding_mode="zeros", align_corners=True)
add("warp", [], x=x, flow=flow, y=nhwc(y))

features = f32(6, 3)
coordinates = np.array([[0, 0], [1, 2], [3, 1], [1, 2], [9, 9], [-1, 0]], np.int32)
grid = np.zeros((1, 4, 3, 3), np.float32)
for p, (row, col) in enumerate(coordinates):
    if 0 <= row < 4 and 0 <= col < 3:
        grid[0, row, col] = features[p]
add("scatter_to_grid", [4, 3], features=features, coordinates=coordinates, y=grid)


out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent.parent / "fixtures" / "reference_ops.fxt"
write_fxt(out, cases)
print(f"wrote {len(cases)} cases to {out} ({out.stat().st_size} bytes), torch {torch.__version__}")
