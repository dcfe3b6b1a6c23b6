"""PNG read/write without OpenCV.

The GPU machine has Pillow and torchvision but no OpenCV; a Debian dev box has Pillow
through apt (python3-pil). Writing uses zlib directly so previews never depend on either.
"""
import struct
import zlib

import numpy as np


def read_png(path):
    """Returns uint8 [H, W, C] with C in (1, 3, 4), as stored in the file."""
    try:
        from PIL import Image
        with Image.open(path) as im:
            im.load()
            return np.asarray(im).copy() if im.mode != "P" else np.asarray(im.convert("RGBA")).copy()
    except ImportError:
        import torchvision.io as tvio
        img = tvio.read_image(path, tvio.ImageReadMode.UNCHANGED)
        return img.permute(1, 2, 0).contiguous().numpy()


def write_png(path, img):
    """img: uint8 [H, W, 3|4] or [H, W]."""
    img = np.ascontiguousarray(img)
    if img.dtype != np.uint8:
        raise TypeError("write_png wants uint8, got %s" % img.dtype)
    if img.ndim == 2:
        img = img[..., None]
    h, w, c = img.shape
    color_type = {1: 0, 3: 2, 4: 6}[c]
    raw = np.concatenate([np.zeros((h, 1), np.uint8), img.reshape(h, w * c)], axis=1)

    def chunk(tag, data):
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw.tobytes(), 6))
    png += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)
