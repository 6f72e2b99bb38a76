"""Human/AI routing (HyPER): pair features and tags, routing policies under a budget, the Beam stage."""

from prefmill.transforms.route.features import bin_keys, pair_features, tags, textual
from prefmill.transforms.route.policy import (
    DEFAULT_WEIGHTS, Item, PerformanceModel, RouteConfig, select, uncertainty_score,
)
from prefmill.transforms.route.stage import RoutePairs, route_staged_parts

__all__ = ["DEFAULT_WEIGHTS", "Item", "PerformanceModel", "RouteConfig", "RoutePairs", "bin_keys", "route_staged_parts", "pair_features",
           "select", "tags", "textual", "uncertainty_score"]
