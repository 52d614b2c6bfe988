"""Training: the paper's input transforms, data loading, checkpoints and the one training loop."""

from artrec.training.data import ImageManifestDataset, build_dataloader, collate_center_crop
from artrec.training.loop import TrainResult, evaluate_classifier, train_classifier, train_epochs
from artrec.training.sampler import AspectRatioBucketBatchSampler
from artrec.training.transforms import build_transforms

__all__ = [
    "AspectRatioBucketBatchSampler",
    "ImageManifestDataset",
    "TrainResult",
    "build_dataloader",
    "build_transforms",
    "collate_center_crop",
    "evaluate_classifier",
    "train_classifier",
    "train_epochs",
]
