"""The landmark model's network architectures by the name a model card gives (``net.architecture``): a card
says which network its weights fit, and a new architecture is one more entry here."""

from __future__ import annotations

from typing import Any


def architectures() -> dict[str, tuple[type, type]]:
    """name → (config class with from_json, network class taking that config); torch imported on call."""
    from f2a_studio.detect.landmarks import heatmap_net, learned_net

    return {learned_net.ARCHITECTURE: (learned_net.LandmarkNetConfig, learned_net.LandmarkNet),
            heatmap_net.ARCHITECTURE: (heatmap_net.HeatmapNetConfig, heatmap_net.HeatmapLandmarkNet)}


def net_from_json(net: dict[str, Any]):  # -> torch.nn.Module
    """A fresh network of the card's ``net`` entry; KeyError names an unknown architecture."""
    config, network = architectures()[net["architecture"]]
    return network(config.from_json(net))
