"""MobileNetV2 (Sandler et al. 2018) as torchvision lays it out, from torch.nn layers only, plus
the two steps that make a randomly initialised copy behave like a trained one numerically.

Used by export_onnx.py (the benchmark model) and by tests/reference/make_onnx_models.py (the
importer's test fixtures). Debian has no torchvision for its Python, and nothing is downloaded,
so the layer plan is written out here.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn(cin, cout, k, stride=1, groups=1, act=None):
    layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act)
    return nn.Sequential(*layers)


def make_divisible(v, divisor=8):
    """torchvision's _make_divisible."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = int(round(cin * expand))
        self.residual = stride == 1 and cin == cout
        layers = []
        if expand != 1:
            layers.append(conv_bn(cin, hidden, 1, act=nn.ReLU6()))
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6()),
                   conv_bn(hidden, cout, 1)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2(nn.Module):
    """torchvision.models.mobilenet_v2's layer plan, built from torch.nn layers."""

    def __init__(self, width=0.35, classes=64):
        super().__init__()
        plan = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1)]
        cin = make_divisible(32 * width)
        last = make_divisible(1280 * max(1.0, width))
        layers = [conv_bn(3, cin, 3, 2, act=nn.ReLU6())]
        for t, c, n, s in plan:
            cout = make_divisible(c * width)
            for i in range(n):
                layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        layers.append(conv_bn(cin, last, 1, act=nn.ReLU6()))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, classes))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


def randomize_bn(model, calibration):
    """Random affine BN parameters, and running statistics measured on image-like inputs, so
    activations stay in a realistic range through a deep random network."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.normal_(0.0, 0.2)
            m.momentum = None  # a cumulative average over the calibration passes
    model.train()
    with torch.no_grad():
        for batch in calibration:
            model(batch)
    model.eval()


def damp_residual_branches(model, factor=0.2):
    """A random network with batch norm is chaotic: a small perturbation grows layer after layer
    (Yang et al. 2019), so INT8 rounding in the stem would dominate the output and PTQ tests
    would measure the random init, not the quantizer (cosine 0.98 here, undamped). Trained
    networks keep residual branches small next to the skip path, which is also where
    zero-init-residual training starts (Goyal et al. 2017); scaling each residual branch's last
    BN by `factor` gives the random network that behaviour (cosine 0.9999 in a PyTorch
    fake-quantization check)."""
    for m in model.modules():
        if isinstance(m, InvertedResidual) and m.residual:
            m.conv[-1][1].weight.data *= factor
