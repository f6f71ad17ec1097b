"""Training spiking networks: SDT/TET losses at fixed T or with stochastic latency (SLT), time inheritance (TIT),
accuracy at every latency from one pass, atomic checkpoints with exact resume, DDP. See ``fastlif train --help``."""
from .config import Stage, TrainConfig
from .evaluate import LatencyResult, correct_per_latency, latency_accuracy
from .latency import LatencySampler
from .presets import PRESETS
from .trainer import Trainer, TrainResult, run_label

__all__ = ["TrainConfig", "Stage", "Trainer", "TrainResult", "LatencySampler", "latency_accuracy",
           "correct_per_latency", "LatencyResult", "PRESETS", "run_label"]
