"""The engine contract for every rule of ``agents.RULES`` (and the probe rule) on every
graph family: equal trajectories in both engines, and locality by perturbation."""

import pytest

import agents
from networks.engines import ENGINES
from tests.contract.harness import (
    CASE_IDS,
    CASES,
    FAMILIES,
    RULES,
    assert_moving,
    check_equal,
    check_locality,
    family_net,
)


def test_every_registered_rule_is_under_contract():
    assert set(agents.RULES) <= {rule for rule, _ in CASES}
    assert set(RULES) == {rule for rule, _ in CASES}


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize(("rule", "variant"), CASES, ids=CASE_IDS)
def test_engines_agree(rule, variant, family):
    """Every node and edge variable, every step, rtol 1e-10 (batch of 3, masked targets)."""
    seed = len(family) + 7 * len(rule)
    rec = check_equal(rule, variant, family_net(family, seed), 3, seed)
    assert_moving(rec, rule, variant)


@pytest.mark.parametrize("family", ["cyclic", "delays"])
@pytest.mark.parametrize(("rule", "variant"), CASES, ids=CASE_IDS)
def test_engines_agree_without_batch_axis(rule, variant, family):
    seed = 3 + len(rule)
    rec = check_equal(rule, variant, family_net(family, seed), None, seed, steps=25)
    assert_moving(rec, rule, variant)


@pytest.mark.parametrize("engine_kind", sorted(ENGINES))
@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize(("rule", "variant"), CASES, ids=CASE_IDS)
def test_locality(rule, variant, family, engine_kind):
    """A neuron more than S hops (S = rounds per step) from a perturbed neuron is
    unchanged one step later; some neighbour is changed."""
    seed = 11 + len(family)
    check_locality(engine_kind, rule, variant, family_net(family, seed), seed)
