"""Representation learning on the Met (paper section 3, appendix A.1; thesis appendix B.3).

Modules, one idea each: ``losses`` (the classification losses of DNet from
pytorch-metric-learning, the contrastive loss, SimSiam's negative cosine), ``models`` (DNet,
SimSiam and the embedder of the starting point), ``mining`` (hard negatives and positives of
the contrastive pairs, FAISS), ``sampling`` (class-balanced sampling, inverse-frequency
weights), ``images`` (decoded-once image sets and pair datasets), ``transforms`` (the paper's
augmentation), ``parametric`` (the DNet classifier's inference and temperature tuning) and
``evaluation`` (descriptors of in-memory images, the per-epoch validation and the final kNN
protocol). The training loop is :func:`artrec.training.loop.train_epochs`.
"""
