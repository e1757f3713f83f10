"""Churn risk learned from behaviour (issue 12): the model (`model`), why each customer's risk is what it is
(`explain`), and the early-warning list and model card the pages read (`warnings`)."""

from core.churn.model import (
    CATEGORICAL,
    HORIZON_DAYS,
    MIN_CUSTOMERS,
    Evaluation,
    Trained,
    cross_validate,
    evaluate,
    features,
    labels,
    latest_model,
    refuse_if_thin,
    save,
    score,
    snapshots,
    train,
    training_set,
)

__all__ = [
    "CATEGORICAL",
    "HORIZON_DAYS",
    "MIN_CUSTOMERS",
    "Evaluation",
    "Trained",
    "cross_validate",
    "evaluate",
    "features",
    "labels",
    "latest_model",
    "refuse_if_thin",
    "save",
    "score",
    "snapshots",
    "train",
    "training_set",
]
