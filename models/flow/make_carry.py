#!/usr/bin/python3
"""Builds the carry folder the GPU machine trains from (it cannot reach ../shared).

    /usr/bin/python3 models/flow/make_carry.py [--out .work/flow/carry] [--shared ../shared/data]

What goes in (all allowed as training textures by ../shared/data/README.md; never Sintel):
  textures/bsds_*.jpg    the 200 BSDS500 *train* photos, copied byte for byte (481x321 / 321x481)
  textures/davis_*.jpg   DAVIS-2016 train frames, every 12th frame of each of the 30 sequences
  textures/cvdoc_*.jpg   opencv-doc example photos (apt: opencv-doc), colour, >= 240 px a side
  masks.npz              object shapes: DAVIS masks cropped to their box, fitted into 128x128,
                         np.packbits over rows (key "bits", shape [N, 128, 16]) + "count"
  manifest.txt           what is in it, with sizes

JPEG is kept as JPEG (decoded on the GPU machine with PIL, torchvision.io or OpenCV, whichever is
there), so the folder stays ~30 MB. Needs numpy and PIL.
"""
import argparse
import glob
import os
import shutil

import numpy as np
from PIL import Image

MASK_SIDE = 128


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=".work/flow/carry")
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "../../../shared/data"))
    ap.add_argument("--davis-step", type=int, default=12)
    ap.add_argument("--cvdoc", default="/usr/share/doc/opencv-doc/examples/data")
    a = ap.parse_args()
    shared = os.path.abspath(a.shared)
    tex = os.path.join(a.out, "textures")
    os.makedirs(tex, exist_ok=True)
    lines = []

    bsds = sorted(glob.glob(os.path.join(shared, "seg/bsds500/images/train/*.jpg")))
    for p in bsds:
        shutil.copyfile(p, os.path.join(tex, "bsds_" + os.path.basename(p)))
    lines.append(f"bsds500 train photos: {len(bsds)}")

    davis_root = os.path.join(shared, "seg/davis2016_train")
    seqs = sorted(os.listdir(os.path.join(davis_root, "JPEGImages")))
    n_davis, masks = 0, []
    for s in seqs:
        frames = sorted(glob.glob(os.path.join(davis_root, "JPEGImages", s, "*.jpg")))
        for i, p in enumerate(frames):
            name = os.path.splitext(os.path.basename(p))[0]
            mpath = os.path.join(davis_root, "Annotations", s, name + ".png")
            if i % a.davis_step == 0:
                shutil.copyfile(p, os.path.join(tex, f"davis_{s}_{name}.jpg"))
                n_davis += 1
            if i % (a.davis_step // 2) == 0 and os.path.exists(mpath):
                m = np.asarray(Image.open(mpath).convert("L"))
                if (m > 127).sum() < 400:
                    continue
                ys, xs = np.nonzero(m > 127)
                crop = m[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
                h, w = crop.shape
                s_ = (MASK_SIDE - 4) / max(h, w)
                crop = np.asarray(Image.fromarray(crop).resize(
                    (max(1, round(w * s_)), max(1, round(h * s_))), Image.BOX))
                box = np.zeros((MASK_SIDE, MASK_SIDE), np.uint8)
                y0 = (MASK_SIDE - crop.shape[0]) // 2
                x0 = (MASK_SIDE - crop.shape[1]) // 2
                box[y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]] = crop > 127
                masks.append(np.packbits(box, axis=1))
    lines.append(f"davis train frames (every {a.davis_step}th): {n_davis}")
    lines.append(f"davis masks (every {a.davis_step // 2}th, >= 400 px): {len(masks)}")
    np.savez_compressed(os.path.join(a.out, "masks.npz"), bits=np.stack(masks), count=len(masks))

    n_cv = 0
    for p in sorted(glob.glob(os.path.join(a.cvdoc, "*.jpg")) + glob.glob(os.path.join(a.cvdoc, "*.png"))):
        pil = Image.open(p)
        if pil.mode not in ("RGB", "RGBA") or min(pil.size) < 240:
            continue
        im = np.asarray(pil.convert("RGB"))
        if float(np.std(im.astype(np.float32).mean(2) - im[:, :, 0])) < 2.0:  # grey pictures
            continue
        pil = Image.fromarray(im)
        if max(im.shape[:2]) > 800:
            s_ = 800 / max(im.shape[:2])
            pil = pil.resize((round(im.shape[1] * s_), round(im.shape[0] * s_)), Image.BOX)
        pil.save(os.path.join(tex, "cvdoc_" + os.path.splitext(os.path.basename(p))[0] + ".jpg"),
                 quality=92)
        n_cv += 1
    lines.append(f"opencv-doc colour photos: {n_cv}")
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(a.out) for f in fs)
    lines.append(f"total bytes: {total}")
    with open(os.path.join(a.out, "manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
