#!/usr/bin/python3
"""Writes the learned-flow test fixtures: a tiny FP32 flow model and PyTorch's output on it.

- tests/fixtures/flow_tiny_fp32.fvm: models/flow's FlowNet with fixed random weights
  (torch.manual_seed), exported by models/flow/export_fvm.py's build_graph at 64x128, the
  smallest input whose 1/32 level is more than one pixel tall. The weights do not depend on the
  input size, so the file is as large as the deployed FP32 model (~2.5 MB).
- tests/fixtures/flow_tiny.fxt (format: make_op_fixtures.py), case "pair": `frame1`, `frame2`
  (i32 [64,128], grey levels 0..255: a smooth random texture and the same texture moved by
  (2.5, -1.5) px) and `flow` (f32 [1,16,32,2]), the PyTorch module's output on the input
  (frame1/255, frame2/255, 0), NHWC as the core gives it.

The random decoders alone would give flows of ~1e-3 px, which would leave Warp sampling at
whole pixels. As export_fvm.py's own check does, the output layers get larger weights and
biases, so every level's flow is a few level pixels, varies over the image and puts the warps'
taps at fractional positions and partly outside the map.

    /usr/bin/python3 tests/reference/make_flow_fixture.py
"""
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "models" / "flow"))
from export_fvm import build_graph  # noqa: E402
from fvm_io import read_fvm, run_fvm, write_fvm  # noqa: E402
from network import FlowNet  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from fxt_file import write_fxt  # noqa: E402

H, W = 64, 128
SHIFT = (2.5, -1.5)


def texture(shape, seed, dx=0.0, dy=0.0):
    """A sum of 12 sinusoids sampled at (x - dx, y - dy), rounded to 8 bits."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
    xs, ys = xs - dx, ys - dy
    v = np.zeros(shape)
    for _ in range(12):
        fx, fy = rng.uniform(-0.35, 0.35, 2)
        v += rng.uniform(0.5, 1.0) * np.sin(fx * xs + fy * ys + rng.uniform(0, 2 * np.pi))
    v = (v - v.min()) / (v.max() - v.min())
    return np.round(v * 235 + 10).astype(np.int32)


def tiny_net():
    torch.manual_seed(20261122)
    net = FlowNet().eval()
    with torch.no_grad():
        for d in net.dec.values():
            d.out.weight.normal_(0.0, 0.05)
            d.out.bias.uniform_(-0.8, 0.8)
    return net


def main():
    fixtures = ROOT / "tests" / "fixtures"
    net = tiny_net()
    model_path = fixtures / "flow_tiny_fp32.fvm"
    size = write_fvm(str(model_path), build_graph(net, H, W), "flow_tiny_fp32",
                     f"test fixture: models/flow FlowNet, random weights, input [1,{H},{W},3]",
                     "tool: tests/reference/make_flow_fixture.py")

    frame1 = texture((H, W), 7)
    frame2 = texture((H, W), 7, *SHIFT)
    x = torch.zeros(1, 3, H, W)
    # As the C++ side packs it: 8-bit grey divided by 255 in float32.
    x[0, 0] = torch.from_numpy(frame1.astype(np.float32)) / 255
    x[0, 1] = torch.from_numpy(frame2.astype(np.float32)) / 255
    with torch.no_grad():
        out, levels = net(x)
    flow = out.permute(0, 2, 3, 1).contiguous().numpy()
    for level, f in levels.items():
        print(f"level {level}: flow in level px from {f.min():.2f} to {f.max():.2f}, "
              f"std {f.std():.2f}")

    # The file as the core will read it, run by fvm_io's interpreter: the export is right.
    got = run_fvm(read_fvm(str(model_path)), {"pair": x.permute(0, 2, 3, 1).numpy()})["flow"]
    err = np.abs(got - flow).max()
    assert err < 1e-4 * max(1.0, np.abs(flow).max()), err

    write_fxt(fixtures / "flow_tiny.fxt",
              [("pair", dict(frame1=frame1, frame2=frame2, flow=flow))])
    print(f"wrote {model_path} ({size} bytes) and flow_tiny.fxt; output flow from "
          f"{flow.min():.2f} to {flow.max():.2f} px, fvm_io vs module max |diff| {err:.1e}; "
          f"torch {torch.__version__}")


if __name__ == "__main__":
    main()
