"""The run reports both the last epoch's and the best-over-epochs test accuracy (the TET/SLT scripts report the
best), labelled, in metrics.csv, the result and the printed summary."""
import csv

import pytest
import torch

from fastlif.data import get_dataset
from fastlif.train import TrainConfig, Trainer
from fastlif.train.evaluate import LatencyResult


def test_best_and_last_epoch_accuracy_are_both_reported(tmp_path, capsys):
    torch.set_num_threads(1)
    cfg = TrainConfig(T=2, epochs=4, batch_size=32, out_dir=str(tmp_path), progress=False, tensorboard=False)
    trainer = Trainer(cfg, bundle=get_dataset("digits", train_limit=64, test_limit=32))
    scripted = iter([[0.2, 0.5], [0.3, 0.8], [0.9, 0.8], [0.4, 0.6]])   # accuracy at t = 1, 2 per epoch
    trainer.evaluate = lambda T_eval=None: LatencyResult(next(scripted), 1.0, 32)
    result = trainer.fit()
    assert result.accuracy == [0.4, 0.6]                                 # last epoch
    assert result.best_epoch == 2 and result.best_accuracy == [0.3, 0.8]  # best at t = eval_T; a tie keeps epoch 2
    with open(tmp_path / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["best_test_acc"]) for r in rows] == [0.5, 0.8, 0.8, 0.8]
    assert [int(r["best_epoch"]) for r in rows] == [1, 2, 2, 2]
    assert [float(r["acc_t2"]) for r in rows] == [0.5, 0.8, 0.8, 0.6]
    assert result.summary() == ("[TET T=2] test accuracy at t=2: last epoch (4) 60.00%, "
                                "best over epochs 80.00% (epoch 2)")
    assert "best@t=2 80.00% (epoch 2)" in capsys.readouterr().out.splitlines()[-1]
    trainer.close()
