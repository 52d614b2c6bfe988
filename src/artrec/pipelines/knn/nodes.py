"""kNN classification on the Met descriptors: Table 4 and the appendix studies.

Table 4 rows (paper numbering): 1 raw single-scale, 2 PCAw single-scale, 3 raw multi-scale,
4 PCAw multi-scale, 5 PCAw multi-scale with k = 1, 6 PCAw multi-scale tuned on the Met
validation queries only (no distractors). (k, tau) are tuned by validation GAP over the paper's
grid from one search at the largest k; test metrics use the chosen pair.

Every search uses the index of ``knn.met.index`` (see :class:`artrec.retrieval.knn.IndexSpec`);
without that key it is exact (``flat``), as in the paper.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from artrec.datasets.met import MetGroundTruth, load_met_ground_truth
from artrec.reporting.paper import paper_results
from artrec.retrieval.knn import IndexSpec
from artrec.retrieval.studies import (
    METRICS,
    DescriptorSplits,
    KNNEvaluation,
    accuracy_by_training_images,
    bootstrap_difference,
    dimension_sweep,
    distractor_share_table,
    evaluate_knn,
)
from artrec.retrieval.whitening import PCAWhitening
from artrec.tracking import log_child_run

TABLE4_ROWS = (
    # id, PCAw, multi-scale, fixed k, tune without distractors
    (1, False, False, None, False),
    (2, True, False, None, False),
    (3, False, True, None, False),
    (4, True, True, None, False),
    (5, True, True, 1, False),
    (6, True, True, None, True),
)


def _splits(descriptors: dict[str, np.ndarray], truth: MetGroundTruth) -> DescriptorSplits:
    return DescriptorSplits(
        descriptors["train_descriptors"],
        truth.train_labels,
        descriptors["val_descriptors"],
        truth.val_labels,
        descriptors["test_descriptors"],
        truth.test_labels,
    )


def _grid(params: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of every kNN evaluation: the (k, tau) grid and the search index."""
    return {
        "ks": [int(k) for k in params["ks"]],
        "taus": [float(t) for t in params["taus"]],
        "index": IndexSpec.from_params(params.get("index")),
    }


def met_table4(
    descriptors_ss: dict[str, np.ndarray],
    descriptors_ms: dict[str, np.ndarray],
    pcaw_ss: PCAWhitening,
    pcaw_ms: PCAWhitening,
    met_raw: Path,
    params: dict[str, Any],
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Table 4 (paper beside ours), the validation grids, the test predictions of row 4, metrics.

    Each row is also an MLflow child run (parameters: PCAw, multi-scale, k, tau; metrics).
    """
    truth = load_met_ground_truth(Path(met_raw), check_images=False)
    grid = _grid(params)
    raw = {"ss": _splits(descriptors_ss, truth), "ms": _splits(descriptors_ms, truth)}
    whitened = {"ss": raw["ss"].apply_whitening(pcaw_ss), "ms": raw["ms"].apply_whitening(pcaw_ms)}
    paper = {row["id"]: row for row in paper_results()["met"]["table4_r18in_knn_ablation"]}

    rows, grids, metrics = [], [], {}
    results: dict[int, KNNEvaluation] = {}
    for row_id, use_pcaw, multiscale, fixed_k, no_distractors in TABLE4_ROWS:
        scales = "ms" if multiscale else "ss"
        splits = (whitened if use_pcaw else raw)[scales]
        ks = [fixed_k] if fixed_k else grid["ks"]
        result = evaluate_knn(
            splits,
            ks=ks,
            taus=grid["taus"],
            index=grid["index"],
            tune_without_distractors=no_distractors,
        )
        ours = {m: 100.0 * result.test_metrics[m] for m in METRICS}
        published = paper[row_id]
        rows.append(
            {
                "id": row_id,
                "PCAw": use_pcaw,
                "multi-scale": multiscale,
                "tuning": "Met val only" if no_distractors else "val with distractors",
                "k (paper)": published["k"],
                "tau (paper)": published["tau"],
                "GAP (paper)": published["GAP"],
                "GAP- (paper)": published["GAP_minus"],
                "ACC (paper)": published["ACC"],
                "k (ours)": result.k,
                "tau (ours)": result.tau if fixed_k is None else None,
                "GAP (ours)": ours["GAP"],
                "GAP- (ours)": ours["GAP-"],
                "ACC (ours)": ours["ACC"],
            }
        )
        grids.append(result.grid.assign(table4_id=row_id))
        metrics[f"row{row_id}"] = {"k": result.k, "tau": result.tau, **ours}
        log_child_run(
            f"knn_met_table4_row{row_id}",
            {
                "pcaw": use_pcaw,
                "multiscale": multiscale,
                "k": result.k,
                "tau": result.tau,
                "tuned_without_distractors": no_distractors,
            },
            ours,
        )
        results[row_id] = result
    # How much of the gap between row 4 (PCAw + multi-scale) and rows 1-3 the number of test
    # queries can explain: a bootstrap over the test queries, reported beside Table 4.
    metrics["row4_minus"] = {
        f"row{other}": {
            metric: dict(
                zip(("difference", "low95", "high95"), (100 * v for v in values), strict=True)
            )
            for metric, values in bootstrap_difference(
                results[4], results[other], truth.test_labels, seed=seed
            ).items()
        }
        for other in (1, 2, 3)
    }
    metrics["whitening_samples_per_dimension"] = float(len(truth.train_paths) / pcaw_ms.input_dim)
    metrics["test_met_queries"] = int((truth.test_labels >= 0).sum())
    predictions = _predictions_frame(truth, results[4])
    return pd.DataFrame(rows), pd.concat(grids, ignore_index=True), predictions, metrics


def _predictions_frame(truth: MetGroundTruth, result: KNNEvaluation) -> pd.DataFrame:
    class_ids = truth.class_ids
    predicted = result.test_predictions
    return pd.DataFrame(
        {
            "path": truth.test_paths,
            "true_id": truth.test_ids,
            "predicted_id": class_ids[predicted],
            "confidence": result.test_confidence,
            "correct": (predicted == truth.test_labels) & (truth.test_labels >= 0),
            "nearest_path": np.asarray(truth.train_paths, dtype=object)[result.test_nearest],
        }
    )


def met_studies(
    descriptors_ms: dict[str, np.ndarray],
    pcaw_ms: PCAWhitening,
    predictions: pd.DataFrame,
    met_raw: Path,
    params: dict[str, Any],
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame, Figure, pd.DataFrame, Figure, dict[str, Any]]:
    """Table B.1, Figure B.1, Figure 8-style accuracy by class size and the mini database."""
    truth = load_met_ground_truth(Path(met_raw), check_images=False)
    grid = _grid(params)
    raw = _splits(descriptors_ms, truth)
    whitened = raw.apply_whitening(pcaw_ms)

    shares = [float(s) for s in params["distractor_shares"]]
    table_b1 = distractor_share_table(whitened, shares, seed=seed, **grid)
    for column in METRICS:
        table_b1[column] = 100.0 * table_b1[column]

    dims = dimension_sweep(raw, [int(d) for d in params["pcaw_dims"]], **grid)
    for column in METRICS:
        dims[column] = 100.0 * dims[column]

    predicted_labels = np.array(
        [truth.id_to_class.get(int(i), -1) for i in predictions["predicted_id"]]
    )
    by_size = accuracy_by_training_images(predicted_labels, truth.test_labels, truth.train_labels)
    by_size["ACC"] = 100.0 * by_size["ACC"]

    mini = _mini_database(raw, truth, met_raw, pcaw_dim=params.get("mini_pcaw_dim"), grid=grid)
    return (
        table_b1,
        dims,
        plot_dimension_sweep(dims),
        by_size,
        plot_accuracy_by_training_images(by_size),
        mini,
    )


def _mini_database(
    raw: DescriptorSplits,
    truth: MetGroundTruth,
    met_raw: Path,
    pcaw_dim: int | None,
    grid: dict[str, Any],
) -> dict[str, Any]:
    """Thesis B.4: the same queries against ``mini_MET_database.json`` (PCAw learned on it)."""
    mini_truth = load_met_ground_truth(
        Path(met_raw), database="mini_MET_database.json", check_images=False
    )
    position = {path: i for i, path in enumerate(truth.train_paths)}
    unknown = [p for p in mini_truth.train_paths if p not in position]
    if unknown:
        raise ValueError(f"mini database images not in MET_database.json: {unknown[:5]}")
    keep = np.array([position[p] for p in mini_truth.train_paths], dtype=np.int64)
    result = evaluate_knn(raw.subset_database(keep).whitened(pcaw_dim), **grid)
    published = paper_results()["met"]["thesis_appendix_b"]["mini_dataset"]
    return {
        "images": len(keep),
        "classes": int(np.unique(raw.train_labels[keep]).size),
        "k": result.k,
        "tau": result.tau,
        **{m: 100.0 * v for m, v in result.test_metrics.items()},
        "paper": {
            "images": published["images"],
            "classes": published["classes"],
            "GAP": published["R18IN_knn"]["GAP"],
            "GAP-": published["R18IN_knn"]["GAP_minus"],
            "ACC": published["R18IN_knn"]["ACC"],
        },
    }


def plot_dimension_sweep(dims: pd.DataFrame) -> Figure:
    figure = Figure(figsize=(5.5, 3.5))
    ax = figure.subplots()
    for metric in METRICS:
        ax.plot(dims["dim"], dims[metric], marker="o", label=metric)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("descriptor dimension after PCAw")
    ax.set_ylabel("test metric (%)")
    ax.set_title("Figure B.1-style: kNN metrics vs PCAw dimension")
    ax.grid(alpha=0.3)
    ax.legend()
    return figure


def plot_accuracy_by_training_images(by_size: pd.DataFrame) -> Figure:
    figure = Figure(figsize=(5.5, 3.5))
    ax = figure.subplots()
    ax.bar(by_size["training_images"], by_size["ACC"].fillna(0.0), color="tab:blue")
    for x, (acc, n) in enumerate(zip(by_size["ACC"], by_size["queries"], strict=True)):
        ax.annotate(
            f"n={n}", (x, 0 if np.isnan(acc) else acc), ha="center", va="bottom", fontsize=8
        )
    ax.set_xlabel("training images of the query's class")
    ax.set_ylabel("kNN accuracy (%)")
    ax.set_title("Figure 8-style: accuracy by training images per class")
    return figure


def met_examples_figure(predictions: pd.DataFrame, met_raw: Path, per_row: int) -> Figure:
    """Figure 1-style: test queries beside the exhibit image behind the prediction.

    Rows: correct predictions (most confident first); wrong predictions, with an image of the
    true class; distractors with the highest confidence.
    """
    from PIL import Image

    truth = load_met_ground_truth(Path(met_raw), check_images=False)
    first_image = {}
    for path, met_id in zip(truth.train_paths, truth.train_ids, strict=True):
        first_image.setdefault(int(met_id), path)
    ranked = predictions.sort_values("confidence", ascending=False, kind="stable")
    met = ranked["true_id"] >= 0
    groups = [
        ("correct", ranked[met & ranked["correct"]].head(per_row)),
        ("wrong", ranked[met & ~ranked["correct"]].head(per_row)),
        ("distractor", ranked[~met].head(per_row)),
    ]
    columns = 3
    figure = Figure(figsize=(2.2 * columns * per_row, 2.4 * len(groups)))
    axes = figure.subplots(len(groups), columns * per_row, squeeze=False)
    for row, (kind, frame) in enumerate(groups):
        for ax in axes[row]:
            ax.axis("off")
        if frame.empty:
            axes[row][0].text(0.0, 0.5, f"no {kind} predictions", fontsize=9)
        for i, item in enumerate(frame.itertuples()):
            panels = [
                (f"{kind} query\nconf {item.confidence:.2f}", truth.image_path(item.path)),
                (f"prediction {item.predicted_id}", truth.image_path(item.nearest_path)),
            ]
            if kind == "wrong":
                panels.append(
                    (f"true class {item.true_id}", truth.image_path(first_image[int(item.true_id)]))
                )
            for j, (title, path) in enumerate(panels):
                ax = axes[row][i * columns + j]
                with Image.open(path) as image:
                    ax.imshow(image.convert("RGB"))
                ax.set_title(title, fontsize=7)
    figure.suptitle(
        "Figure 1-style: test queries and the exhibit behind each prediction "
        "(rows: correct, wrong + true class, confident distractors)"
    )
    return figure
