"""What the explorer shows: a network, a small dataset fitted to it, starting rule settings.

:func:`load_source` turns the command-line argument of ``localprop explore`` — a graph
file (node-link JSON), an experiment config (TOML) or nothing (the built-in cyclic
example) — into an :class:`ExploreData`.

Data: a config's own ``[data]`` dataset when it fits the network; otherwise two moons
(``sklearn.datasets.make_moons``, seeded). A network that does not have 2 inputs gets the
moons through a seeded random linear map to its inputs; with one output the target is
the label (0/1), with more the label is one-hot on the first two outputs (others 0).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np

from agents import RULES
from agents.errors import ConfigError
from networks.compile import compile_graph

N_MOONS = 128
#: The rule an experiment of the example configs runs, when its [rule] names none.
EXPERIMENT_RULES = {"lp": "lp", "compare": "lp", "pruning": "lp", "diffusion": "diffusion",
                    "fidelity": "diffusion", "forward": "forward"}


@dataclass(frozen=True)
class ExploreData:
    """A network with a dataset in engine layout.

    Attributes:
        graph: the validated network graph.
        X: inputs, shape (n_in, n).
        Y: targets, shape (n_out, n).
        labels: integer labels, shape (n,).
        title: what is shown (file name or "built-in example").
        notes: lines the page shows about how the data was fitted or settings ignored.
        rule: the starting rule name (a graph file or the example: backprop diffusion,
            learning with η = 0.05; a config: its own rule and parameters).
        rule_params: starting rule parameters (fields of the rule's params dataclass).
        hold: starting number of steps each mini-batch is held.
        batch: starting mini-batch size (examples processed in parallel).
    """

    graph: nx.DiGraph
    X: np.ndarray
    Y: np.ndarray
    labels: np.ndarray
    title: str
    notes: tuple[str, ...] = ()
    rule: str = "diffusion"
    rule_params: dict = field(default_factory=lambda: {"eta": 0.05})
    hold: int = 10
    batch: int = 8

    @property
    def n_examples(self) -> int:
        """The number of examples n."""
        return self.X.shape[1]

    def accuracy(self, out: np.ndarray) -> float:
        """Accuracy of output values (n_out, n): threshold 0.5 (one output) or argmax."""
        if out.shape[0] == 1:
            pred = (out[0] > 0.5).astype(int)
        else:
            pred = out[: max(2, int(self.labels.max()) + 1)].argmax(axis=0)
        return float(np.mean(pred == self.labels))


def _moons(graph: nx.DiGraph, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    from sklearn.datasets import make_moons

    net = compile_graph(graph)
    n_in, n_out = len(net.input_idx), len(net.output_idx)
    X, labels = make_moons(n_samples=N_MOONS, noise=0.1, random_state=seed)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    note = "data: two moons (128 points, seeded)"
    if n_in != 2:
        P = np.random.default_rng(seed).standard_normal((2, n_in)) / np.sqrt(2)
        X = X @ P
        note += f", mapped to the {n_in} inputs by a seeded random linear map"
    if n_out == 1:
        Y = labels[None, :].astype(float)
    else:
        Y = np.zeros((n_out, len(labels)))
        Y[labels, np.arange(len(labels))] = 1.0
        if n_out > 2:
            note += f"; one-hot on the first 2 of {n_out} outputs"
    return X.T.copy(), Y, labels, note


def from_graph(graph: nx.DiGraph, title: str, seed: int = 0, **kwargs) -> ExploreData:
    """An :class:`ExploreData` of ``graph`` with the two-moons data (see module doc)."""
    compile_graph(graph)  # validate now: errors name the node/edge
    X, Y, labels, note = _moons(graph, seed)
    notes = (note, *kwargs.pop("notes", ()))
    return ExploreData(graph, X, Y, labels, title, notes, **kwargs)


def _cyclic_example(seed: int):
    return _first(("runs.studies.forward_demo", "cyclic_example"),
                  ("runs.examples", "cyclic_example"))(seed)


def example(seed: int = 0) -> ExploreData:
    """The built-in cyclic example (the ``localprop forward`` default network)."""
    return from_graph(_cyclic_example(seed), "built-in cyclic example", seed)


def _first(*candidates):
    """The first importable ``(module, attribute)`` of ``candidates``.

    (``runs`` is being reorganised by concept; the first candidate is the new home.)
    """
    for module, name in candidates:
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    raise ImportError(f"none of {candidates} is available")


def from_config(path: Path, seed: int | None = None) -> ExploreData:
    """Network, data and rule settings of an experiment config (TOML)."""
    load_config = _first(("runs.config", "load_config"))
    build_network = _first(("runs.experiments.setup", "build_network"),
                           ("runs.experiments", "build_network"))
    cfg = load_config(path)
    data = dict(cfg.data)
    seed = data.get("seed", 0) if seed is None else seed
    notes = []
    if not {"builder", "file"} & set(data.get("network") or {}):
        graph = _cyclic_example(seed)
        notes.append(f"{path.name} has no [network] section (its experiment builds its "
                     f"own); showing the built-in cyclic example")
    else:
        graph = build_network({**data, "base_dir": cfg.base_dir}, cfg.base_dir, seed=seed)
    rule_sec = dict(data.get("rule", {}))
    rule = rule_sec.pop("name", None) or EXPERIMENT_RULES.get(data.get("experiment"),
                                                              "forward")
    if rule not in RULES:
        raise ConfigError(f"key 'rule.name' in {path}: unknown rule {rule!r}; the explorer "
                          f"knows {sorted(RULES)}")
    fields = RULES[rule].params.__dataclass_fields__
    params = {k: v for k, v in rule_sec.items() if k in fields}
    unused = sorted(set(rule_sec) - set(params))
    if unused:
        notes.append(f"[rule] keys used by the experiment, not by the {rule!r} rule "
                     f"itself: {', '.join(unused)}")
    sched = {**data.get("data", {}), **data.get("schedule", {})}
    hold = int(sched.get("T", 10))
    batch = min(int(data.get("schedule", {}).get("batch_size", 8)), 32)
    ds = data.get("data", {})
    if "name" in ds:
        load_dataset = _first(("runs.data.datasets", "load_dataset"),
                              ("runs.datasets", "load_dataset"))
        dataset = load_dataset(ds["name"], seed=seed, n_samples=ds.get("n_samples"))
        net = compile_graph(graph)
        if (len(net.input_idx), len(net.output_idx)) == (dataset.n_inputs,
                                                         dataset.n_outputs):
            n = min(len(dataset.y_train), 256)
            return ExploreData(graph, dataset.inputs("train")[:, :n],
                               dataset.targets("train")[:, :n], dataset.labels("train")[:n],
                               path.name, (f"data: {ds['name']} ({n} training examples)",
                                           *notes), rule, params, hold, batch)
        notes.append(f"dataset {ds['name']!r} does not fit the network; using two moons")
    return from_graph(graph, path.name, seed, notes=tuple(notes), rule=rule,
                      rule_params=params, hold=hold, batch=batch)


def load_source(source: str | None, seed: int = 0) -> ExploreData:
    """Load what ``localprop explore [GRAPH.json | CONFIG.toml]`` shows.

    Raises:
        ConfigError: for a missing file or an unknown extension; graph and config errors
            (GraphError, ConfigError) name the node, edge or key.
    """
    if not source:
        return example(seed)
    path = Path(source)
    if not path.is_file():
        raise ConfigError(f"explore: no file {source!r}")
    if path.suffix == ".toml":
        return from_config(path, seed)
    if path.suffix == ".json":
        from networks.graphio import load_graph

        return from_graph(load_graph(path), path.name, seed)
    raise ConfigError(f"explore: {source!r} is neither a graph (.json) nor a config (.toml)")
