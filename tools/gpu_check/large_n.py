"""One large-N case of extra_checks.py, in its own process so that a fault from an overflowed offset cannot poison
the other checks' CUDA context:

    python tools/gpu_check/large_n.py BACKEND T N

Runs the forward (h and u saved) and the backward from h (grad_s = x, grad_u = u, grad_v asked for) on a bf16
[T, N] input, then the same calls on 4096-neuron windows copied out of it: the head, the middle, the tail and, for
N > 2^31, the neurons around 2^31. Every neuron's arithmetic is independent of the others', so each window must
match the big run bit for bit; an offset that wrapped at 2^31 shows as a mismatch or a fault. Prints LARGE_RESULT.
"""
import sys

import torch

import lif_calls as calls

W = 4096
backend, T, N = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
g = torch.Generator(device=calls.DEVICE).manual_seed(1)
x = torch.randn(T, N, device=calls.DEVICE, dtype=torch.bfloat16, generator=g).add_(0.5)
s, h, u = calls.forward(backend, x, save_h=True, save_u=True)
dx, dv = calls.backward(backend, h, x, grad_u=u, need_grad_v=True)  # x doubles as grad_s: 2T·N bytes less
bad = []
for a in [0, N // 2, N - W] + ([(1 << 31) - W // 2] if N > (1 << 31) else []):
    xs = x[:, a:a + W].contiguous()
    s2, h2, u2 = calls.forward(backend, xs, save_h=True, save_u=True)
    dx2, dv2 = calls.backward(backend, h2, xs, grad_u=u2, need_grad_v=True)
    for name, big, small in (("s", s[:, a:a + W], s2), ("h", h[:, a:a + W], h2), ("u", u[a:a + W], u2),
                             ("dx", dx[:, a:a + W], dx2), ("dv", dv[a:a + W], dv2)):
        if not torch.equal(big, small):
            bad.append(f"{name}@{a}")
print("LARGE_RESULT", "ok" if not bad else "mismatch " + " ".join(bad))
