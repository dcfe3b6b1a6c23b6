"""Train the teacher radiance field (TensoRF-VM) on a nerf_synthetic or LLFF scene.

    python3 train_teacher.py --data .data/lego_400 --out .work/lightfield/lego --iters 15000 --max-minutes 6

Resumes from OUT/ckpt.pt when it exists (same command again). Stops by itself, with a
checkpoint, once --max-minutes of wall clock have passed. When the last iteration is done
it writes OUT/teacher_fp16.*-of-*.pt: the half-precision export that evaluation, meshing
and later distillation read (sharded under 15 MiB so the GPU machine can hand it back).
"""
import argparse
import glob
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from common import Log, atomic_save, describe_env, pick_device, psnr, torch_load
from datasets import load_scene, scene_rays
from teacher import TensorVM, build_from_export, load_sharded, n_to_reso, save_sharded

# TensoRF's published settings for the two layouts (configs/lego.txt, configs/flower.txt).
PRESETS = {
    "blender": dict(
        aabb=[[-1.5, -1.5, -1.5], [1.5, 1.5, 1.5]], model=dict(near_far=(2.0, 6.0), ndc=False),
        init_voxels=128 ** 3, final_voxels=300 ** 3, upsample=[2000, 3000, 4000, 5500, 7000],
        alpha_mask=[2000, 4000], l1_init=8e-5, l1_rest=4e-5, tv_density=0.0, tv_app=0.0, iters=30000),
    "llff": dict(
        aabb=[[-1.5, -1.67, -1.0], [1.5, 1.67, 1.0]],
        model=dict(near_far=(0.0, 1.0), ndc=True, n_sigma=(16, 4, 4), n_app=(48, 12, 12),
                   view_pe=0, fea_pe=0, density_act="relu"),
        init_voxels=128 ** 3, final_voxels=640 ** 3, upsample=[2000, 3000, 4000, 5500],
        alpha_mask=[2500], l1_init=0.0, l1_rest=0.0, tv_density=1.0, tv_app=1.0, iters=25000),
}


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="scene folder (transforms_*.json or poses_bounds.npy)")
    ap.add_argument("--out", required=True, help="output folder: ckpt.pt, train.log, teacher_fp16.*")
    ap.add_argument("--iters", type=int, default=None, help="total iterations (preset default otherwise)")
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--final-voxels", type=int, default=None, help="grid size at the end, voxels in total")
    ap.add_argument("--init-voxels", type=int, default=None)
    ap.add_argument("--upsample", type=str, default=None, help="comma list of iterations (override)")
    ap.add_argument("--alpha-mask", type=str, default=None, help="comma list of iterations (override)")
    ap.add_argument("--downscale", type=int, default=1, help="nerf_synthetic image downscale (tests)")
    ap.add_argument("--lr-grid", type=float, default=0.02)
    ap.add_argument("--lr-net", type=float, default=1e-3)
    ap.add_argument("--max-minutes", type=float, default=1e9, help="wall-clock budget of this invocation")
    ap.add_argument("--ckpt-every", type=int, default=2000)
    ap.add_argument("--log-every", type=int, default=250)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--seed", type=int, default=0)
    return ap.parse_args()


def _name_list(scene):
    names = [scene["names"][v] for v in scene["views"]]
    return ",".join(names) if len(names) <= 20 else "%s,...,%s" % (",".join(names[:3]), names[-1])


def make_optimizer(model, args, scale):
    return torch.optim.Adam([dict(params=model.grid_params(), lr=args.lr_grid * scale),
                             dict(params=model.net_params(), lr=args.lr_net * scale)], betas=(0.9, 0.99))


def main():
    args = parse_args()
    t_start = time.time()
    os.makedirs(args.out, exist_ok=True)
    log = Log(os.path.join(args.out, "train.log"))
    dev = pick_device(args.device)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    scene = load_scene(args.data, "train", args.downscale)
    preset = PRESETS[scene["layout"]]
    iters = args.iters or preset["iters"]
    ups = [int(x) for x in args.upsample.split(",")] if args.upsample else list(preset["upsample"])
    ams = [int(x) for x in args.alpha_mask.split(",")] if args.alpha_mask else list(preset["alpha_mask"])
    init_vox = args.init_voxels or preset["init_voxels"]
    final_vox = args.final_voxels or preset["final_voxels"]
    # Geometric progression of grid sizes, one per upsampling step (as TensoRF).
    vox_list = np.round(np.exp(np.linspace(np.log(init_vox), np.log(final_vox), len(ups) + 1))).astype(np.int64)[1:]
    lr_factor = 0.1 ** (1.0 / iters)

    o_all, d_all, c_all = scene_rays(scene, scene["views"], dev)
    n_rays = o_all.shape[0]
    white_bg = scene["layout"] == "blender"

    ckpt_path = os.path.join(args.out, "ckpt.pt")
    export_prefix = os.path.join(args.out, "teacher_fp16")
    if os.path.exists(ckpt_path):
        ck = torch_load(ckpt_path)
        model = build_from_export(ck["model"], dev)
        start_it, train_seconds = ck["it"], ck["train_seconds"]
        last_reset = max([u for u in ups if u <= start_it], default=0)
        opt = make_optimizer(model, args, 1.0)
        opt.load_state_dict(ck["optim"])
        log("resumed from %s at iteration %d (%.1f s trained so far)" % (ckpt_path, start_it, train_seconds))
    elif glob.glob(export_prefix + ".*-of-*.pt"):
        # Only the compact export came along (e.g. carried to a fresh GPU machine, where the
        # full fp32 + Adam checkpoint is too big to carry): continue from it, Adam restarts.
        ex = load_sharded(export_prefix)
        model = build_from_export(ex, dev)
        start_it, train_seconds = int(ex.get("it", 0)), float(ex.get("train_seconds", 0.0))
        last_reset = max([u for u in ups if u <= start_it], default=0)
        opt = make_optimizer(model, args, 1.0)
        log("resumed from the fp16 export %s at iteration %d (%.1f s trained so far); Adam moments reset"
            % (export_prefix, start_it, train_seconds))
    else:
        aabb = torch.tensor(preset["aabb"], dtype=torch.float32)
        model = TensorVM(aabb, n_to_reso(init_vox, aabb), **preset["model"]).to(dev)
        start_it, train_seconds, last_reset = 0, 0.0, 0
        opt = make_optimizer(model, args, 1.0)
        describe_env(log)
        log("scene %s: %s, %d training views (%s), %dx%d, %d rays; iters %d, batch %d, voxels %d -> %d, "
            "upsample at %s, occupancy mask at %s" % (
                args.data, scene["layout"], len(scene["views"]), _name_list(scene),
                scene["W"], scene["H"], n_rays, iters, args.batch, init_vox, final_vox, ups, ams))

    def set_lrs(it):
        k = lr_factor ** (it - last_reset)
        opt.param_groups[0]["lr"] = args.lr_grid * k
        opt.param_groups[1]["lr"] = args.lr_net * k

    def save(it):
        atomic_save(dict(model=model.export(), optim=opt.state_dict(), it=it,
                         train_seconds=train_seconds + (time.time() - t_seg)), ckpt_path)

    set_lrs(start_it)
    t_seg = time.time()
    t_log, it_log, mse_acc, n_acc = time.time(), start_it, 0.0, 0
    it = start_it
    stopped_early = False
    while it < iters:
        if time.time() - t_start > args.max_minutes * 60.0:
            stopped_early = True
            break
        l1_w = preset["l1_init"] if it < ams[0] else preset["l1_rest"]
        idx = torch.randint(0, n_rays, (args.batch,), device=dev)
        # LLFF has no background colour; TensoRF composites over white half the time so
        # that the field cannot rely on an arbitrary background for empty rays.
        wb = white_bg or bool(torch.rand(()) < 0.5)
        out = model.render(o_all[idx], d_all[idx], is_train=True, white_bg=wb)
        mse = F.mse_loss(out["rgb"], c_all[idx])
        loss = mse
        if l1_w > 0:
            loss = loss + l1_w * model.density_l1()
        decay = lr_factor ** it
        if preset["tv_density"] > 0:
            loss = loss + preset["tv_density"] * decay * model.tv_density()
        if preset["tv_app"] > 0:
            loss = loss + preset["tv_app"] * decay * model.tv_app()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        it += 1
        mse_acc = mse_acc + mse.detach()  # stays on the device: no sync per step
        n_acc += 1

        if it in ams:
            n_mask = model.reso[0] * model.reso[1] * model.reso[2]
            reso_mask = model.reso if n_mask < 256 ** 3 else n_to_reso(256 ** 3, model.aabb)
            box = model.update_alpha_mask(reso_mask)
            occ = model.alpha_mask.float().mean().item()
            if it == ams[0]:
                model.shrink(box)
                opt = make_optimizer(model, args, 1.0)  # parameter shapes changed
                set_lrs(it)
            log("it %d: occupancy mask %s, %.1f%% occupied; box %s; grid %s" % (
                it, list(reso_mask), 100 * occ, [[round(v, 3) for v in r] for r in model.aabb.tolist()], model.reso))
        if it in ups:
            n_vox = int(vox_list[ups.index(it)])
            model.upsample(n_to_reso(n_vox, model.aabb))
            opt = make_optimizer(model, args, 1.0)
            last_reset = it
            log("it %d: upsampled to %s (%d samples/ray)" % (it, model.reso, model.n_samples))
        set_lrs(it)

        if it % args.log_every == 0 or it == iters:
            now = time.time()
            log("it %d loss %.5f psnr_train %.2f lr %.5f grid %s samples/ray %d it/s %.1f elapsed %.1fs" % (
                it, loss.item(), psnr(float(mse_acc) / max(n_acc, 1)), opt.param_groups[0]["lr"], model.reso,
                model.n_samples, (it - it_log) / (now - t_log), train_seconds + now - t_seg))
            t_log, it_log, mse_acc, n_acc = now, it, 0.0, 0
        if it % args.ckpt_every == 0 and it < iters:
            save(it)

    save(it)
    total = train_seconds + time.time() - t_seg
    # Export even when stopped early, so evaluation and meshing can run on the partial
    # model; the log line says which it is.
    for old in glob.glob(os.path.join(args.out, "teacher_fp16.*-of-*.pt")):
        os.remove(old)
    ex = model.export(half=True)
    ex.update(it=it, iters=iters, train_seconds=total)
    paths = save_sharded(ex, export_prefix)
    n_params = sum(p.numel() for p in model.parameters())
    log("%s: %d/%d iterations in %.1f s of training; %d parameters; export %s (%.1f MB)%s" % (
        "STOPPED EARLY" if stopped_early else "done", it, iters, total, n_params,
        ",".join(os.path.basename(p) for p in paths), sum(os.path.getsize(p) for p in paths) / 1e6,
        "; run the same command again to resume" if stopped_early else ""))


if __name__ == "__main__":
    main()
