"""Analysis fixtures: the model is trained once per checkout into the shared test model dir."""

from __future__ import annotations

import pytest

from core import config


@pytest.fixture
def model(settings: config.Settings):  # type: ignore[no-untyped-def]
    """The current model (trained from the corpus on first use)."""
    from analysis.classifier import load_model
    from analysis.setup import ensure_model

    ensure_model(echo=False)
    return load_model(settings.models_dir)
