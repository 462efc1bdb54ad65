"""Stage.reads: one array for a node variable nobody reads, undeclared reads fail loudly."""

import dataclasses

import numpy as np
import pytest

import agents
from agents.errors import ConfigError
from agents.rule import Rule
from networks.builders import layered
from networks.compile import compile_graph
from networks.engines import VectorEngine, make_engine


def _net(seed):
    return compile_graph(layered([4, 5, 3], "tanh", seed=seed))


def _addresses(eng, steps, u, y):
    seen: dict[str, set] = {}
    for step in range(steps):
        eng.advance(u, y)
        for name, arr in eng._nodes.items() if step >= 1 else ():
            seen.setdefault(name, set()).add(arr.__array_interface__["data"][0])
    return seen


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("two_round", [False, True])
def test_lp_variables_nobody_reads_keep_one_array(seed, two_round):
    """One-round LP: a, c, g are overwritten in place (one array each); x, λ, s
    alternate between two. Two rounds: round 2 reads c, g, s, so only a has one. Plain
    steps on x and λ (the default) leave age, Adam's step count, unwritten."""
    eng = VectorEngine(_net(seed), agents.RULES["lp2" if two_round else "lp"],
                       {"two_round": two_round}, batch=3)
    rng = np.random.default_rng(seed)
    u, y = rng.normal(size=(4, 3)), rng.uniform(size=(3, 3))
    seen = _addresses(eng, 6, u, y)
    single = {"a"} if two_round else {"a", "c", "g"}
    assert set(eng._single) == single
    for name in single:
        assert len(seen[name]) == 1, name
    for name in ({"x", "lam", "s"} | ({"c", "g"} if two_round else set())):
        assert len(seen[name]) == 2, name
    assert len(seen["age"]) == 1 and not eng._nodes["age"].flags.writeable
    assert (eng.state("age") == 0).all()


@pytest.mark.parametrize("seed", [0, 3])
def test_lp_age_counts_the_adam_steps_of_x_and_lam(seed):
    """Under state_optimizer="adam" age counts each example's steps, in two slots."""
    eng = VectorEngine(_net(seed), agents.RULES["lp"], {"state_optimizer": "adam"}, batch=3)
    rng = np.random.default_rng(seed)
    u, y = rng.normal(size=(4, 3)), rng.uniform(size=(3, 3))
    seen = _addresses(eng, 6, u, y)
    assert len(seen["age"]) == 2
    active = ~eng.net.is_input
    np.testing.assert_array_equal(eng.state("age")[active], 6.0)


@pytest.mark.parametrize("seed", [1, 2])
def test_one_array_gives_the_agent_engines_values(seed):
    """Overwriting a, c, g in place changes no value: the engines stay equal."""
    net = _net(seed)
    rng = np.random.default_rng(seed)
    u, y = rng.normal(size=(4, 2)), rng.uniform(size=(3, 2))
    engines = [make_engine(kind, net, agents.RULES["lp"], batch=2, rng=seed)
               for kind in ("agent", "vector")]
    for eng in engines:
        eng.run(u, y, steps=5)
    for name in ("x", "lam", "a", "c", "g", "s"):
        np.testing.assert_allclose(engines[1].state(name), engines[0].state(name),
                                   rtol=1e-12, atol=1e-12, err_msg=name)


def _narrowed(reads):
    lp = agents.RULES["lp"]
    stage = dataclasses.replace(lp.stages[0], reads=frozenset(reads))
    return dataclasses.replace(lp, stages=(stage,))


def test_a_rule_reading_an_undeclared_variable_fails_naming_it():
    rule = _narrowed({"x", "lam", "age"})   # the update reads bias too
    eng = VectorEngine(_net(0), rule, batch=2)
    with pytest.raises(ConfigError, match="'bias'"):
        eng.advance(np.zeros((4, 2)))


def test_reads_must_name_node_variables():
    with pytest.raises(ConfigError, match="nope"):
        _narrowed({"x", "nope"})


def test_undeclared_reads_keep_two_arrays():
    """A rule without ``reads`` (any stage) keeps two arrays for every written variable."""
    lp = agents.RULES["lp"]
    rule = dataclasses.replace(lp, stages=(dataclasses.replace(lp.stages[0], reads=None),))
    assert isinstance(rule, Rule)
    eng = VectorEngine(_net(0), rule, batch=2)
    rng = np.random.default_rng(0)
    seen = _addresses(eng, 5, rng.normal(size=(4, 2)), rng.uniform(size=(3, 2)))
    assert eng._single == {}
    assert all(len(seen[n]) == 2 for n in ("a", "c", "g", "x"))
