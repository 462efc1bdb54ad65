"""The locality probe shared by the engine and rule tests."""

import numpy as np


def perturbation_reaches(make_engine, U, Y, node, victim, names) -> bool:
    """Whether perturbing ``victim``'s state before the last step changes ``node``'s state
    (its node variables ``names`` and its in-edges) after that one step.

    Args:
        make_engine: a function returning a fresh engine.
        U, Y: inputs and targets, shape (T, n_in, B) and (T, n_out, B).
        node, victim: node ids.
        names: node variables compared.
    """
    states = []
    for perturb in (False, True):
        eng = make_engine()
        eng.run(U[:-1], Y[:-1])
        if perturb:
            eng.perturb_neuron(victim, np.random.default_rng(1))
        eng.advance(U[-1], Y[-1])
        states.append(eng.neuron(node))
    same = all(np.array_equal(states[0][k], states[1][k]) for k in names) and \
        states[0]["in_edges"] == states[1]["in_edges"]
    return not same
