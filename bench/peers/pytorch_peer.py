"""PyTorch peer of the normkit bench, driven by peers/pytorch.ts.

One JSON request per line on stdin, one JSON reply per line on stdout.
Arrays travel as raw little-endian float32 files in a directory the Node
side owns. Timing uses the same algorithm as bench/core/timing.ts
(warm-up, iterations per sample from the warm-up, sample count from the
budget, median / p10 / p90 / MAD of the per-call times), so the rows are
comparable; the clock is time.perf_counter_ns.

Layouts: channels-first data is a plain contiguous NCHW tensor;
channels-last [N,H,W,C] data is the same memory viewed as NCHW with
channels_last strides (permute), which is how PyTorch runs its NHWC
batch-norm kernels; rank-2 [N, C] is itself.
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)


def load(path, shape):
    return torch.from_numpy(np.fromfile(path, dtype=np.float32).reshape(shape))


def to_torch_layout(a, axis):
    """[N,H,W,C] memory -> NCHW view with channels_last strides; others unchanged."""
    if axis == -1 and a.dim() == 4:
        return a.permute(0, 3, 1, 2)
    return a


def from_torch_layout(t, axis):
    if axis == -1 and t.dim() == 4:
        return t.permute(0, 2, 3, 1).contiguous()
    return t.contiguous()


def quantile(sorted_vals, q):
    pos = (len(sorted_vals) - 1) * q
    lo, hi = int(pos // 1), int(-(-pos // 1))
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (pos - lo)


def measure(fn, o):
    def loop(iters):
        t0 = time.perf_counter_ns()
        for _ in range(iters):
            fn()
        return time.perf_counter_ns() - t0

    warm_calls, last = 0, 0.0
    start = time.perf_counter_ns()
    while True:
        batch = max(1, min(1 << 16, warm_calls))
        last = loop(batch) / batch
        warm_calls += batch
        if not (time.perf_counter_ns() - start < o["warmupMs"] * 1e6 and last < o["warmupMs"] * 1e6):
            break
    per_call = max(last, 1.0)
    iters = max(1, int(-(-(o["minSampleMs"] * 1e6) // per_call)))
    fit = int((o["budgetMs"] * 1e6) // (iters * per_call))
    samples = max(3, min(fit, o["minSamples"])) if fit < o["minSamples"] else min(o["maxSamples"], fit)
    times = sorted(loop(iters) / iters for _ in range(samples))
    med = quantile(times, 0.5)
    dev = sorted(abs(t - med) for t in times)
    return {
        "medianNs": med,
        "minNs": times[0],
        "p10Ns": quantile(times, 0.1),
        "p90Ns": quantile(times, 0.9),
        "madNs": quantile(dev, 0.5),
        "samples": samples,
        "itersPerSample": iters,
    }


class Case:
    def __init__(self, req):
        d, shape, axis = req["dir"], req["shape"], req["axis"]
        c = shape[axis]
        self.axis, self.op, eps = axis, req["op"], req["epsilon"]
        x = to_torch_layout(load(os.path.join(d, "x.f32"), shape), axis)
        dy = to_torch_layout(load(os.path.join(d, "dy.f32"), shape), axis)
        gamma = load(os.path.join(d, "gamma.f32"), [c])
        beta = load(os.path.join(d, "beta.f32"), [c])
        mm = load(os.path.join(d, "movingMean.f32"), [c])
        mv = load(os.path.join(d, "movingVariance.f32"), [c])
        self.out = {}
        if self.op == "infer":
            def run():
                with torch.no_grad():
                    self.out["y"] = F.batch_norm(x, mm, mv, gamma, beta, False, 0.0, eps)
        elif self.op == "train":
            # momentum 1: the running buffers become this batch's mean and
            # unbiased variance on every call, read back by write_outputs
            rm, rv = mm.clone(), mv.clone()
            self.n = x.numel() // c

            def run():
                with torch.no_grad():
                    self.out["y"] = F.batch_norm(x, rm, rv, gamma, beta, True, 1.0, eps)
            self.stats = (rm, rv)
        else:
            xg = x.clone().requires_grad_(True)  # clone keeps the channels_last strides
            g = gamma.clone().requires_grad_(True)
            b = beta.clone().requires_grad_(True)
            y = F.batch_norm(xg, None, None, g, b, True, 0.0, eps)

            def run():
                dx, dg, db = torch.autograd.grad(y, [xg, g, b], dy, retain_graph=True)
                self.out.update(dx=dx, dgamma=dg, dbeta=db)
        self.run = run

    def write_outputs(self, d):
        names = []
        if self.op == "train":
            rm, rv = self.stats
            self.out["mean"] = rm
            self.out["variance"] = rv.double() * (self.n - 1) / self.n
        for k, t in self.out.items():
            t = from_torch_layout(t.detach(), self.axis) if t.dim() > 1 else t.detach()
            t.float().numpy().tofile(os.path.join(d, f"out_{k}.f32"))
            names.append(k)
        return names


def main():
    case = None
    for line in sys.stdin:
        req = json.loads(line)
        cmd = req["cmd"]
        try:
            if cmd == "info":
                reply = {"torch": torch.__version__, "threads": torch.get_num_threads(),
                         "mkldnn": torch.backends.mkldnn.is_available()}
            elif cmd == "prepare":
                case = Case(req)
                reply = {}
            elif cmd == "run":
                case.run()
                reply = {}
            elif cmd == "outputs":
                reply = {"names": case.write_outputs(req["dir"])}
            elif cmd == "time":
                reply = {"timing": measure(case.run, req["timing"])}
            elif cmd == "stats":
                x = to_torch_layout(load(req["path"], req["shape"]), req["axis"])
                c = req["shape"][req["axis"]]
                n = x.numel() // c
                rm, rv = torch.zeros(c), torch.ones(c)
                with torch.no_grad():
                    F.batch_norm(x, rm, rv, None, None, True, 1.0, 1e-3)
                rm.numpy().tofile(req["path"] + ".mean")
                (rv.double() * (n - 1) / n).numpy().tofile(req["path"] + ".var")
                reply = {}
            elif cmd == "dispose":
                case = None
                reply = {}
            else:
                reply = {"error": f"unknown command {cmd}"}
        except Exception as e:  # reported to the Node side as this row's error
            reply = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
