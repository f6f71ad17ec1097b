"""Accuracy at every latency from ONE forward pass equals running the model separately at each latency."""
import pytest
import torch

from fastlif.data import get_dataset
from fastlif.train import TrainConfig, Trainer, correct_per_latency, latency_accuracy


pytestmark = pytest.mark.usefixtures("one_thread")


def test_correct_per_latency_on_hand_made_outputs():
    # B = 2, label 0 and 1. Sample 0: step 1 favours class 1, steps 2-3 pull the running mean to class 0.
    O = torch.tensor([[[0.0, 3.0], [0.0, 1.0]],
                      [[4.0, 0.0], [1.0, 0.0]],
                      [[4.0, 0.0], [5.0, 0.0]]])
    y = torch.tensor([0, 1])
    # t=1: means [0,3] -> 1 (wrong), [0,1] -> 1 (right); t=2: [2,1.5] -> 0 (right), [.5,.5] tie -> 0 (wrong);
    # t=3: [8/3, 1] -> 0 (right), [2, 1/3] -> 0 (wrong)
    assert correct_per_latency(O, y).tolist() == [1, 1, 1]
    assert correct_per_latency(O, torch.tensor([1, 0])).tolist() == [1, 1, 1]
    assert correct_per_latency(O, torch.tensor([0, 0])).tolist() == [0, 2, 2]


def per_latency_accuracy(model, bundle, t):
    """The slow way: a separate forward pass at latency t, prediction argmax of the mean of O[1..t]."""
    model.eval()
    x, y = bundle.test.tensors
    with torch.no_grad():
        O = model(bundle.prepare(x, False, None), T=t)
    assert O.shape[0] == t
    return int((O.mean(0).argmax(-1) == y).sum()) / len(y)


def test_one_pass_table_equals_per_latency_runs(tmp_path):
    bundle = get_dataset("digits", train_limit=256, test_limit=150)
    cfg = TrainConfig(T=3, epochs=3, batch_size=32, latency="slt", out_dir=None, progress=False, verbose=False)
    trainer = Trainer(cfg, bundle=bundle)
    trainer.fit()
    model = trainer.model
    T_eval = 5  # beyond the training T, as the SLT paper evaluates 1..16 after training at 8
    table = latency_accuracy(model, trainer.bundle, T_eval, torch.device("cpu"), batch_size=64)
    assert len(table.accuracy) == T_eval and table.samples == 150
    slow = [per_latency_accuracy(model, bundle, t) for t in range(1, T_eval + 1)]
    assert table.accuracy == pytest.approx(slow, abs=1e-12)
    assert max(slow) > 0.5  # a trained model, so the comparison is not between chance-level constants
    # the trainer's own per-epoch evaluation is the same table
    assert trainer.history[-1]["accuracy"] == pytest.approx(slow[:3], abs=1e-12)


def test_latency_accuracy_restores_training_mode_and_checks_T():
    bundle = get_dataset("digits", train_limit=64, test_limit=20)
    trainer = Trainer(TrainConfig(T=2, epochs=1, out_dir=None, progress=False, verbose=False), bundle=bundle)
    trainer.model.train()
    latency_accuracy(trainer.model, trainer.bundle, 2, torch.device("cpu"))
    assert trainer.model.training
    with pytest.raises(ValueError, match="T_eval"):
        latency_accuracy(trainer.model, trainer.bundle, 0, torch.device("cpu"))
