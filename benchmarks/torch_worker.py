"""PyTorch side of the benchmark: a worker that times workloads on request.
Reads JSON lines {"load": name} / {"run": name, "repeat": R}; answers one JSON line each.
Started once per thread count (torch.set_num_threads), so requests can be interleaved with
the other peers' runs. The strongest plain-PyTorch setting is used: torch.jit.trace +
torch.jit.freeze + optimize_for_inference, no autograd."""
import json
import sys
import time

import torch

from workloads import make

torch.set_num_threads(int(sys.argv[1]))
models = {}
for line in sys.stdin:
    request = json.loads(line)
    if "load" in request:
        module, shape = make(request["load"])
        x = torch.randn(shape)
        with torch.no_grad():
            frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(module, x)))
            for _ in range(3):
                frozen(x)
        models[request["load"]] = (frozen, x)
        reply = {"ok": True}
    else:
        frozen, x = models[request["run"]]
        times = []
        with torch.no_grad():
            for _ in range(request["repeat"]):
                start = time.perf_counter()
                frozen(x)
                times.append((time.perf_counter() - start) * 1e3)
        reply = {"times_ms": times}
    print(json.dumps(reply), flush=True)
