"""The non-parametric kNN classifier of the Met paper (section 3) and its (k, tau) tuning.

For a query q with k nearest database images (similarity = dot product of L2-normalised
descriptors), class c gets s_c(q) = max similarity among its images in the k neighbours (0 if it
has none). The confidence is the largest entry of softmax(tau * s(q)) over ALL N training classes,
where each of the N - n_present absent classes contributes exp(0); the prediction is the class of
the nearest neighbour. Writing s_top for the nearest neighbour's score,

    conf = 1 / (1 + rest),  rest = sum_{present c != top} exp(tau (s_c - s_top))
                                   + (N - n_present) exp(-tau s_top),

which is the closed form of the soft-max maximum and needs only the k neighbours of each query.

Differences from the public evaluation code (github.com/nikosips/met, ``knn_classifier.py``),
all deliberate:

- Ranking by a log-domain confidence. In float64 the soft-max maximum rounds to exactly 1.0 for
  many queries at tau = 500 (rest < 1e-16), and the public ``np.argsort(-conf)`` then orders those
  queries however its quicksort happens to. Here queries are ranked by
  ``log_conf = -log1p(rest)`` (= tau s_top - logsumexp over all N classes of tau s_c), which stays
  distinct down to rest ~ 1e-308 and has the same order as the soft-max wherever that does not
  saturate; remaining ties go to the larger nearest-neighbour similarity, then the lower query
  index. ``confidence`` (the soft-max value itself) is still returned.
- Vectorised: no Python loop over queries. Neighbours come sorted by similarity, so the first
  occurrence of a label in a query's list carries that class's maximum; first occurrences are
  found with one stable sort per row, and every k is a prefix of the list at the largest k.
- Tuning searches the index once at the largest k of the grid (the public code re-fits and
  re-searches for each of the 108 grid points). The best pair maximises validation GAP; exact
  ties go to the smallest k, then the smallest tau (the public loop's order with a strict ``>``).
- Similarities below 0 count as 0, as in the public code (its class scores start at 0 and take a
  max): a present class with a negative similarity scores like an absent one.
- The prediction is the nearest neighbour's label; the public arg-max over sorted unique labels
  differs only when two classes' similarities are exactly equal.

The search index is a choice (:class:`IndexSpec`, the ``knn.met.index`` parameter): exact
(``flat``, the default and the paper's) or an inverted file (``ivf_flat``, ``ivf_pq``) for
databases where exact search is too slow or too big. Every index comes from
``faiss.index_factory`` with the inner-product metric and, when the FAISS build sees GPUs, is
sharded over all of them.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from numbers import Integral
from typing import Any

import faiss
import numpy as np
import pandas as pd

from artrec.retrieval.metrics import evaluate
from artrec.retrieval.whitening import as_descriptor_matrix

METRICS = ("GAP", "GAP-", "ACC")
DEFAULT_KS: tuple[int, ...] = (1, 2, 3, 5, 7, 10, 15, 20, 50)
DEFAULT_TAUS: tuple[float, ...] = (
    0.01,
    0.1,
    1.0,
    5.0,
    10.0,
    15.0,
    20.0,
    25.0,
    30.0,
    50.0,
    100.0,
    500.0,
)


@dataclass(frozen=True)
class Neighbours:
    """The ``K`` nearest database images of each query, most similar first.

    ``similarities`` (Q, K) float32, ``labels`` (Q, K) class of each neighbour, ``valid`` (Q, K)
    False where the index returned no neighbour (fewer than K database images, or IVF probing).
    """

    similarities: np.ndarray
    labels: np.ndarray
    valid: np.ndarray

    @property
    def k(self) -> int:
        return int(self.similarities.shape[1])

    def first_occurrence(self) -> np.ndarray:
        """(Q, K) bool: the neighbour is the most similar one of its class in the list."""
        return first_occurrence(self.labels, self.valid)


@dataclass(frozen=True)
class KNNPrediction:
    """Per query: predicted ``labels``, soft-max ``confidence``, ``log_confidence`` (the ranking
    key, see the module docstring) and ``top_similarity`` (clamped nearest-neighbour score)."""

    labels: np.ndarray
    confidence: np.ndarray
    log_confidence: np.ndarray
    top_similarity: np.ndarray

    @property
    def rank_key(self) -> tuple[np.ndarray, np.ndarray]:
        """Keys for :mod:`artrec.retrieval.metrics`: log-confidence, then top similarity."""
        return (self.log_confidence, self.top_similarity)

    def metrics(self, true: np.ndarray) -> dict[str, float]:
        """GAP, GAP- and ACC of these predictions against ``true`` (-1 = distractor)."""
        return evaluate(self.labels, self.confidence, true, self.rank_key)


@dataclass(frozen=True)
class KNNTuning:
    """Best (k, tau) on the validation queries and the whole grid (columns k, tau, GAP, GAP-,
    ACC), in grid order."""

    k: int
    tau: float
    grid: pd.DataFrame

    @property
    def val_metrics(self) -> dict[str, float]:
        """GAP, GAP- and ACC of the chosen pair on the validation queries."""
        best = self.grid[(self.grid["k"] == self.k) & (self.grid["tau"] == self.tau)].iloc[0]
        return {name: float(best[name]) for name in METRICS}


@dataclass(frozen=True)
class TunedPrediction:
    """The (k, tau) tuning on validation queries and the test predictions at the chosen pair."""

    tuning: KNNTuning
    test: KNNPrediction

    @property
    def k(self) -> int:
        return self.tuning.k

    @property
    def tau(self) -> float:
        return self.tuning.tau


INDEX_TYPES = ("flat", "ivf_flat", "ivf_pq")
# FAISS's k-means warns below 39 training points per centroid and itself samples at most 256
# per centroid (ClusteringParameters.min/max_points_per_centroid); 64 trains in a quarter of
# the time of 256.
MIN_POINTS_PER_CENTROID = 39
TRAIN_POINTS_PER_CENTROID = 64


@dataclass(frozen=True)
class IndexSpec:
    """Which FAISS index serves the kNN search (the ``knn.met.index`` parameter).

    - ``type``: ``flat`` (exact), ``ivf_flat`` or ``ivf_pq`` (approximate: the database is split
      into ``nlist`` k-means cells and a query scans only the ``nprobe`` nearest cells; IVF-PQ
      also stores each vector as ``pq_m`` codes of ``pq_nbits`` bits instead of D floats).
    - ``nlist``: None picks about 4 sqrt(N) (FAISS's rule of thumb) as a power of two, capped so
      that every cell gets 39 training points.
    - ``pq_m``: None gives D / 8 codes (64 bytes per 512-D vector); with fewer than 8
      dimensions per code FAISS's k-means takes a slower path and training takes several times
      as long.
    - ``train_size``: rows sampled to train the cells and the PQ codebooks; None: 64 per
      centroid (FAISS's k-means wants 39 to 256). Each PQ codebook uses at most 64 x 256.
    - ``gpu``: ``"auto"`` shards the index over every visible GPU when the FAISS build has GPU
      support, ``True`` requires a GPU, ``False`` stays on the CPU.
    - ``add_rows``: rows per ``add`` call when the database is not an in-memory float32 array
      (e.g. memory-mapped); bounds the float32 copy of a block and the pages mapped at once.
    """

    type: str = "flat"
    nlist: int | None = None
    nprobe: int = 32
    pq_m: int | None = None
    pq_nbits: int = 8
    train_size: int | None = None
    gpu: str | bool = "auto"
    add_rows: int = 65_536
    seed: int = 0

    def __post_init__(self) -> None:
        if self.type not in INDEX_TYPES:
            raise ValueError(f"index type {self.type!r} is not one of {INDEX_TYPES}")
        if self.gpu not in ("auto", True, False):
            raise ValueError(f"index gpu must be 'auto', true or false, got {self.gpu!r}")
        for name in ("nlist", "nprobe", "pq_m", "pq_nbits", "train_size", "add_rows"):
            value = getattr(self, name)
            if value is None and name in ("nlist", "pq_m", "train_size"):
                continue
            if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"index {name} must be a positive integer, got {value!r}")

    @classmethod
    def from_params(cls, params: IndexSpec | Mapping[str, Any] | None) -> IndexSpec:
        """A spec from a parameter mapping; None or {} is exact flat. Unknown keys are errors."""
        if isinstance(params, IndexSpec):
            return params
        params = dict(params or {})
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValueError(f"unknown index parameters {unknown}; known: {known}")
        return cls(**params)

    @property
    def is_ivf(self) -> bool:
        return self.type != "flat"

    def lists_for(self, n_database: int) -> int:
        """Number of IVF cells for a database of ``n_database`` vectors."""
        if self.nlist is not None:
            return self.nlist
        rule = 2 ** round(math.log2(4 * math.sqrt(max(n_database, 1))))
        return max(1, min(rule, n_database // MIN_POINTS_PER_CENTROID))

    def train_rows(self, n_database: int) -> int:
        """How many database rows train the index (0 for flat, which needs no training)."""
        if not self.is_ivf:
            return 0
        centroids = self.lists_for(n_database)
        if self.type == "ivf_pq":
            centroids = max(centroids, 2**self.pq_nbits)  # each PQ codebook is a k-means too
        wanted = self.train_size or TRAIN_POINTS_PER_CENTROID * centroids
        return min(wanted, n_database)

    def factory_string(self, dim: int, n_database: int) -> str:
        """The ``faiss.index_factory`` description of this index for (N, D) = (n_database, dim)."""
        if not self.is_ivf:
            return "Flat"
        ivf = f"IVF{self.lists_for(n_database)}"
        if self.type == "ivf_flat":
            return f"{ivf},Flat"
        # "np": no polysemous training, a slow code reordering that only serves Hamming-distance
        # filtering, which this search does not use.
        return f"{ivf},PQ{self.codes_for(dim)}x{self.pq_nbits}np"

    def codes_for(self, dim: int) -> int:
        """Number of PQ sub-quantizers (``pq_m``) for descriptors of ``dim`` dimensions."""
        codes = self.pq_m if self.pq_m is not None else max(1, dim // 8)
        if dim % codes:
            raise ValueError(f"index pq_m={codes} does not divide the dimension {dim}")
        return codes


def build_index(
    database: np.ndarray,
    spec: IndexSpec | Mapping[str, Any] | None = None,
    *,
    use_gpu: bool | None = None,
) -> faiss.Index:
    """Inner-product FAISS index over ``database`` (N, D), as ``spec`` says (default: exact).

    ``database`` may be any 2-D array that slices into row blocks, a memory-mapped ``.npy``
    included: IVF indexes train on a seeded sample of rows, and rows are added ``add_rows`` at a
    time. ``use_gpu`` overrides ``spec.gpu`` when not None.
    """
    spec = IndexSpec.from_params(spec)
    if np.ndim(database) != 2:
        raise ValueError(f"database must be a 2-D (N, D) array, got shape {np.shape(database)}")
    n_database, dim = database.shape
    if n_database == 0:
        raise ValueError("the kNN database is empty")
    index = new_index(spec, dim, n_database)
    if spec.is_ivf:
        train_index(index, database[training_sample(spec, n_database)], spec)
    return fill_index(index, _add_blocks(database, spec.add_rows), spec, use_gpu=use_gpu)


def _add_blocks(database: np.ndarray, rows: int) -> Iterable[np.ndarray]:
    """What ``build_index`` adds: an in-memory float32 array in one call, since FAISS then
    copies it once into storage of the final size, whereas growing the index block by block
    reallocates that storage (briefly holding it twice); anything else (a memory map, another
    dtype) in blocks of ``rows``."""
    if (
        type(database) is np.ndarray
        and database.dtype == np.float32
        and database.flags.c_contiguous
    ):
        return [database]
    return row_chunks(database, rows)


def new_index(spec: IndexSpec, dim: int, n_database: int) -> faiss.Index:
    """The empty (untrained) CPU index of ``spec`` for ``n_database`` vectors of ``dim``."""
    index = faiss.index_factory(
        dim, spec.factory_string(dim, n_database), faiss.METRIC_INNER_PRODUCT
    )
    if spec.is_ivf:
        ivf = faiss.downcast_index(faiss.extract_index_ivf(index))
        ivf.nprobe = min(spec.nprobe, ivf.nlist)
        ivf.cp.seed = spec.seed
        if spec.type == "ivf_pq":
            ivf.pq.cp.seed = spec.seed
            # Each of the pq_m codebooks is a k-means over the whole sample; FAISS would use up
            # to 256 points per code, four times the training time of 64 for little gain.
            ivf.pq.cp.max_points_per_centroid = TRAIN_POINTS_PER_CENTROID
    return index


def training_sample(spec: IndexSpec, n_database: int) -> np.ndarray:
    """Sorted row numbers of the training sample (sorted: a memory map is read in order)."""
    size = spec.train_rows(n_database)
    if size >= n_database:
        return np.arange(n_database)
    rng = np.random.default_rng(spec.seed)
    return np.sort(rng.choice(n_database, size=size, replace=False))


def train_index(index: faiss.Index, sample: np.ndarray, spec: IndexSpec) -> None:
    """Train the IVF cells (and PQ codebooks) of ``index`` on ``sample``."""
    codes = 2**spec.pq_nbits
    if spec.type == "ivf_pq" and len(sample) < codes:
        # FAISS's own message ("should be at least as large as number of clusters") does not say
        # which parameter to change.
        raise ValueError(
            f"IVF-PQ with pq_nbits={spec.pq_nbits} needs at least {codes} training vectors, "
            f"got {len(sample)}: use a smaller pq_nbits or ivf_flat"
        )
    index.train(_as_float32(sample, "training sample"))


def row_chunks(x: np.ndarray, rows: int) -> Iterator[np.ndarray]:
    """Consecutive blocks of ``rows`` rows of ``x``."""
    for start in range(0, x.shape[0], rows):
        yield x[start : start + rows]


def fill_index(
    index: faiss.Index,
    chunks: Iterable[np.ndarray],
    spec: IndexSpec,
    *,
    use_gpu: bool | None = None,
) -> faiss.Index:
    """Add the database ``chunks`` to a trained ``index`` and place it on the GPUs if wanted.

    An exact index is filled on the CPU and then sharded, because FAISS's sharded flat index
    takes its vectors in a single ``add``; an IVF index moves to the GPUs first, so the
    assignment of vectors to cells runs there, chunk by chunk.
    """
    gpus = _gpus_wanted(spec, use_gpu)
    if gpus and spec.is_ivf:
        index = _to_gpus(index, spec)
    for chunk in chunks:
        index.add(_as_float32(chunk, "database"))
    if gpus and not spec.is_ivf:
        index = _to_gpus(index, spec)
    return index


def _gpus_wanted(spec: IndexSpec, use_gpu: bool | None) -> bool:
    wanted = spec.gpu if use_gpu is None else use_gpu
    available = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0
    if wanted == "auto":
        return available > 0
    if wanted and available == 0:
        raise RuntimeError("a GPU index was asked for, but FAISS sees no GPU (or is a CPU build)")
    return bool(wanted)


def _to_gpus(index: faiss.Index, spec: IndexSpec) -> faiss.Index:
    options = faiss.GpuMultipleClonerOptions()
    # Shards rather than replicas: each GPU holds 1/n of the database, so n GPUs hold n times
    # as much; queries go to every shard and the results are merged.
    options.shard = True
    # GPU IVF-PQ keeps its per-query lookup tables (pq_m x 256 entries) in shared memory, which
    # 64 and more sub-quantizers fit only in float16.
    options.useFloat16 = spec.type == "ivf_pq"
    return faiss.index_cpu_to_all_gpus(index, co=options)


def search(
    index: faiss.Index,
    queries: np.ndarray,
    k: int,
    blas_database_rows: int = 4096,
    query_rows: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(similarities, database indices), each (Q, min(k, ntotal)), most similar first.

    Exact CPU search multiplies query blocks with database blocks of ``blas_database_rows`` rows
    (FAISS's default is 1024): larger blocks made the search ~25% faster here, with bit-identical
    results. The FAISS setting is process-wide, so it is restored afterwards. ``query_rows``
    searches that many queries at a time (``queries`` may then be memory-mapped), which bounds
    the memory of FAISS's per-batch distance blocks.
    """
    if np.ndim(queries) != 2:
        raise ValueError(f"queries must be a 2-D (N, D) array, got shape {np.shape(queries)}")
    k = min(int(k), int(index.ntotal))
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    n_queries = queries.shape[0]
    step = n_queries if not query_rows else int(query_rows)
    if step >= n_queries:
        with _blas_database_block(blas_database_rows):
            return index.search(_as_float32(queries, "queries"), k)
    similarities = np.empty((n_queries, k), np.float32)
    indices = np.empty((n_queries, k), np.int64)
    with _blas_database_block(blas_database_rows):
        for start in range(0, n_queries, step):
            block = _as_float32(queries[start : start + step], "queries")
            stop = start + len(block)
            similarities[start:stop], indices[start:stop] = index.search(block, k)
    return similarities, indices


@contextlib.contextmanager
def _blas_database_block(rows: int) -> Iterator[None]:
    name = "distance_compute_blas_database_bs"
    if not hasattr(faiss.cvar, name):
        yield
        return
    previous = getattr(faiss.cvar, name)
    setattr(faiss.cvar, name, max(int(rows), 1))
    try:
        yield
    finally:
        setattr(faiss.cvar, name, previous)


def neighbours_from_search(
    similarities: np.ndarray, indices: np.ndarray, database_labels: np.ndarray
) -> Neighbours:
    """Attach database labels to a FAISS result (index -1 marks a missing neighbour)."""
    valid = indices >= 0
    labels = np.asarray(database_labels)[np.where(valid, indices, 0)]
    return Neighbours(similarities=np.asarray(similarities), labels=labels, valid=valid)


def first_occurrence(labels: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """(Q, K) bool: True where a label appears for the first time in its row (invalid: False).

    One stable sort per row groups equal labels while keeping their column order, so the first
    member of each group is the first occurrence; scattering back gives the mask.
    """
    labels = np.asarray(labels)
    if labels.shape[1] == 0:
        return np.zeros(labels.shape, dtype=bool)
    if valid is not None:
        # Give each invalid slot a label of its own, below every real one, so that it never
        # matches a class or another invalid slot.
        below = labels.min() - 1 - np.arange(labels.shape[1])
        labels = np.where(valid, labels, below)
    order = np.argsort(labels, axis=1, kind="stable")
    grouped = np.take_along_axis(labels, order, axis=1)
    first_sorted = np.ones(labels.shape, dtype=bool)
    first_sorted[:, 1:] = grouped[:, 1:] != grouped[:, :-1]
    first = np.empty(labels.shape, dtype=bool)
    np.put_along_axis(first, order, first_sorted, axis=1)
    return first if valid is None else first & valid


def knn_predict(
    neighbours: Neighbours,
    k: int,
    tau: float,
    n_classes: int,
    first: np.ndarray | None = None,
) -> KNNPrediction:
    """Predictions and confidences using the first ``k`` of ``neighbours`` (see module doc).

    ``first`` is ``neighbours.first_occurrence()``, passed in when computing many (k, tau) pairs.
    """
    return _ClassScores(neighbours, k, n_classes, first).predict(tau)


class _ClassScores:
    """The part of the confidence computation that depends on k but not on tau."""

    def __init__(
        self, neighbours: Neighbours, k: int, n_classes: int, first: np.ndarray | None
    ) -> None:
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if first is None:
            first = neighbours.first_occurrence()
        kk = min(int(k), neighbours.k)
        scores = np.maximum(neighbours.similarities[:, :kk].astype(np.float64), 0.0)
        present = first[:, :kk]
        self.top = np.where(neighbours.valid[:, 0], scores[:, 0], 0.0)
        self.n_absent = n_classes - present.sum(axis=1)
        if np.any(self.n_absent < 0):
            raise ValueError(f"n_classes={n_classes} is smaller than the classes in neighbours")
        others = present.copy()
        others[:, 0] = False
        # s_c - s_top for the other present classes, -inf elsewhere so that exp() gives 0.
        # Every difference is <= 0 (neighbours are sorted and scores clamped at 0): no overflow.
        self.differences = np.where(others, scores - self.top[:, None], -np.inf)
        self.labels = neighbours.labels[:, 0].copy()

    def predict(self, tau: float) -> KNNPrediction:
        if not tau > 0:
            raise ValueError(f"the temperature tau must be positive, got {tau}")
        with np.errstate(under="ignore"):
            rest = np.exp(tau * self.differences).sum(axis=1)
            rest += self.n_absent * np.exp(-tau * self.top)
        return KNNPrediction(
            labels=self.labels,
            confidence=1.0 / (1.0 + rest),
            log_confidence=-np.log1p(rest),
            top_similarity=self.top,
        )


def tune_knn(
    neighbours: Neighbours,
    query_labels: np.ndarray,
    n_classes: int,
    ks: Sequence[int] = DEFAULT_KS,
    taus: Sequence[float] = DEFAULT_TAUS,
) -> KNNTuning:
    """Grid search of (k, tau) by validation GAP (distractors included), from one search.

    ``neighbours`` must hold max(ks) neighbours per query; a grid k beyond the neighbours held
    uses all of them (right only when the database itself is that small, as in
    :meth:`KNNClassifier.tune`, whose search is capped at the database size).
    """
    ks = sorted({int(k) for k in ks})
    taus = sorted({float(t) for t in taus})
    if not ks or not taus:
        raise ValueError("the (k, tau) grid is empty")
    query_labels = np.asarray(query_labels)
    first = neighbours.first_occurrence()
    rows = []
    for k in ks:
        class_scores = _ClassScores(neighbours, k, n_classes, first)
        for tau in taus:
            prediction = class_scores.predict(tau)
            rows.append({"k": k, "tau": tau, **prediction.metrics(query_labels)})
    grid = pd.DataFrame(rows, columns=["k", "tau", *METRICS])
    # Rows are in (k, tau) ascending order; idxmax returns the first maximum.
    best = grid.loc[grid["GAP"].idxmax()]
    return KNNTuning(k=int(best["k"]), tau=float(best["tau"]), grid=grid)


class KNNClassifier:
    """kNN classifier over a labelled descriptor database (see the module docstring).

    ``n_classes`` (N of the soft-max) is the number of distinct database labels. ``index``
    chooses the search index (:class:`IndexSpec` or its parameter mapping; default exact).
    """

    def __init__(
        self,
        database: np.ndarray,
        labels: np.ndarray,
        *,
        use_gpu: bool | None = None,
        index: IndexSpec | Mapping[str, Any] | None = None,
    ) -> None:
        # Checked before the (possibly long) index build.
        _check_labels(labels, len(database))
        self._attach(build_index(database, index, use_gpu=use_gpu), labels)

    @classmethod
    def from_index(cls, index: faiss.Index, labels: np.ndarray) -> KNNClassifier:
        """A classifier over an index built elsewhere (e.g. chunk by chunk from disk)."""
        classifier = cls.__new__(cls)
        classifier._attach(index, labels)
        return classifier

    def _attach(self, index: faiss.Index, labels: np.ndarray) -> None:
        self.labels = _check_labels(labels, int(index.ntotal))
        self.n_classes = int(np.unique(self.labels).size)
        self.index = index

    def neighbours(self, queries: np.ndarray, k: int) -> Neighbours:
        similarities, indices = search(self.index, queries, k)
        return neighbours_from_search(similarities, indices, self.labels)

    def predict(self, queries: np.ndarray, k: int, tau: float) -> KNNPrediction:
        return knn_predict(self.neighbours(queries, k), k, tau, self.n_classes)

    def tune(
        self,
        queries: np.ndarray,
        query_labels: np.ndarray,
        ks: Sequence[int] = DEFAULT_KS,
        taus: Sequence[float] = DEFAULT_TAUS,
    ) -> KNNTuning:
        """(k, tau) by validation GAP from one search at max(ks) (see :func:`tune_knn`)."""
        neighbours = self.neighbours(queries, max(ks))
        return tune_knn(neighbours, query_labels, self.n_classes, ks, taus)

    def tune_and_predict(
        self,
        val: np.ndarray,
        val_labels: np.ndarray,
        test: np.ndarray,
        ks: Sequence[int] = DEFAULT_KS,
        taus: Sequence[float] = DEFAULT_TAUS,
    ) -> TunedPrediction:
        """Tune (k, tau) on the validation queries, then predict the test queries with them.

        The one implementation of the protocol behind Table 4, its appendix studies and
        ``artrec evaluate-descriptors``. The test queries get their own search at the tuned k
        rather than the first k of a search at max(ks): the two differ only in the order of
        exactly tied similarities, and this way a fixed-k evaluation gives the same result.
        """
        tuning = self.tune(val, val_labels, ks, taus)
        return TunedPrediction(tuning, self.predict(test, tuning.k, tuning.tau))


def _check_labels(labels: np.ndarray, n_database: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (n_database,):
        raise ValueError(f"{n_database} database descriptors but labels {labels.shape}")
    return labels


def _as_float32(x: np.ndarray, name: str) -> np.ndarray:
    # FAISS takes contiguous float32 rows only.
    return np.ascontiguousarray(as_descriptor_matrix(x, name), dtype=np.float32)
