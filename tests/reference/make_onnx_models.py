#!/usr/bin/python3
"""Writes the ONNX models the importer is tested on, and PyTorch's outputs for them.

Run with Debian's interpreter (torch 1.13, onnx 1.12):
    /usr/bin/python3 tests/reference/make_onnx_models.py [OUT_DIR]

Writes into tests/fixtures/ (or OUT_DIR):
  onnx_small_cnn.onnx       conv+BN+ReLU, depthwise conv with ReLU6, residual add, a BN with no
                            conv before it, max pool, bilinear upsample, concat, hardswish,
                            squeeze-excite (sigmoid gate), global pool, flatten, linear, softmax.
                            Exported with training=PRESERVE so BatchNormalization nodes stay in
                            the file and the importer's folding is what gets tested.
  onnx_mobilenetv2_035.onnx MobileNetV2-shaped: torchvision's layer plan (inverted residuals with
                            ReLU6, every block) at width multiplier 0.35, 224x224 input, a 64-class
                            head instead of 1000 to keep the file under 2 MB. Exported in EVAL mode
                            (PyTorch folds BN itself), as most users export. Residual branches are
                            damped (damp_residual_branches) so the random network is no more
                            sensitive to rounding than a trained one.
  onnx_ops_opset11.onnx,    the rest of the op list: Sub/Div by constants, dilated conv + Clip,
  onnx_ops_opset17.onnx     tanh, channel mean, average pool with ceil_mode, align_corners resize,
                            nearest upsample, global pool + Squeeze, Unsqueeze, HardSwish, MatMul +
                            bias, a flatten of a 8x9 map into Gemm, and an NHWC output through
                            Transpose; at the oldest and newest opsets the importer takes.
  onnx_more_ops.onnx        layout round trips (NCHW -> NHWC -> NCHW Transposes with arithmetic
                            between), Sub of two activations, dilated max pool, softmax over
                            channels, Concat with a constant, ReduceMax, BatchNorm1d after Gemm,
                            a flattened map into MatMul, addmm (Gemm without transB).
  onnx_unsupported_op.onnx, tiny hand-made models (onnx.helper) whose import must fail naming the
  onnx_unsupported_attribute.onnx  node and what is unsupported.
  onnx_models.fxt           per model: PyTorch's outputs (4-D outputs in NHWC, as fovea returns
                            them) and the input's sum.

Inputs are not stored: they are procedural_image(), which tests/core/onnx_import_test.cpp computes
bit for bit the same (integer arithmetic, then float32 normalisation). The .fxt format is the one
of make_op_fixtures.py.
"""
import io
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "models" / "mobilenetv2"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from fxt_file import write_fxt  # noqa: E402
from network import (MobileNetV2, conv_bn, damp_residual_branches,  # noqa: E402
                     randomize_bn)

torch.manual_seed(20261123)
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def procedural_u8(channels, h, w, variant):
    """An image-like pattern (gradients, rings, tiles) from integer arithmetic only."""
    y = np.arange(h, dtype=np.int64)[:, None]
    x = np.arange(w, dtype=np.int64)[None, :]
    cy = h * (3 + variant % 3) // 8
    cx = w * (5 - variant % 4) // 8
    ring = ((y - cy) ** 2 + (x - cx) ** 2) // (h + 7 * variant + 1)
    tiles = (y // (h // 7 + 1) + x // (w // 5 + 1) + variant) % 3
    planes = []
    for k in range(channels):
        v = (x * 255 // max(w - 1, 1) * (k + 1) + y * 255 // max(h - 1, 1) * (channels - k) +
             60 * variant) // (channels + 1)
        v = (v + 40 * (ring % (4 + k)) + 70 * tiles * int(k == variant % channels)) % 256
        planes.append(np.broadcast_to(v, (h, w)))
    return np.stack(planes)[None]  # [1, C, H, W]


def procedural_image(channels, h, w, variant):
    """float32 NCHW, scaled to [0, 1] and normalised with ImageNet's mean and std."""
    u8 = procedural_u8(channels, h, w, variant).astype(np.float32)
    f = u8 / np.float32(255.0)
    mean = MEAN[np.arange(channels) % 3].reshape(1, channels, 1, 1)
    std = STD[np.arange(channels) % 3].reshape(1, channels, 1, 1)
    return ((f - mean) / std).astype(np.float32)


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 16, 3, 2, act=nn.ReLU())
        self.dw = conv_bn(16, 16, 3, groups=16, act=nn.ReLU6())
        self.pw = conv_bn(16, 16, 1)
        self.post_add_bn = nn.BatchNorm2d(16)  # no conv before it: kept as Mul + Add
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.branch = conv_bn(16, 24, 3, 2, act=nn.Hardswish())
        self.head = conv_bn(40, 32, 1, act=nn.ReLU())
        self.se_reduce = nn.Conv2d(32, 8, 1)
        self.se_expand = nn.Conv2d(8, 32, 1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        s = self.stem(x)
        y = F.relu(s + self.pw(self.dw(s)))
        y = self.pool(self.post_add_bn(y))
        b = self.branch(y)
        b = F.interpolate(b, scale_factor=2.0, mode="bilinear", align_corners=False)
        h = self.head(torch.cat([y, b], dim=1))
        gate = torch.sigmoid(self.se_expand(F.relu(self.se_reduce(F.adaptive_avg_pool2d(h, 1)))))
        h = h * gate
        return torch.softmax(self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1)), dim=1)


class OpsModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=2, dilation=2)
        self.conv2 = nn.Conv2d(8, 8, 1)
        self.fc = nn.Linear(8 * 8 * 9, 10)
        self.w = nn.Parameter(torch.randn(8, 4) * 0.3)
        self.b = nn.Parameter(torch.randn(4) * 0.1)

    def forward(self, x):
        x = (x - 0.5) / 0.25
        a = torch.clamp(self.conv1(x), -1.0, 2.0)
        b = torch.tanh(self.conv2(a)) + a.mean(dim=1, keepdim=True)
        b = F.avg_pool2d(b, 3, 2, 1, ceil_mode=True, count_include_pad=False)
        u = F.interpolate(b, size=(15, 17), mode="bilinear", align_corners=True)
        n = F.interpolate(b, scale_factor=2.0, mode="nearest")
        s = u.mean(dim=(2, 3)).unsqueeze(-1).unsqueeze(-1)
        h = F.hardswish(u * torch.sigmoid(s))
        p = F.max_pool2d(h, 2, 2, ceil_mode=True)
        logits = torch.softmax(self.fc(torch.flatten(p, 1)), dim=-1)
        g = F.adaptive_avg_pool2d(h, 1).squeeze(3).squeeze(2)
        return logits, torch.matmul(g, self.w) + self.b, n.permute(0, 2, 3, 1)


class MoreOps(nn.Module):
    """Layout round trips and the paths the other models miss."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, stride=(1, 2), padding=1)
        self.register_buffer("extra", torch.randn(1, 2, 18, 10))
        self.fc = nn.Linear(8, 5)
        self.bn = nn.BatchNorm1d(5)  # after a Gemm: folds into it
        self.w = nn.Parameter(torch.randn(6 * 18 * 10, 3) * 0.05)
        self.w2 = nn.Parameter(torch.randn(8, 4) * 0.3)
        self.b2 = nn.Parameter(torch.randn(4) * 0.1)

    def forward(self, x):
        y = self.conv(x)
        t = y.permute(0, 2, 3, 1) * 2.0 + 1.0  # elementwise on an NHWC tensor
        d = t.permute(0, 3, 1, 2) - torch.sigmoid(y)  # back to NCHW; Sub of two activations
        m = F.max_pool2d(d, 3, stride=1, padding=1, dilation=2)  # 20x12 -> 18x10
        s = torch.softmax(m, dim=1)  # over channels of a feature map
        g = torch.cat([s, self.extra], dim=1).amax(dim=(2, 3))  # a constant input; ReduceMax
        h = self.bn(self.fc(g))
        flat = torch.flatten(m, 1) @ self.w  # a flattened map into MatMul
        return s, h, flat, torch.addmm(self.b2, g, self.w2)


def export(model, x, path, opset, training=torch.onnx.TrainingMode.EVAL):
    buffer = io.BytesIO()
    torch.onnx.export(model, torch.from_numpy(x), buffer, opset_version=opset, training=training,
                      input_names=["image"], do_constant_folding=True)
    onnx_model = onnx.load_from_string(buffer.getvalue())
    onnx.checker.check_model(onnx_model)
    path.write_bytes(buffer.getvalue())
    ops = sorted({n.op_type for n in onnx_model.graph.node})
    print(f"{path.name}: {path.stat().st_size} bytes, opset {opset}, ops {' '.join(ops)}")


def nhwc_if_4d(t):
    a = t.detach().numpy()
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)) if a.ndim == 4 else a


def tiny_models(out):
    """Hand-made models whose import must fail cleanly."""
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 3, 1, 1], np.ones(12, np.float32))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 4, 4])
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
         helper.make_node("Erf", ["c"], ["y"], name="erf_gate")], "unsupported_op", [x], [y], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    (out / "onnx_unsupported_op.onnx").write_bytes(model.SerializeToString())

    scales = helper.make_tensor("scales", TensorProto.FLOAT, [4], [1, 1, 2, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])
    graph = helper.make_graph(
        [helper.make_node("Resize", ["x", "", "scales"], ["y"], name="cubic_upsample",
                          mode="cubic")], "unsupported_attribute", [x], [y], [scales])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    (out / "onnx_unsupported_attribute.onnx").write_bytes(model.SerializeToString())


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent.parent / "fixtures"
    cases = []

    def add_case(name, x, outputs):
        arrays = {"x_sum": np.array([x.astype(np.float64).sum()], np.float32)}
        for i, t in enumerate(outputs):
            arrays[f"y{i}"] = nhwc_if_4d(t)
        cases.append((name, arrays))

    calibration = [torch.from_numpy(procedural_image(3, 48, 64, v)) for v in range(1, 5)]
    small = SmallCnn()
    randomize_bn(small, calibration)
    x = procedural_image(3, 48, 64, 0)
    export(small, x, out / "onnx_small_cnn.onnx", 13, torch.onnx.TrainingMode.PRESERVE)
    with torch.no_grad():
        add_case("small_cnn", x, [small(torch.from_numpy(x))])

    calibration = [torch.from_numpy(np.concatenate(
        [procedural_image(3, 224, 224, v) for v in range(1, 5)]))]
    mobilenet = MobileNetV2()
    randomize_bn(mobilenet, calibration)
    damp_residual_branches(mobilenet)
    x = procedural_image(3, 224, 224, 0)
    export(mobilenet, x, out / "onnx_mobilenetv2_035.onnx", 13)
    with torch.no_grad():
        add_case("mobilenetv2_035", x, [mobilenet(torch.from_numpy(x))])

    ops = OpsModel().eval()
    x = procedural_image(3, 20, 24, 0)
    for opset in (11, 17):
        export(ops, x, out / f"onnx_ops_opset{opset}.onnx", opset)
    with torch.no_grad():
        outputs = ops(torch.from_numpy(x))
    for opset in (11, 17):
        # The Transpose'd output is NHWC in ONNX already: stored as PyTorch returns it.
        add_case(f"ops_opset{opset}", x, [outputs[0], outputs[1]])
        cases[-1][1]["y2"] = outputs[2].numpy()

    more = MoreOps().eval()
    more.bn.running_mean.normal_(0.0, 0.5)
    more.bn.running_var.uniform_(0.5, 2.0)
    more.bn.weight.data.uniform_(0.5, 1.5)
    more.bn.bias.data.normal_(0.0, 0.2)
    x = procedural_image(3, 20, 24, 0)
    export(more, x, out / "onnx_more_ops.onnx", 13, torch.onnx.TrainingMode.PRESERVE)
    with torch.no_grad():
        add_case("more_ops", x, list(more(torch.from_numpy(x))))

    tiny_models(out)

    path = out / "onnx_models.fxt"
    write_fxt(path, [(name, {k: np.asarray(v, np.float32) for k, v in arrays.items()})
                     for name, arrays in cases])
    print(f"wrote {len(cases)} cases to {path} ({path.stat().st_size} bytes), torch {torch.__version__}")


if __name__ == "__main__":
    main()
