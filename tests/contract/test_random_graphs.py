"""The engine contract on random graphs drawn by Hypothesis (random DAGs and digraphs of
6–24 nodes, 1–3 inputs, 1–2 outputs, delays up to 3, batch none to 3), for every rule
under contract, through the same harness as the graph families."""

from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from agents.errors import DivergenceError
from networks.builders import random_dag, random_digraph
from networks.compile import compile_graph
from networks.engines import ENGINES
from tests.contract.harness import CASES, check_equal, check_locality

SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def graphs(draw):
    n = draw(st.integers(6, 24))
    build = random_digraph if draw(st.booleans()) else random_dag
    return build(n, draw(st.integers(n, 3 * n)), n_inputs=draw(st.integers(1, 3)),
                 n_outputs=draw(st.integers(1, 2)), seed=draw(st.integers(0, 10**6)),
                 delays=(1, draw(st.integers(1, 3))), weight_scale=0.8,
                 activation=draw(st.sampled_from(["tanh", "sigmoid"])))


@SETTINGS
@given(G=graphs(), case=st.sampled_from(CASES), batch=st.sampled_from([None, 1, 2, 3]),
       seed=st.integers(0, 1000))
def test_engines_agree_on_random_graphs(G, case, batch, seed):
    check_equal(*case, compile_graph(G), batch, seed, steps=12)


@SETTINGS
@given(G=graphs(), case=st.sampled_from(CASES), kind=st.sampled_from(sorted(ENGINES)),
       seed=st.integers(0, 10**6))
def test_locality_on_random_graphs(G, case, kind, seed):
    try:
        check_locality(kind, *case, compile_graph(G), seed, n_victims=2, strict=False)
    except DivergenceError:
        # the rule blows up on this graph (e.g. BCE on saturated outputs, in both engines
        # alike: the equality test checks that); a diverged run says nothing about locality
        reject()
