#!/usr/bin/python3
"""Trains FlowNet on synthetic pairs made on the fly (synth.py), resumable, cut by wall clock.

    python3 models/flow/train.py --carry CARRY --run RUN [--max-minutes 9] [--total-steps 15000]

RUN/last.pt is written every --ckpt-minutes and at the end; a run restarts from it (model,
AdamW state, step, best). RUN/best.pt is the best held-out EPE so far. RUN/train_log.txt gets one
line per --log-every steps (loss, EPE, lr, pairs/s) and one per validation. The learning rate
is a function of the step only (linear warm-up, then cosine to 2% at --total-steps), so
--total-steps may be changed on resume. A fine-tuning phase resumed from a checkpoint at step S
gets its own warm-up and cosine with --phase-start S. Batch i of step s uses seeds
seed*1e9 + s*batch + i: the data stream continues exactly where it stopped. The held-out set is 96 fixed pairs
(seeds from 900,000,000) at the training crop size, reported overall and per motion regime.

Loss: EPE of the output upsampled (bilinear, half-pixel) to full crop resolution, plus the
per-level EPEs (ground truth average-pooled to the level, in full-resolution pixels) weighted
0.05, 0.1, 0.2, 0.4 from 1/32 to 1/4. `--robust` switches to (|d| + 0.01)^0.4 (PWC-Net's
fine-tuning loss), for a last phase.

`--sweep-frac F` (session 7) adds synth.py's sweep layers (large, dark, motion-blurred, 100-280 px)
to that fraction of the large-motion training pairs; 0, the default, is the stream as before. With
F > 0 each validation also reports the EPE on 16 pairs that all have one (seeds from 970,000,000;
never used for training nor for the 960,000,000 held-out sweep set); best.pt stays chosen on the
96 ordinary pairs.

`--int8-sim INT8_FVM` (session 8) trains for INT8 fidelity: besides the FP32 loss, the same
weights run as the INT8 model runs them (int8_sim.py: every INT8 tensor on its own 8-bit grid,
ranges starting from INT8_FVM's and following the batches' 0.1/99.9th percentiles), with the
EPE of that output and `--consistency L` times the mean distance between the INT8 and FP32
outputs (1/4 resolution, input pixels) added to the loss. FP32 throughout (no bf16, no TF32):
the target is the C++ FP32 model. Each validation adds the INT8 output's EPE and its distance to
the FP32 one. Checkpoints carry the ranges (`sim_ranges`). `--teacher CKPT` adds a frozen FP32
network: `--teacher-int8 A` and `--teacher-fp32 B` weigh the distances of the INT8 and of the
FP32 output to its output (B anchors the FP32 network to the teacher's accuracy while
`--consistency` pulls the INT8 output toward it). Every validation also keeps its weights as
RUN/val_STEP.pt, so a point of the accuracy-fidelity trade can be chosen afterwards.
`--relative-px P` divides the INT8-to-FP32 distance by 1 + |FP32 flow| / P px: a relative error,
as a cosine is, so the few fast pixels of a large-motion pair do not outweigh the slow ones.
"""
import argparse
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from network import COARSEST, LEVELS, FlowNet, count, pack_pair, resize  # noqa: E402
from batch_stream import BatchStream  # noqa: E402
from int8_sim import Int8Sim  # noqa: E402
from qat import enable_qat, load_weights, weights  # noqa: E402
from synth import TextureBank, make_batch  # noqa: E402

LEVEL_W = {6: 0.05, 5: 0.05, 4: 0.1, 3: 0.2, 2: 0.4}


def lr_at(step, a):
    step -= a.phase_start
    span = a.total_steps - a.phase_start
    if step < a.warmup:
        return a.lr * (max(step, 0) + 1) / a.warmup
    p = min(1.0, (step - a.warmup) / max(1, span - a.warmup))
    return a.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * p)))


def epe_map(pred, gt):
    return torch.sqrt(((pred - gt) ** 2).sum(1) + 1e-8)


def losses(net, batch, robust=False, sim=None, consistency=0.0, teacher=None, to_teacher=(0.0, 0.0),
           relative_px=0.0):
    """(loss, per-pixel EPE of the output that is reported: the INT8 one under `sim`)."""
    x = pack_pair(batch["img1"], batch["img2"])
    gt = batch["flow"]
    H, W = gt.shape[2:]
    out, flows = net(x)
    full = resize(out.float(), H, W)
    e = epe_map(full, gt)
    f = (lambda d: (d + 0.01) ** 0.4) if robust else (lambda d: d)
    loss = f(e).mean()
    for l in LEVELS:
        s = 2 ** l
        gl = F.avg_pool2d(gt, s)
        loss = loss + LEVEL_W[l] * f(epe_map(flows[l].float() * s, gl)).mean()
    if sim is not None:
        out_q = sim(x)
        e = epe_map(resize(out_q, H, W), gt)
        gap = epe_map(out_q, out.float())
        if relative_px > 0:
            gap = gap / (1.0 + out.detach().float().norm(dim=1) / relative_px)
        loss = loss + f(e).mean() + consistency * gap.mean()
        if teacher is not None:
            with torch.no_grad():
                target = teacher(x)[0].float()
            loss = loss + to_teacher[0] * epe_map(out_q, target).mean()
            loss = loss + to_teacher[1] * epe_map(out.float(), target).mean()
    return loss, e.detach()


def init_from(net, old):
    """Copies `old` (a plain state dict) into `net` where shapes match. A conv weight whose
    input channels grew keeps the old ones first and zeros after (the decoders concatenate
    [cost, features, flow], so a decoder that gains a flow input gains its last two channels).
    Returns the keys that were not copied whole."""
    state, grown = net.state_dict(), []
    for k, v in state.items():
        w = old.get(k)
        if w is not None and w.shape == v.shape:
            state[k] = w
        elif w is not None and w.dim() == 4 and w.shape[0] == v.shape[0] and w.shape[1] < v.shape[1]:
            pad = torch.zeros(v.shape[0], v.shape[1] - w.shape[1], *v.shape[2:], dtype=w.dtype, device=w.device)
            state[k] = torch.cat([w, pad], 1)
            grown.append(k)
        else:
            grown.append(k)
    net.load_state_dict(state)
    return grown


def save(path, obj):
    torch.save(obj, path + ".tmp")
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--carry", default=".work/flow/carry")
    ap.add_argument("--run", default=".work/flow/run")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--crop", default="384x768", help="HxW, multiples of 32")
    ap.add_argument("--total-steps", type=int, default=15000)
    ap.add_argument("--lr", type=float, default=4e-4)
    ap.add_argument("--wd", type=float, default=1e-4)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--phase-start", type=int, default=0,
                    help="step where this phase's warm-up and cosine begin (a fine-tuning phase resumed from a checkpoint)")
    ap.add_argument("--max-minutes", type=float, default=9.0)
    ap.add_argument("--ckpt-minutes", type=float, default=2.0)
    ap.add_argument("--val-every", type=int, default=1000)
    ap.add_argument("--val-count", type=int, default=96)
    ap.add_argument("--log-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--robust", action="store_true")
    ap.add_argument("--init", default="",
                    help="a run's new start: weights from this checkpoint where the shapes match, the "
                         "coarsest old decoder's first conv widened with zeros for its new flow input "
                         "(FOVEA_FLOW_COARSEST=6 from a 5-level checkpoint); ignored once RUN/last.pt exists")
    ap.add_argument("--sweep-frac", type=float, default=0.0,
                    help="fraction of large-motion pairs with a sweep layer (synth.py); 0: none")
    ap.add_argument("--amp", choices=["bf16", "none"], default="bf16")
    ap.add_argument("--textures", type=int, default=0, help="use at most N textures (smoke runs)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--qat", action="store_true",
                    help="quantization-aware: INT8 convolutions see fake-quantized weights and inputs (qat.py)")
    ap.add_argument("--int8-sim", default="",
                    help="an INT8 .fvm: also train the weights as that model runs them (int8_sim.py)")
    ap.add_argument("--consistency", type=float, default=4.0,
                    help="with --int8-sim: weight of the INT8-to-FP32 output distance in the loss")
    ap.add_argument("--teacher", default="",
                    help="with --int8-sim: a checkpoint whose frozen FP32 output the outputs are pulled toward")
    ap.add_argument("--relative-px", type=float, default=0.0,
                    help="with --int8-sim: the INT8-to-FP32 distance relative to the flow, 1 + |flow| / P")
    ap.add_argument("--teacher-int8", type=float, default=0.0, help="weight of the INT8 output's distance to the teacher's")
    ap.add_argument("--teacher-fp32", type=float, default=0.0, help="weight of the FP32 output's distance to the teacher's")
    ap.add_argument("--workers", type=int, default=0,
                    help="processes rendering batches ahead (batch_stream.py); 0 renders in this one")
    a = ap.parse_args()
    t_start = time.time()
    if a.threads:
        torch.set_num_threads(a.threads)
    os.makedirs(a.run, exist_ok=True)
    log_f = open(os.path.join(a.run, "train_log.txt"), "a")

    def log(s):
        print(s, flush=True)
        log_f.write(s + "\n")
        log_f.flush()

    dev = torch.device(a.device)
    assert not (a.qat and a.int8_sim), "--qat and --int8-sim are two ways of the same thing: pick one"
    if a.int8_sim:
        a.amp = "none"
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = not a.int8_sim
        torch.backends.cudnn.allow_tf32 = not a.int8_sim
    H, W = map(int, a.crop.split("x"))
    stride = 2 ** COARSEST
    assert H % stride == 0 and W % stride == 0, f"--crop must be a multiple of {stride}"
    bank = TextureBank(a.carry, dev, limit=a.textures or None)
    net = FlowNet()
    if a.qat:
        enable_qat(net)
    net = net.to(dev)
    sim = Int8Sim(net, a.int8_sim).to(dev) if a.int8_sim else None
    teacher = None
    if a.teacher:
        assert sim is not None, "--teacher goes with --int8-sim"
        teacher = FlowNet()
        teacher.load_state_dict(torch.load(a.teacher, map_location="cpu")["model"])
        teacher = teacher.to(dev).eval().requires_grad_(False)
    opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=a.wd)
    step, best = 0, float("inf")
    last = os.path.join(a.run, "last.pt")
    if os.path.exists(last):
        ck = torch.load(last, map_location=dev)
        load_weights(net, ck)
        if "opt" in ck:  # the committed checkpoints hold the weights only; AdamW restarts its moments
            opt.load_state_dict(ck["opt"])
        step, best = ck["step"], ck["best"]
        if sim is not None and "sim_ranges" in ck:
            sim.ranges.copy_(ck["sim_ranges"])
            sim.seen.fill_(True)
        log(f"# resumed from {last} at step {step} (best val EPE {best:.3f})")
    else:
        if a.init:
            grown = init_from(net, torch.load(a.init, map_location=dev)["model"])
            log(f"# initialised from {a.init}; new or widened: {', '.join(grown) or 'nothing'}")
        params, macs, corr, _ = count(FlowNet())
        log(f"# FlowNet: {params} parameters, {macs / 1e9:.3f} GMAC conv + {corr / 1e6:.1f} M correlation at 448x1024")
    log(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} device {dev} ({torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu'}), "
        f"torch {torch.__version__}, {len(bank.names)} textures, {bank.masks.shape[0]} masks, batch {a.batch}, crop {H}x{W}, "
        f"total steps {a.total_steps} (phase from {a.phase_start}), lr {a.lr}, robust {a.robust}, qat {a.qat}"
        + (f", int8 sim {a.int8_sim} (consistency {a.consistency}, relative px {a.relative_px}, FP32)" if sim is not None else "")
        + (f", teacher {a.teacher} (int8 {a.teacher_int8}, fp32 {a.teacher_fp32})" if teacher is not None else "")
        + (f", sweep frac {a.sweep_frac}, seed {a.seed}" if a.sweep_frac else ""))

    val_seeds = list(range(900_000_000, 900_000_000 + a.val_count))
    val = []
    with torch.no_grad():
        for i in range(0, len(val_seeds), 8):
            val.append(make_batch(bank, val_seeds[i:i + 8], H, W))
    val_sweep = []
    if a.sweep_frac > 0:
        from synth import _draw_pair
        sw, s_ = [], 970_000_000
        while len(sw) < 16:
            if _draw_pair(s_, H, W, bank.textures.shape[0], bank.masks.shape[0], 1.0, bank.mask_fill)[2]["sweep"] >= 0:
                sw.append(s_)
            s_ += 1
        with torch.no_grad():
            for i in range(0, len(sw), 8):
                val_sweep.append(make_batch(bank, sw[i:i + 8], H, W, sweep_frac=1.0))

    def validate():
        net.eval()
        tot = {"all": [], "small": [], "large": [], "zero": [], "sweep": [], "sweep_zero": [], "int8": [], "gap": []}
        if sim is not None:
            sim.eval()
        with torch.no_grad():
            for b in val_sweep:
                out, _ = net(pack_pair(b["img1"], b["img2"]))
                tot["sweep"] += epe_map(resize(out.float(), H, W), b["flow"]).mean((1, 2)).tolist()
                tot["sweep_zero"] += b["flow"].norm(dim=1).mean((1, 2)).tolist()
            for b in val:
                x = pack_pair(b["img1"], b["img2"])
                out, _ = net(x)
                e = epe_map(resize(out.float(), H, W), b["flow"]).mean((1, 2))
                z = b["flow"].norm(dim=1).mean((1, 2))
                if sim is not None:
                    out_q = sim(x)
                    tot["int8"] += epe_map(resize(out_q, H, W), b["flow"]).mean((1, 2)).tolist()
                    tot["gap"] += epe_map(out_q, out.float()).mean((1, 2)).tolist()
                for i, r in enumerate(b["regime"]):
                    tot["all"].append(e[i].item())
                    tot[r].append(e[i].item())
                    tot["zero"].append(z[i].item())
        net.train()
        if sim is not None:
            sim.train()
        return {k: sum(v) / max(1, len(v)) for k, v in tot.items()}

    def sweep_txt(v):
        s = f"; sweep {v['sweep']:.3f} (zero flow {v['sweep_zero']:.3f})" if val_sweep else ""
        return s + (f"; int8 epe {v['int8']:.3f}, int8-fp32 distance {v['gap']:.4f}" if sim is not None else "")

    def sim_state():
        return {"sim_ranges": sim.ranges.detach().cpu()} if sim is not None else {}

    autocast = torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=a.amp == "bf16" and dev.type == "cuda")
    net.train()
    stream = BatchStream(a.carry, dev, a.textures or None, H, W, a.batch, a.seed, step, a.workers, bank=bank,
                         sweep_frac=a.sweep_frac)
    if sim is not None and step == 0:  # where fidelity training starts from
        v = validate()
        log(f"val step 0 epe {v['all']:.3f} small {v['small']:.3f} large {v['large']:.3f} (zero flow {v['zero']:.3f}){sweep_txt(v)}")
    t_ckpt = time.time()
    t_log, n_log, loss_sum, epe_sum = time.time(), 0, 0.0, 0.0
    synth_mark = 0.0
    done_reason = "total steps reached"
    while step < a.total_steps:
        if (time.time() - t_start) / 60 > a.max_minutes:
            done_reason = f"--max-minutes {a.max_minutes} reached"
            break
        for gparam in opt.param_groups:
            gparam["lr"] = lr_at(step, a)
        batch = stream.get()
        with autocast:
            loss, e = losses(net, batch, a.robust, sim, a.consistency, teacher, (a.teacher_int8, a.teacher_fp32), a.relative_px)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        opt.step()
        step += 1
        n_log += 1
        loss_sum += loss.item()
        epe_sum += e.mean().item()
        if step % a.log_every == 0:
            dt = time.time() - t_log
            log(f"step {step} loss {loss_sum / n_log:.4f} epe {epe_sum / n_log:.3f} lr {lr_at(step, a):.2e} "
                f"pairs/s {n_log * a.batch / dt:.1f} synth {100 * (stream.synth_seconds - synth_mark) / dt:.0f}%")
            t_log, n_log, loss_sum, epe_sum = time.time(), 0, 0.0, 0.0
            synth_mark = stream.synth_seconds
        if step % a.val_every == 0 or step == a.total_steps:
            v = validate()
            improved = v["all"] < best
            best = min(best, v["all"])
            log(f"val step {step} epe {v['all']:.3f} small {v['small']:.3f} large {v['large']:.3f} "
                f"(zero flow {v['zero']:.3f}){' best' if improved else ''}{sweep_txt(v)}")
            if improved:
                save(os.path.join(a.run, "best.pt"), {**weights(net), **sim_state(), "step": step, "val": v})
            if sim is not None:
                save(os.path.join(a.run, f"val_{step}.pt"), {**weights(net), **sim_state(), "step": step, "val": v})
        if time.time() - t_ckpt > a.ckpt_minutes * 60:
            save(last, {**weights(net), **sim_state(), "opt": opt.state_dict(), "step": step, "best": best})
            t_ckpt = time.time()
    stream.close()
    v = validate()
    if v["all"] < best:
        best = v["all"]
        save(os.path.join(a.run, "best.pt"), {**weights(net), **sim_state(), "step": step, "val": v})
    save(last, {**weights(net), **sim_state(), "opt": opt.state_dict(), "step": step, "best": best})
    log(f"val step {step} epe {v['all']:.3f} small {v['small']:.3f} large {v['large']:.3f} (zero flow {v['zero']:.3f}){sweep_txt(v)}")
    log(f"# stopped at step {step}: {done_reason}; {(time.time() - t_start) / 60:.1f} min; best val EPE {best:.3f}")


if __name__ == "__main__":
    main()
