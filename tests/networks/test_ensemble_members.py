"""Member networks from a template: equal to compiling each member's own graph."""

from dataclasses import fields

import networkx as nx
import numpy as np
import pytest

from agents.errors import GraphError
from networks.builders import layered, layered_parameters
from networks.compile import CompiledNetwork, compile_graph
from networks.ensemble_members import MemberNetwork, with_parameters
from runs.experiments.setup import build_network, load_network, load_networks

NETS = [
    {"sizes": [13, 20, 3], "activation": "sigmoid"},
    {"sizes": [4, 6, 5, 2], "activation": ["tanh", "relu", "sigmoid"], "bias_scale": 0.5,
     "weight_scale": 2.0, "delays": 3},
    {"sizes": [3, 2], "activation": "tanh", "output_activation": "sigmoid",
     "delays": (1, 3)},
]


def assert_same_network(a: CompiledNetwork, b: CompiledNetwork) -> None:
    for f in fields(CompiledNetwork):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "graph":
            assert dict(x.nodes(data=True)) == dict(y.nodes(data=True))
            assert sorted(x.edges(data=True)) == sorted(y.edges(data=True))
            assert list(x.nodes) == list(y.nodes)
        elif isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y), f.name
        elif f.name == "blocks":
            assert repr(x) == repr(y)
        else:
            assert x == y, f.name
    assert a.is_dag == b.is_dag


@pytest.mark.parametrize("kw", NETS)
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_layered_parameters_are_the_compiled_arrays(kw, seed):
    w, b, d = layered_parameters(seed=seed, **kw)
    net = compile_graph(layered(seed=seed, **kw))
    for mine, ref in ((w, net.weight), (b, net.bias), (d, net.delay)):
        assert mine.dtype == ref.dtype and np.array_equal(mine, ref)


def test_layered_parameters_check_their_arguments():
    with pytest.raises(GraphError, match="activation"):
        layered_parameters([2, 3], "nope", seed=0)
    with pytest.raises(GraphError, match="seed"):
        layered_parameters([2, 3], seed=-1)


@pytest.mark.parametrize("seed", [0, 3])
def test_a_member_equals_its_own_compiled_graph(seed):
    template = compile_graph(layered([4, 6, 2], "tanh", seed=100 + seed))
    ref = compile_graph(layered([4, 6, 2], "tanh", seed=seed, bias_scale=1.0))
    member = with_parameters(template, ref.weight, ref.bias)
    assert isinstance(member, MemberNetwork)
    assert member.is_dag
    assert_same_network(member, ref)
    assert not np.shares_memory(member.weight, ref.weight)


def test_member_parameters_are_checked():
    template = compile_graph(layered([2, 3], "tanh", seed=0))
    with pytest.raises(GraphError, match="weight"):
        with_parameters(template, np.zeros(5), template.bias)
    with pytest.raises(GraphError, match="bias"):
        with_parameters(template, template.weight, np.full(5, np.nan))


def _own(cfg: dict) -> CompiledNetwork:
    """A run's network compiled from its own graph (what a template must equal)."""
    return compile_graph(build_network(cfg, seed=cfg["seed"]))


@pytest.mark.parametrize("kw", NETS)
def test_load_networks_equals_compiling_each_graph(kw):
    cfgs = [{"seed": s, "network": {"builder": "layered", **kw}} for s in (0, 4, 5, 9)]
    nets = load_networks(cfgs, [0, 4, 5, 9])
    for cfg, net in zip(cfgs, nets, strict=True):
        assert_same_network(net, _own(cfg))
    if "delays" not in kw or isinstance(kw["delays"], int):
        assert all(isinstance(n, MemberNetwork) for n in nets)
    # a second call (another unit of a sweep, or a single run, in the same worker)
    # reuses the template
    again = [{"seed": s, "network": {"builder": "layered", **kw}} for s in (11, 12)]
    nets2 = load_networks(again, [11, 12]) + [load_network(again[0], 11)]
    for cfg, net in zip([*again, again[0]], nets2, strict=True):
        assert_same_network(net, _own(cfg))
    if "delays" not in kw or isinstance(kw["delays"], int):
        assert all(n.structure_of is nets[0].structure_of for n in nets2)


@pytest.mark.parametrize("seed", [2, 6])
def test_a_runs_network_cannot_change_the_template(seed):
    """Runs get members, never the template: changing one run's net leaves later ones."""
    cfg = {"seed": seed, "network": {"builder": "layered", "sizes": [3, 4, 2],
                                     "activation": "tanh", "bias_scale": 0.3}}
    first = load_network(cfg, seed)
    first.weight[:] = 0.0
    first.bias[:] = 0.0
    first.graph.remove_node(0)
    assert_same_network(load_network(cfg, seed), _own(cfg))


def test_load_networks_builds_other_builders_alone():
    cfgs = [{"seed": s, "network": {"builder": "ring", "n": 5, "seed": 3}} for s in (0, 1)]
    nets = load_networks(cfgs, [0, 1])
    assert not any(isinstance(n, MemberNetwork) for n in nets)
    assert nx.utils.graphs_equal(nets[0].graph, nets[1].graph)


@pytest.mark.parametrize("kw", NETS)
def test_members_share_the_templates_oracle_memo_and_compute_as_their_own_graph(kw):
    """The oracles' plan is made once per template; results equal the member's own net."""
    from networks.oracles import bp_gradient, forward_pass
    from networks.oracles._common import _cache

    template = compile_graph(layered(**kw, seed=0))
    rng = np.random.default_rng(len(kw["sizes"]))
    u = rng.standard_normal((kw["sizes"][0], 7))
    y = rng.uniform(size=(kw["sizes"][-1], 7))
    for seed in (1, 2, 3):
        w, b, _ = layered_parameters(**kw, seed=seed)
        member = with_parameters(template, w, b)
        assert member.structure_of is template
        assert with_parameters(member, w, b).structure_of is template
        assert _cache(member) is _cache(template)
        own = compile_graph(member.graph)
        for got, ref in ((forward_pass(member, u), forward_pass(own, u)),
                         (bp_gradient(member, u, y).dw, bp_gradient(own, u, y).dw)):
            for a, c in zip(np.atleast_2d(got), np.atleast_2d(ref), strict=True):
                assert np.array_equal(a, c)
