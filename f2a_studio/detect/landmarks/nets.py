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


def short_names() -> dict[str, str]:
    """The names a command line gives (``--arch``) → the card's architecture name."""
    from f2a_studio.detect.landmarks import heatmap_net, learned_net

    return {"direct": learned_net.ARCHITECTURE, "heatmap": heatmap_net.ARCHITECTURE}


def new_net(name: str, **fields: Any):  # -> torch.nn.Module
    """A fresh network of architecture ``name`` (a short name or the card's); ``fields`` set its config's
    fields of those names (None: the architecture's default), the others are not its own and are ignored."""
    import dataclasses

    config, network = architectures()[short_names().get(name, name)]
    own = {f.name for f in dataclasses.fields(config)}
    return network(config(**{k: v for k, v in fields.items() if k in own and v is not None}))
