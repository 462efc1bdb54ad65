"""What experiments build from a run config: the network, the dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from networks.builders import BUILDERS, PARAMETERS, scale_to_contractive
from networks.compile import CompiledNetwork, compile_graph
from networks.ensemble_members import with_parameters
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
        A valid ``networkx.DiGraph`` (:func:`networks.compile.compile_graph` validates
        it where it enters the engines).
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
    """The compiled network of a run: weights seeded by ``network.seed`` or the run seed.

    Equal in every attribute to ``compile_graph(build_network(cfg, seed=...))``; a
    builder's network of a shape this process compiled before is made from that template
    (:func:`load_networks`).
    """
    return load_networks([cfg], [seed])[0]


def _compile(cfg: dict, seed: int) -> CompiledNetwork:
    return compile_graph(build_network(cfg, seed=seed))


#: compiled templates of :func:`load_networks` by network section (without the seed),
#: kept per process; at most MAX_TEMPLATES (then dropped)
_TEMPLATES: dict[str, CompiledNetwork] = {}
MAX_TEMPLATES = 16


def load_networks(cfgs: list[dict], seeds: list[int]) -> list[CompiledNetwork]:
    """The compiled networks of several runs, each equal to its run's own.

    Runs whose ``[network]`` sections differ only in the seed and name a builder whose
    structure does not follow the seed (:data:`networks.builders.PARAMETERS`; no
    ``file``, no ``contractive_gain``) share one compiled template: each run gets its own
    seeded weights, biases and delays drawn without building its graph
    (:func:`networks.ensemble_members.with_parameters`); a run whose delays differ from
    the template's is compiled alone. Templates are kept per process
    (:data:`_TEMPLATES`, never handed out themselves, so no run can change one): a
    sweep's worker compiles each network shape once, for single runs and ensembles.
    """
    templates = _TEMPLATES
    out = []
    for cfg, seed in zip(cfgs, seeds, strict=True):
        net = cfg["network"]
        seed = net.get("seed", seed)
        draw = PARAMETERS.get(net.get("builder"))
        if draw is None or "file" in net or "contractive_gain" in net:
            out.append(_compile(cfg, seed))
            continue
        key = repr(sorted((k, v) for k, v in net.items() if k != "seed"))
        if key not in templates:
            if len(templates) >= MAX_TEMPLATES:
                templates.clear()
            templates[key] = _compile(cfg, seed)
            template = templates[key]
            out.append(with_parameters(template, template.weight, template.bias))
            continue
        weight, bias, delay = draw(**{k: v for k, v in net.items()
                                      if k not in (*NETWORK_KEYS, "seed")}, seed=seed)
        template = templates[key]
        out.append(with_parameters(template, weight, bias)
                   if np.array_equal(delay, template.delay) else _compile(cfg, seed))
    return out


def load_data(cfg: dict, seed: int) -> Dataset:
    """The dataset of a run (``[data]``), its split seeded by the run seed."""
    data = cfg["data"]
    return load_dataset(data["name"], seed=seed, **{k: data[k] for k in ("test_fraction",
                                                                         "n_samples")
                                                    if k in data})
