"""What experiments build from a run config: the network, the dataset."""

from __future__ import annotations

from pathlib import Path

from networks.builders import BUILDERS, scale_to_contractive
from networks.compile import CompiledNetwork, compile_graph
from networks.graphio import load_graph
from runs.data.datasets import Dataset, load_dataset

#: Keys of ``[network]`` that are not builder arguments.
NETWORK_KEYS = ("builder", "file", "contractive_gain")


def build_network(cfg: dict, base_dir=None, *, seed: int | None = None):
    """Build the network of a run config.

    ``[network] file`` is loaded with :func:`networks.graphio.load_graph` (relative to
    ``base_dir``, default ``cfg["base_dir"]`` or the current directory); otherwise the
    builder is called with the section's other keys and ``seed`` = ``network.seed`` if
    given, else ``seed``, else ``cfg["seed"]``. With ``contractive_gain`` the graph goes
    through :func:`networks.builders.scale_to_contractive`.

    Returns:
        A validated ``networkx.DiGraph``.
    """
    net = cfg["network"]
    if "file" in net:
        path = Path(net["file"])
        base = base_dir if base_dir is not None else cfg.get("base_dir", ".")
        G = load_graph(path if path.is_absolute() else Path(base) / path)
    else:
        kwargs = {k: v for k, v in net.items() if k not in NETWORK_KEYS}
        kwargs.setdefault("seed", seed if seed is not None else cfg["seed"])
        G = BUILDERS[net["builder"]](**kwargs)
    if "contractive_gain" in net:
        G = scale_to_contractive(G, gain=net["contractive_gain"])
    return G



def load_network(cfg: dict, seed: int) -> CompiledNetwork:
    """The compiled network of a run: weights seeded by ``network.seed`` or the run seed."""
    return compile_graph(build_network(cfg, seed=cfg["network"].get("seed", seed)))


def load_data(cfg: dict, seed: int) -> Dataset:
    """The dataset of a run (``[data]``), its split seeded by the run seed."""
    data = cfg["data"]
    return load_dataset(data["name"], seed=seed, **{k: data[k] for k in ("test_fraction",
                                                                         "n_samples")
                                                    if k in data})
