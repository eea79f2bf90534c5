"""PyTorch peer for bench/keras/keras-path.ts: the same rows on one thread.

Reads a JSON argument {cases: [{name, shape, axis}], quick}; prints one JSON
line {"<case>|<row>": {median, p10, p90, faults}} with times in ns.
"""
import json, resource, sys, time
import torch

torch.set_num_threads(1)
cfg = json.loads(sys.argv[1])
budget = 0.06 if cfg["quick"] else 0.4
out = {}

def timeit(fn):
    for _ in range(3):
        fn()
    t0 = time.perf_counter(); fn(); one = max(time.perf_counter() - t0, 1e-6)
    reps = max(5, min(2000, int(budget / one)))
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    s = []
    for _ in range(reps):
        a = time.perf_counter_ns(); fn(); s.append(time.perf_counter_ns() - a)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / reps
    s.sort(); q = lambda p: s[min(len(s) - 1, int(p * len(s)))]
    return {"median": q(0.5), "p10": q(0.1), "p90": q(0.9), "faults": faults}

for c in cfg["cases"]:
    shape, axis = c["shape"], c["axis"]
    rank = len(shape); ax = axis % rank; C = shape[ax]
    g = torch.Generator().manual_seed(7)
    x = torch.randn(shape, generator=g) * 0.5 + 1
    dy = torch.randn(shape, generator=g)
    row = torch.randn([d if i == ax else 1 for i, d in enumerate(shape)], generator=g)
    # Channels-last and 2-D inputs go to the module as (N, C, ...) views.
    if rank == 4:
        mod = torch.nn.BatchNorm2d(C, eps=1e-3, momentum=0.01)
        to_mod = (lambda t: t.permute(0, 3, 1, 2)) if ax == 3 else (lambda t: t)
        if ax == 3:
            x = x.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last).permute(0, 2, 3, 1)
    else:
        mod = torch.nn.BatchNorm1d(C, eps=1e-3, momentum=0.01)
        to_mod = lambda t: t
    k = lambda r: f'{c["name"]}|{r}'
    mod.eval()
    with torch.no_grad():
        out[k("module eval")] = timeit(lambda: mod(to_mod(x)))
    mod.train()
    with torch.no_grad():
        out[k("module train")] = timeit(lambda: mod(to_mod(x)))
    xg = x.detach().clone().requires_grad_(True)
    def grad_step():
        loss = (mod(to_mod(xg)) * to_mod(dy)).sum()
        torch.autograd.grad(loss, [xg, mod.weight, mod.bias])
    out[k("forward+autograd")] = timeit(grad_step)
    opt = torch.optim.SGD(mod.parameters(), lr=1e-2)
    def full_step():
        opt.zero_grad()
        loss = mod(to_mod(x)).square().mean() - 1
        loss.backward()
        opt.step()
    out[k("full step SGD")] = timeit(full_step)
    with torch.no_grad():
        for name, f in [("mul(x,dy)", lambda: x * dy), ("add(x,1)", lambda: x + 1), ("mul(x,row)", lambda: x * row),
                        ("exp(x)", lambda: torch.exp(x)), ("sigmoid(x)", lambda: torch.sigmoid(x)),
                        ("tanh(x)", lambda: torch.tanh(x)), ("sum(x)", lambda: x.sum()), ("mean(x)", lambda: x.mean())]:
            out[k(name)] = timeit(f)
print(json.dumps(out))
