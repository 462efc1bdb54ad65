"""The vectorised engine's dense and sparse products bound once to their arrays
(``_bound``): every trajectory equals the one of the per-step path (``_bindable`` off),
bit for bit, also when state is replaced from outside between steps (new arrays, ids that
may be reused)."""

import numpy as np
import pytest

import agents
from networks.builders import layered, random_digraph
from networks.compile import compile_graph
from networks.engines import VectorEngine

CASES = [("lp", {"eta_w": 0.05}), ("lp2", {"two_round": True, "mu": 1e-3}),
         ("diffusion", {"eta": 0.05}), ("fa", {"eta": 0.05})]


@pytest.mark.parametrize(("rule", "params"), CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("sparse", [False, True])
def test_bound_products_give_the_per_step_trajectory(rule, params, seed, sparse):
    """Dense layers, and (sparse) a random digraph of sparse blocks, whose Hebbian
    products are bound too."""
    if sparse:
        G = random_digraph(14, 60, n_inputs=3, n_outputs=2, seed=seed, weight_scale=0.5,
                           delays=(1, 2) if seed == 2 else 1)
    else:
        G = layered([3, 6, 5, 2], "sigmoid", seed=seed)
    if seed == 2 and not sparse:   # delays 2 on one layer pair: a ring buffer of depth 2
        for j, i in list(G.edges)[:18]:
            G.edges[j, i]["delay"] = 2
    net = compile_graph(G)
    rng = np.random.default_rng(seed)
    engines = []
    for bind in (True, False):
        eng = VectorEngine(net, agents.RULES[rule], params, batch=4, rng=seed,
                           record=("x", "weight"))   # (allocations between steps)
        eng._bindable = eng._bindable and bind
        engines.append(eng)
    assert engines[0]._bindable and not engines[1]._bindable
    for t in range(12):
        u, y = rng.normal(size=(3, 4)), rng.uniform(size=(2, 4))
        if t in (4, 7):   # state replaced from outside: fresh arrays
            x = 0.5 * engines[0].state("x")
            w = engines[0].state("weight") * 0.9
        for eng in engines:
            if t in (4, 7):
                eng.set_state("x", x)
                eng.set_state("weight", w)
            eng.advance(u, y)
        for name in ("x", "weight", "bias"):
            np.testing.assert_array_equal(engines[0].state(name), engines[1].state(name),
                                          err_msg=f"{name} at step {t + 1}")
    bound = engines[0]
    assert bound._bound
    for key in bound._bound:   # every key's ids are those of arrays kept alive with it
        anchors = bound._anchors[key]
        ids = [k for k in key if type(k) is int and k > 1 << 16]   # (not t % depth)
        assert len(ids) >= 2 and set(ids) <= {id(a) for a in anchors}, key
    assert all(blk.kind == ("sparse" if sparse else "dense") for blk in bound.blocks)
    # the weight step is bound too (on sparse blocks: a product written into its own
    # variable, diffusion's and feedback alignment's dw; LP's is a fresh array)
    assert any(key[0] == ("sparse hebb" if sparse else "hebb") for key in bound._bound) \
        or (sparse and rule.startswith("lp"))


@pytest.mark.parametrize("seed", [0, 7])
def test_bound_products_survive_arrays_freed_after_the_first_step(seed):
    """The first step reads the initial values (shared constants) and arrays that the
    arena replaces; their ids are reused by later arrays: the bound products must not
    be found under them (each kept entry holds the arrays its key names)."""
    rule = agents.RULES["lp2"]
    params = {"two_round": True, "rho": 0.5, "alpha": 1e-3, "mu": 1e-3, "eta_w": 0.01,
              "eta_x": 0.1}
    names = tuple(v.name for v in rule.all_node_vars + rule.all_edge_vars)
    rng = np.random.default_rng(seed)
    U, Y = rng.standard_normal((7, 4, 3, 4)), rng.uniform(0.1, 0.9, (7, 4, 2, 4))
    runs = []
    for bind in (True, False):
        eng = VectorEngine(compile_graph(layered([3, 6, 5, 2], "sigmoid", seed=seed)), rule,
                           params, batch=4, rng=seed, record=names)
        eng._bindable = eng._bindable and bind
        runs.append(eng.run(U[:, 0], Y[:, 0]))
    for name in names:
        np.testing.assert_array_equal(runs[0][name], runs[1][name], err_msg=name)


@pytest.mark.parametrize("seed", [0, 1])
def test_bound_products_do_not_keep_replaced_arrays(seed):
    """State replaced from outside at every step: the kept entries stay few, and none
    holds an array the engine no longer uses once it has rebound."""
    net = compile_graph(layered([3, 6, 2], "sigmoid", seed=seed))
    eng = VectorEngine(net, agents.RULES["lp"], {"eta_w": 0.05}, batch=4, rng=seed)
    rng = np.random.default_rng(seed)
    u, y = rng.normal(size=(3, 4)), rng.uniform(size=(2, 4))
    for _ in range(40):
        eng.set_state("x", eng.state("x") * 0.9)
        eng.advance(u, y)
    assert len(eng._bound) <= 6
    in_use = {id(a) for d in (eng._nodes, eng._head, eng._edges, eng._neurons.spare)
              for a in d.values()}
    in_use |= {id(s) for pair in eng._slots.values() for s in pair}
    stale = [k for k, kept in eng._anchors.items() if any(id(a) not in in_use for a in kept)]
    assert len(stale) <= 2   # (at most the entries bound in the last step)
