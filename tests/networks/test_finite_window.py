"""The finiteness check's window (networks.engines.finite): one reduction over the arena
range that holds every checked variable of a step. A NaN in any checked variable, in
either slot, on a small arena (one allocation) or a large one (two rows), must still be
found and named; a step that moves or replaces arrays must not leave it reading stale
places."""

import dataclasses

import numpy as np
import pytest

import agents
from agents.errors import DivergenceError
from networks.builders import layered
from networks.compile import compile_graph
from networks.engines import VectorEngine, arena
from networks.engines.finite import abs_sum_finite, blas_asum

CASES = [("lp", {"eta_w": 0.05}), ("lp2", {"two_round": True}), ("diffusion", {"eta": 0.05}),
         ("fa", {"eta": 0.05})]


def _engine(rule, params, seed):
    net = compile_graph(layered([4, 7, 3], "tanh", "sigmoid", seed=seed))
    return VectorEngine(net, agents.RULES[rule], params, batch=3, rng=seed)


def _data(seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(4, 3)), rng.uniform(size=(3, 3))


def spoil_in_step(eng, spoil) -> None:
    """Call ``spoil()`` when the next steps' rounds are over, as if the rule had written.

    (The engine checks the variables there, before the delay buffers' copies.)
    """
    run_round, last = eng._round, eng.rule.stages[-1]

    def bad_round(stage):
        run_round(stage)
        if stage is last:
            spoil()

    eng._round = bad_round


@pytest.mark.parametrize(("rule", "params"), CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("small", [True, False])
def test_a_nan_in_any_checked_variable_is_named_in_either_slot(rule, params, seed, small,
                                                               monkeypatch):
    if not small:
        monkeypatch.setattr(arena, "SMALL_ARENA", 0)
    u, y = _data(seed)
    probe = _engine(rule, params, seed)
    probe.run(u, y, steps=3)
    window = probe._window
    assert window is not None and window.parity is not None   # the window was used
    # (an edge variable with a bound is not read: tests/networks/test_edge_bounds.py)
    names = [m[1] for m in window.members] + [r[1] for r in window.rest
                                              if r[1] not in probe._edge_max]
    assert (not window.rest) == small   # small: every checked variable in the window
    for name in names:
        for steps in (3, 4):   # the members in one slot, then in the other
            eng = _engine(rule, params, seed)
            eng.run(u, y, steps=steps - 1)
            arrays = eng._edges if name in eng.edge_var_names else eng._nodes
            spoil_in_step(eng, lambda arrays=arrays, name=name: arrays[name].reshape(-1)
                          .__setitem__(-1, np.nan))   # as if the rule had written it
            with pytest.raises(DivergenceError, match=rf"step {steps}: (edge )?variable "
                                                      rf"'{name}'"):
                eng.advance(u, y)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_step_that_replaces_an_edge_array_is_still_checked(seed):
    """Plain SGD folds the weight step into the GEMM (in place, in the window); Adam's
    step replaces the array: after switching, a divergence is found as without the
    window, at the same step with the same message."""
    u, y = _data(seed)
    messages = []
    for rule in (agents.RULES["lp"], dataclasses.replace(agents.RULES["lp"],
                                                         finite_implied={})):
        eng = _engine("lp", {"eta_w": 0.05}, seed)
        eng._bindable = False
        eng.run(u, y, steps=4)
        eng.rule = rule
        eng.params = eng.rule.make_params({"optimizer": "adam", "eta_w": 1e3,
                                           "eta_x": 3.0, "eta_lam": 3.0, "rho": 20.0})
        with pytest.raises(DivergenceError) as info:
            eng.run(100 * u, y, steps=300)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_reduction_sees_a_nan_or_inf_anywhere(dtype):
    """BLAS asum, the check's reduction, is non-finite for a NaN or ±inf at any position
    (its vector kernel's body and remainder) of arrays of many lengths."""
    asum = blas_asum(dtype)
    for n in range(1, 140):
        for pos in {0, n // 3, n // 2, n - 2, n - 1} - {-1}:
            for bad in (np.nan, np.inf, -np.inf):
                values = np.linspace(-1.0, 1.0, n).astype(dtype)
                values[pos] = bad
                assert not abs_sum_finite(values, asum), (n, pos, bad)
            assert abs_sum_finite(np.linspace(-1.0, 1.0, n).astype(dtype), asum)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_sum_overflowing_on_finite_values_is_no_divergence(seed):
    """Finite values whose sum overflows: the check searches and finds nothing."""
    u, y = _data(seed)
    eng = _engine("lp", {"eta_w": 0.05}, seed)
    eng.run(u, y, steps=3)
    x = eng.state("x")
    x[-3:] = np.finfo(np.float64).max   # Σ |x| is inf, every value finite
    eng.set_state("x", x)
    eng._check_finite()
    eng._nodes["x"][-1, 0] = np.inf   # as if a step had written it
    eng._written.add("x")
    with pytest.raises(DivergenceError, match="step 3: variable 'x'"):
        eng._check_finite()


@pytest.mark.parametrize(("rule", "params"), CASES)
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("unchecked", [1, 2, 3])
@pytest.mark.parametrize("small", [True, False])
def test_steps_run_with_the_check_off_do_not_leave_the_window_in_the_wrong_slot(
        rule, params, seed, unchecked, small, monkeypatch):
    """``check_finite`` off for some steps moves the members from slot to slot unseen:
    the next checked step must read where they are (after an odd number of unchecked
    steps the window's own count of parities is one off)."""
    if not small:
        monkeypatch.setattr(arena, "SMALL_ARENA", 0)
    u, y = _data(seed)
    probe = _engine(rule, params, seed)
    probe.run(u, y, steps=3)
    for arrays, name, _ in probe._window.members:
        eng = _engine(rule, params, seed)
        eng.run(u, y, steps=3)
        eng.check_finite = False
        eng.run(u, y, steps=unchecked)
        eng.check_finite = True
        where = eng._edges if arrays is probe._edges else eng._nodes

        def spoil(where=where, name=name):
            where[name].reshape(-1)[-1] = np.nan   # as if the rule had written it

        spoil_in_step(eng, spoil)
        with pytest.raises(DivergenceError, match=rf"step {4 + unchecked}: (edge )?"
                                                  rf"variable '{name}'"):
            eng.advance(u, y)
