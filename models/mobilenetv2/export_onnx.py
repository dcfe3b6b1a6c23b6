#!/usr/bin/python3
"""Writes the MobileNetV2 benchmark models into models/mobilenetv2/:

  mobilenetv2_224.onnx      torchvision's layer plan at width 1.0, 224x224, 1000 classes
  mobilenetv2_050_160.onnx  width 0.5, 160x160, 100 classes
  mobilenetv2_035_128.onnx  width 0.35, 128x128, 100 classes

Random weights from a fixed seed (nothing can be downloaded, so no trained weights), batch-norm
statistics measured on smooth random images and residual branches damped as a trained network's
are (network.py says why). They are what `fovea-bench core` times against OpenCV DNN: networks of
the real shape and cost; accuracy claims need trained weights, and these make none. Exported at
opset 10, where ReLU6 is a Clip with attributes: OpenCV 4.6 rejects Clip's opset-11 form.

    /usr/bin/python3 models/mobilenetv2/export_onnx.py [OUT_DIR]
"""
import io
import sys
from pathlib import Path

import onnx
import torch
import torch.nn.functional as F

from network import MobileNetV2, damp_residual_branches, randomize_bn

SEED = 20261124


def smooth_images(count, seed):
    """Low-frequency noise at ImageNet-normalised scale: image-like activations for BN statistics."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.randn(count, 3, 14, 14, generator=generator)
    return F.interpolate(coarse, size=(224, 224), mode="bilinear", align_corners=False)


MODELS = [("mobilenetv2_224.onnx", 1.0, 224, 1000),
          ("mobilenetv2_050_160.onnx", 0.5, 160, 100),
          ("mobilenetv2_035_128.onnx", 0.35, 128, 100)]


def smooth_images_at(count, seed, size):
    return F.interpolate(smooth_images(count, seed), size=(size, size), mode="bilinear",
                         align_corners=False)


def main():
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
    for index, (name, width, size, classes) in enumerate(MODELS):
        torch.manual_seed(SEED + index)
        model = MobileNetV2(width=width, classes=classes)
        randomize_bn(model, [smooth_images_at(8, SEED + i, size) for i in range(4)])
        damp_residual_branches(model)
        model.eval()
        buffer = io.BytesIO()
        torch.onnx.export(model, smooth_images_at(1, SEED + 100, size), buffer, opset_version=10,
                          input_names=["image"], output_names=["logits"], do_constant_folding=True)
        onnx.checker.check_model(onnx.load_from_string(buffer.getvalue()))
        out = out_dir / name
        out.write_bytes(buffer.getvalue())
        params = sum(p.numel() for p in model.parameters())
        print(f"wrote {out}: {out.stat().st_size} bytes, {params} parameters, "
              f"torch {torch.__version__}")


if __name__ == "__main__":
    main()
