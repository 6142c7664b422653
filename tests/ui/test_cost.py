"""Cost in dollars on the overview: tokens times the configured model prices."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.ui.conftest import ROLES, seeded_pipeline
from tests.ui.seed import MODEL
from watchkeeper.collector.server import build_app
from watchkeeper.collector.settings import ConfigError, Settings, load_settings
from watchkeeper.collector.store.store import Store


def _overview(store: Store, prices: dict[str, object], preset: str = "6h") -> dict:  # type: ignore[type-arg]
    pipeline, _, tokens = seeded_pipeline(store)
    settings = Settings.model_validate({"model_prices": prices})
    with TestClient(build_app(pipeline, settings=settings)) as client:
        headers = {"authorization": f"Bearer {tokens[ROLES[2][0]]}"}
        response = client.get(f"/api/overview?range={preset}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("preset", ["6h", "7d"])  # per-minute rollups, hourly rollups
def test_cost_is_tokens_times_the_model_price(store: Store, preset: str) -> None:
    """With a price for the model, each key's cost is its input and output tokens at
    that price (USD per million), and the cost and token series add up to it."""
    overview = _overview(store, {MODEL: {"input": 2.5, "output": 10.0}}, preset)
    (row,) = overview["keys"]
    expected = (row["tokens_in"] * 2.5 + row["tokens_out"] * 10.0) / 1e6
    assert row["cost_usd"] == pytest.approx(expected, rel=1e-3)  # tokens shown are rounded
    traffic = overview["traffic"]
    cost = [v for v in traffic["cost_usd"][row["key"]] if v is not None]
    tokens = [v for v in traffic["tokens"][row["key"]] if v is not None]
    # Estimates are made per rollup row and summed, so the buckets add up to the range's
    # figures; each value shown is rounded (cost to a millionth of a dollar).
    assert sum(cost) == pytest.approx(row["cost_usd"], abs=1e-6 * len(cost))
    assert sum(tokens) == pytest.approx(row["tokens_in"] + row["tokens_out"], abs=len(tokens))


def test_without_a_price_there_is_no_cost(store: Store) -> None:
    """A model without a price shows its tokens and no cost (not zero)."""
    (row,) = _overview(store, {"another-model": {"input": 1, "output": 1}})["keys"]
    assert row["cost_usd"] is None
    assert row["tokens_in"] > 0


def test_a_bad_price_names_its_key() -> None:
    """A price that is not a number, or negative, stops start-up naming model_prices."""
    for bad in ('{"m": {"input": "cheap", "output": 1}}', '{"m": {"input": -1, "output": 1}}'):
        with pytest.raises(ConfigError, match="model_prices"):
            load_settings(environ={"WATCHKEEPER_MODEL_PRICES": bad})
