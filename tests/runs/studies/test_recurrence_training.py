"""BPTT training of a temporal task: the clipped Adam step (the study's tests are in
test_recurrence.py)."""

import numpy as np
import pytest

from agents.errors import ConfigError
from agents.optim import Optimizer
from networks.oracles import bptt_gradient
from runs.data.tasks import make_task
from runs.studies.recurrence import TASK_SETUPS, network_pair
from runs.studies.recurrence_training import train_bptt


def test_bptt_gradient_is_clipped_to_the_given_norm():
    """Two iterations by hand: the per-entry gradient of the trained parameters is
    rescaled to norm ``clip`` when longer; a cap above every norm changes nothing."""
    net = network_pair(3, 3, 6, seed=1)["cyclic"]
    params = TASK_SETUPS["flip_flop"][0]
    kw = {"seed": 3, "iters": 2, "lr": 0.05, "train_steps": 30, "batch": 4}
    for clip, readout_only in [(0.05, False), (0.02, True)]:
        rng, opt = np.random.default_rng(3), Optimizer("adam", lr=0.05)
        w, b = net.weight.copy(), net.bias.copy()
        trained_w = net.is_output[net.tgt] if readout_only else np.ones(net.n_edges, bool)
        trained_b = net.is_output if readout_only else ~net.is_input
        norms = []
        for _ in range(2):
            s = make_task("flip_flop", 30, batch=4, seed=rng, **params)
            g = bptt_gradient(net, s.u, s.y, "squared", w, b, mask=s.mask)
            n = g.scored.sum()
            dw, db = np.where(trained_w, g.dw / n, 0.0), np.where(trained_b, g.db / n, 0.0)
            norms.append(np.sqrt(dw @ dw + db @ db))
            scale = min(1.0, clip / norms[-1])
            w = np.where(trained_w, opt.update("weight", w, dw * scale), w)
            b = np.where(trained_b, opt.update("bias", b, db * scale), b)
        assert min(norms) > clip  # the cap acted on both steps
        w2, b2, _ = train_bptt(net, "flip_flop", params, clip=clip,
                                          readout_only=readout_only, **kw)
        np.testing.assert_allclose(w2, w, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(b2, b, rtol=1e-12, atol=1e-15)
        w3, _, _ = train_bptt(net, "flip_flop", params, clip=None,
                                         readout_only=readout_only, **kw)
        assert not np.allclose(w3, w2)
    free = train_bptt(net, "flip_flop", params, clip=None, **kw)
    capped = train_bptt(net, "flip_flop", params, clip=1e9, **kw)
    for a, c in zip(free, capped, strict=True):
        np.testing.assert_array_equal(a, c)
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ConfigError, match="clip"):
            train_bptt(net, "flip_flop", params, clip=bad, **kw)
