#!/usr/bin/python3
"""Training batches made ahead by worker processes, handed over in step order.

Rendering a batch (synth.py) is a few hundred small GPU kernels driven from Python, so one process
spends most of its time launching them while the GPU idles (session 3: synthesis took 63% of each
training step on an H100). Several processes, each with its own CUDA context, render batches side
by side; the trainer only copies them in.

Batch s is rendered from seeds seed*1e9 + s*batch + i whichever process makes it, so the data
stream is the same with any number of workers (0 = render in the trainer's process, as before).
Worker w makes the steps s with s % workers == w and runs at most `ahead` batches in front of the
trainer. Frames travel as 8-bit (they are rounded to 8 bits by the synthesiser, so nothing is
lost), flow as float32; a dead worker is an error that names it, not a hang. `sweep_frac` is
synth.py's (sweep layers in that fraction of the large-motion pairs; 0, the default, renders the
stream as before).
"""
import queue
import time

import torch
import torch.multiprocessing as mp

from synth import TextureBank, make_batch


def step_seeds(seed, step, batch):
    return [seed * 1_000_000_000 + step * batch + i for i in range(batch)]


def _to_wire(b):
    u8 = lambda im: (im * 255).round().clamp(0, 255).to(torch.uint8).cpu()
    return u8(b["img1"]), u8(b["img2"]), b["flow"].float().cpu(), list(b["regime"])


def _from_wire(w, dev):
    img1, img2, flow, regime = w
    f = lambda t: t.to(dev, non_blocking=True).float() / 255.0
    return dict(img1=f(img1), img2=f(img2), flow=flow.to(dev, non_blocking=True), regime=regime)


def _work(carry, device, limit, H, W, batch, seed, first, stride, out, stop, sweep_frac=0.0):
    torch.set_num_threads(2)
    bank = TextureBank(carry, device, limit=limit)
    s = first
    while not stop.is_set():
        with torch.no_grad():
            item = (s, _to_wire(make_batch(bank, step_seeds(seed, s, batch), H, W, sweep_frac=sweep_frac)))
        while not stop.is_set():
            try:
                out.put(item, timeout=0.5)
                break
            except queue.Full:
                pass
        s += stride


class BatchStream:
    def __init__(self, carry, device, limit, H, W, batch, seed, start_step, workers=0, ahead=3,
                 bank=None, sweep_frac=0.0):
        self.dev, self.H, self.W, self.batch, self.seed = torch.device(device), H, W, batch, seed
        self.sweep_frac = sweep_frac
        self.workers, self.next = workers, start_step
        self.synth_seconds = 0.0  # time the trainer spent making or waiting for batches
        if workers == 0:
            self.bank = bank or TextureBank(carry, device, limit=limit)
            return
        ctx = mp.get_context("spawn")
        self.stop = ctx.Event()
        self.queues, self.procs = [], []
        for w in range(workers):
            # Worker w starts at the first step >= start_step that is its own.
            first = start_step + ((w - start_step) % workers)
            q = ctx.Queue(maxsize=ahead)
            p = ctx.Process(target=_work, args=(carry, str(device), limit, H, W, batch, seed, first,
                                                 workers, q, self.stop, sweep_frac), daemon=True)
            p.start()
            self.queues.append(q)
            self.procs.append(p)

    def get(self):
        """The batch of the next step, on the device."""
        t0 = time.time()
        s = self.next
        self.next += 1
        if self.workers == 0:
            with torch.no_grad():
                b = make_batch(self.bank, step_seeds(self.seed, s, self.batch), self.H, self.W,
                               sweep_frac=self.sweep_frac)
            self.synth_seconds += time.time() - t0
            return b
        w = s % self.workers
        while True:
            try:
                got, wire = self.queues[w].get(timeout=5.0)
                break
            except queue.Empty:
                if not self.procs[w].is_alive():
                    raise RuntimeError(f"synthesis worker {w} died (exit code {self.procs[w].exitcode})")
        if got != s:
            raise RuntimeError(f"synthesis worker {w} sent step {got}, expected {s}")
        b = _from_wire(wire, self.dev)
        self.synth_seconds += time.time() - t0
        return b

    def close(self):
        if self.workers == 0:
            return
        self.stop.set()
        for q in self.queues:  # unblock workers waiting on a full queue
            try:
                while True:
                    q.get_nowait()
            except (queue.Empty, OSError, ValueError):
                pass
        for p in self.procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
