"""A SpikingJelly model before and after ``fastlif.convert``: one training step (forward, loss, backward), both
timed in the same run, interleaved; and the check that the two give the same outputs.

The model is what a SpikingJelly user writes: conv→BN→neuron twice, pooled, a linear readout, ``step_mode='m'``;
the neurons are LIFNode (τ = 2, SpikingJelly's defaults) or ParametricLIFNode (``--neuron plif``). Writes
bench/results/<machine>/converted.csv and converted.md.

    python bench/converted.py [--neuron lif plif] [--T 8] [--batch 16] [--size 32] [--channels 16] [--threads 2]
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import fastlif  # noqa: E402
from bench import records  # noqa: E402
from bench.machine import describe, machine_name  # noqa: E402
from bench.timing import Timer  # noqa: E402

COLUMNS = ["neuron", "T", "batch", "size", "channels", "provider", "median_ms", "p20_ms", "p80_ms", "reps",
           "speedup", "outputs_equal"]


def spikingjelly_model(neuron_kind: str, channels: int, size: int) -> nn.Module:
    from spikingjelly.activation_based import layer, neuron

    def node():
        if neuron_kind == "plif":
            return neuron.ParametricLIFNode(step_mode="m")
        return neuron.LIFNode(step_mode="m")
    return nn.Sequential(
        layer.Conv2d(2, channels, 3, padding=1, bias=False, step_mode="m"), layer.BatchNorm2d(channels, step_mode="m"),
        node(), layer.MaxPool2d(2, step_mode="m"),
        layer.Conv2d(channels, channels, 3, padding=1, bias=False, step_mode="m"),
        layer.BatchNorm2d(channels, step_mode="m"), node(), layer.MaxPool2d(2, step_mode="m"),
        layer.Flatten(step_mode="m"), layer.Linear(channels * (size // 4) ** 2, 10, step_mode="m"))


def train_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, reset) -> None:
    reset(model)
    model.zero_grad(set_to_none=True)
    loss = nn.functional.cross_entropy(model(x).mean(0), y)
    loss.backward()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python bench/converted.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--neuron", nargs="+", default=["lif", "plif"], choices=["lif", "plif"])
    ap.add_argument("--T", type=int, default=8)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--budget", type=float, default=2.0, help="seconds of timed calls per measurement")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--out", type=Path, help="results folder (default: bench/results/<machine>)")
    ap.add_argument("--note", default="", help="a line for the results header (e.g. what else loaded the machine)")
    args = ap.parse_args(argv)
    if min(args.T, args.batch, args.size, args.channels) < 1 or args.size % 4:
        ap.error("--T, --batch, --channels must be >= 1 and --size a positive multiple of 4")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    from spikingjelly.activation_based import functional

    device = torch.device("cpu")
    out = args.out or records.RESULTS / machine_name(device)
    print(f"{describe(device)}; torch {torch.__version__}")
    timer = Timer(device, budget_s=args.budget, min_reps=5)
    rows, verdicts = [], []
    for kind in args.neuron:
        torch.manual_seed(0)
        theirs = spikingjelly_model(kind, args.channels, args.size)
        with torch.no_grad():
            for m in theirs.modules():  # weights large enough that the neurons fire
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    m.weight.mul_(3.0)
        ours = fastlif.convert(copy.deepcopy(theirs))
        x = torch.rand(args.T, args.batch, 2, args.size, args.size)
        y = torch.randint(0, 10, (args.batch,))
        with torch.no_grad():
            functional.reset_net(theirs)
            fastlif.reset_net(ours)
            equal = bool(torch.equal(theirs(x), ours(x)))
        timings = timer.measure_many([(lambda: train_step(theirs, x, y, functional.reset_net), None),
                                      (lambda: train_step(ours, x, y, fastlif.reset_net), None)])
        base = timings[0].median
        for provider, t in zip(("spikingjelly", "fastlif-converted"), timings):
            rows.append(dict(neuron=kind, T=args.T, batch=args.batch, size=args.size, channels=args.channels,
                             provider=provider, median_ms=t.median * 1e3, p20_ms=t.p20 * 1e3, p80_ms=t.p80 * 1e3,
                             reps=t.reps, speedup=base / t.median, outputs_equal=equal))
        line = (f"{kind}: training step {timings[0].median * 1e3:.1f} ms (SpikingJelly) vs "
                f"{timings[1].median * 1e3:.1f} ms (converted): {base / timings[1].median:.2f}x; "
                f"outputs {'bit-equal' if equal else 'DIFFER'}")
        print(line)
        verdicts.append(line)
    records.write_rows(out / "converted.csv", rows, COLUMNS)
    records.write_notes(out / "converted.md", f"SpikingJelly model vs fastlif.convert of it on {machine_name(device)}", [
        f"machine: {describe(device)}", f"torch {torch.__version__}",
        f"command: `python bench/converted.py {' '.join(sys.argv[1:] if argv is None else argv)}`",
        f"model: conv-BN-neuron-pool twice + linear, {args.channels} channels, {args.size}x{args.size}, "
        f"T = {args.T}, batch {args.batch}; one training step = reset, forward, cross-entropy on the mean output, "
        "backward; both models timed interleaved in this run",
    ] + verdicts + ([f"note: {args.note}"] if args.note else []))
    print(f"wrote {out / 'converted.csv'} and converted.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
