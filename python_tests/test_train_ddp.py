"""Two-process DDP on CPU (gloo): same SLT latencies on both ranks, weights kept identical, metrics all-reduced."""
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from fastlif.data import get_dataset
from fastlif.train import TrainConfig, Trainer, latency_accuracy

WORLD = 2


def ddp_config(out_dir):
    return TrainConfig(T=3, epochs=2, batch_size=32, latency="slt", out_dir=out_dir, progress=False, verbose=False,
                       tensorboard=False)


def small_digits():
    return get_dataset("digits", train_limit=96, test_limit=51)  # 51: the two test shards differ in size


def _worker(rank, init_file, out_dir, result_dir):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    try:
        trainer = Trainer(ddp_config(out_dir), bundle=small_digits())
        latencies = []
        for _ in range(2):
            trainer.fit(max_epochs=1)
            latencies.append(list(trainer.last_latencies))
        torch.save({"latencies": latencies, "state": trainer.model.state_dict(), "history": trainer.history,
                    "local_batch": trainer.local_batch, "world": trainer.ctx.world_size},
                   os.path.join(result_dir, f"rank{rank}.pt"))
        trainer.close()
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available(), reason="torch built without torch.distributed")
def test_two_process_ddp_on_cpu(tmp_path):
    out_dir, result_dir = tmp_path / "run", tmp_path / "results"
    result_dir.mkdir()
    mp.spawn(_worker, args=(str(tmp_path / "init"), str(out_dir), str(result_dir)), nprocs=WORLD, join=True)
    r0, r1 = (torch.load(result_dir / f"rank{r}.pt", weights_only=False) for r in range(WORLD))

    assert r0["world"] == WORLD and r0["local_batch"] == 16  # the global batch 32 split over two processes
    assert r0["latencies"] == r1["latencies"]  # the same SLT t for every mini-batch on both ranks
    assert len(r0["latencies"][0]) == 96 // 32 and r0["latencies"][0] != r0["latencies"][1]
    for k, v in r0["state"].items():
        if k.endswith("num_batches_tracked") or "running" in k:
            continue  # BN statistics are per rank (DDP broadcasts them from rank 0 at each forward)
        assert torch.equal(v, r1["state"][k]), k
    untimed = [[{k: v for k, v in row.items() if k not in ("train_time_s", "train_samples_per_s")}
                for row in r["history"]] for r in (r0, r1)]
    assert untimed[0] == untimed[1]  # all-reduced metrics agree (wall-clock times are each rank's own)

    # The all-reduced test accuracy (two shards of 26 and 25) equals one process evaluating everything.
    from fastlif.train.trainer import build_model

    cfg = ddp_config(None)
    bundle = small_digits()
    model = build_model(cfg, bundle)
    model.load_state_dict(r0["state"])
    single = latency_accuracy(model, bundle, 3, torch.device("cpu"))
    assert single.samples == 51
    assert r0["history"][-1]["accuracy"] == pytest.approx(single.accuracy, abs=1e-12)
    assert sorted(os.listdir(out_dir)) == ["checkpoint.pt", "config.json", "latency.csv", "latency.png",
                                           "metrics.csv"]


@pytest.mark.skipif(not dist.is_available(), reason="torch built without torch.distributed")
def test_torchrun_command_line(tmp_path):
    """``torchrun --nproc_per_node=2 -m fastlif train ...`` (``-m fastlif.train`` is the same launcher): joins
    through the environment, rank 0 alone prints."""
    import subprocess
    import sys

    out = tmp_path / "run"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "fastlif", "train",
         "--data-arg", "train_limit=64", "--data-arg", "test_limit=30", "--epochs", "1", "-T", "2",
         "--latency", "slt", "--batch-size", "32", "--out", str(out), "--no-progress"],
        capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("Test accuracy at every latency") == 1
    with open(out / "metrics.csv") as f:
        rows = f.read().strip().splitlines()
    assert len(rows) == 2 and "test_samples" in rows[0]
    header, values = rows[0].split(","), rows[1].split(",")
    assert values[header.index("test_samples")] == "30"  # both shards counted once
