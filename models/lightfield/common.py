"""Small helpers shared by the recipe's command-line scripts."""
import os
import sys
import time

import torch


class Log:
    """Appends timestamped lines to a file and echoes them to stdout."""

    def __init__(self, path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.f = open(path, "a", buffering=1)

    def __call__(self, msg):
        line = "%s %s" % (time.strftime("%Y-%m-%d %H:%M:%S"), msg)
        self.f.write(line + "\n")
        print(line, flush=True)


def pick_device(name):
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def atomic_save(obj, path):
    """Write then rename, so a run killed mid-save never leaves a torn checkpoint."""
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def torch_load(path):
    # weights_only=False: our checkpoints hold optimizer state and plain Python config.
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except TypeError:  # torch < 1.13 has no weights_only
        return torch.load(path, map_location="cpu")


def psnr(mse):
    return -10.0 * torch.log10(torch.as_tensor(mse, dtype=torch.float64)).item()


def describe_env(log):
    log("python %s, torch %s, cuda %s, device %s" % (
        sys.version.split()[0], torch.__version__, torch.version.cuda,
        torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"))
