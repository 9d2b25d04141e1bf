"""Predictive scores per site: conversion probability (lead score) and abandon risk."""

from rapport.server.scoring.model import (
    FEATURES,
    MIN_TRAINING,
    LeadScorer,
    ScoreModel,
    Scores,
    features_of,
    lead_scorer,
    prior_model,
    score_profile,
    train,
)

__all__ = [
    "FEATURES",
    "MIN_TRAINING",
    "LeadScorer",
    "ScoreModel",
    "Scores",
    "features_of",
    "lead_scorer",
    "prior_model",
    "score_profile",
    "train",
]
