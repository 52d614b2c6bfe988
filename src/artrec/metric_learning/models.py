"""The trained networks of the Met methods: DNet (embedder + cosine classifier) and SimSiam
(embedder + projector and predictor MLPs). The contrastive methods train the embedder alone.

The embedder is :class:`artrec.retrieval.embedder.Embedder` with its FC projector initialised
from PCA whitening (:meth:`Embedder.init_projector`), as the paper does for every method.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from artrec.retrieval.embedder import Embedder


class DNet(nn.Module):
    """Backbone embedder followed by a cosine classifier without bias.

    The classifier's class vectors (prototypes) are the ``W`` (dim, classes) of ``loss``, a
    pytorch-metric-learning classification loss (:func:`artrec.metric_learning.losses.
    classification_loss`); the classifier's logits are the cosines between the L2-normalised
    descriptor and the L2-normalised prototypes.
    """

    def __init__(self, embedder: Embedder, loss: nn.Module) -> None:
        super().__init__()
        if tuple(loss.W.shape)[0] != embedder.output_dim:
            raise ValueError(
                f"classifier dimension {tuple(loss.W.shape)[0]} != embedder's {embedder.output_dim}"
            )
        self.embedder = embedder
        self.loss = loss

    @property
    def num_classes(self) -> int:
        return int(self.loss.W.shape[1])

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.embedder(images)

    def prototypes(self) -> torch.Tensor:
        """The L2-normalised class vectors, (classes, dim)."""
        return F.normalize(self.loss.W.detach(), dim=0).t()

    def cosines(self, descriptors: torch.Tensor) -> torch.Tensor:
        """Cosine logits (B, classes) of L2-normalised ``descriptors`` (B, dim)."""
        return descriptors @ self.prototypes().to(descriptors.dtype).t()

    @torch.no_grad()
    def imprint(self, descriptors: np.ndarray, labels: np.ndarray) -> None:
        """Set each prototype to the normalised mean descriptor of its class (weight
        imprinting, Qi et al. 2018): the classifier starts as a nearest-class-mean classifier.

        The paper does not say how the prototypes start; imprinting is this project's choice
        (``prototype_init: imprint``; ``random`` keeps the loss's random initialisation).
        """
        labels = np.asarray(labels)
        if labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(f"labels must lie in [0, {self.num_classes})")
        sums = np.zeros((self.num_classes, descriptors.shape[1]), np.float64)
        np.add.at(sums, labels, np.asarray(descriptors, np.float64))
        empty = ~sums.any(axis=1)
        if empty.any():
            raise ValueError(f"{int(empty.sum())} classes have no training descriptor to imprint")
        weights = F.normalize(torch.from_numpy(sums).float(), dim=1).t()
        self.loss.W.copy_(weights.to(self.loss.W.device))


def _mlp(sizes: list[int], last_bn: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (inputs, outputs) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        last = i == len(sizes) - 2
        # A bias before batch normalisation would be cancelled by it.
        layers.append(nn.Linear(inputs, outputs, bias=last and not last_bn))
        if not last:
            layers += [nn.BatchNorm1d(outputs), nn.ReLU(inplace=True)]
        elif last_bn:
            layers.append(nn.BatchNorm1d(outputs, affine=False))
    return nn.Sequential(*layers)


class SimSiam(nn.Module):
    """Embedder + projector (3 layers, BN, the output BN without affine) + predictor (2-layer
    bottleneck), as in Chen and He (2021) with widths scaled to the embedder's output.

    ``forward`` maps a batch of first views and second views to (p1, p2, z1, z2), to be fed to
    :func:`artrec.metric_learning.losses.simsiam_loss`.
    """

    def __init__(self, embedder: Embedder, projector_dim: int, predictor_dim: int) -> None:
        super().__init__()
        dim = embedder.output_dim
        self.embedder = embedder
        self.projector = _mlp([dim, projector_dim, projector_dim, projector_dim], last_bn=True)
        self.predictor = _mlp([projector_dim, predictor_dim, projector_dim], last_bn=False)

    def forward(
        self, first: torch.Tensor, second: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        z = self.projector(self.embedder(torch.cat([first, second])))
        p = self.predictor(z)
        n = len(first)
        return p[:n], p[n:], z[:n], z[n:]


def freeze_batchnorm(model: nn.Module) -> None:
    """Put every BatchNorm2d of ``model`` in eval mode: its running statistics stay those of the
    starting network (the Met code does this for the backbone, trained with small batches)."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.eval()
