"""The explorer page: Mesa's SolaraViz controls around the agent engine (``Page``).

Served by ``localprop explore`` (:mod:`runs.viz.explorer`), which passes what to show in
the environment (:data:`ENV_SOURCE`, :data:`ENV_SEED`). The sidebar holds Mesa's own
:func:`~mesa.visualization.solara_viz.ModelController` (reset, play/pause, step) and the
explorer's cards: the rule and its parameters (derived from the rule), the view
(neuron colour, edge colour), and the perturbation of a picked neuron. The main area
shows the network by layer and the live loss / accuracy / gradient-fidelity plots.
"""

from __future__ import annotations

import functools
import os

import solara
from mesa.visualization.solara_viz import ModelController
from mesa.visualization.utils import force_update, update_counter

from agents import RULES
from agents.errors import LocalpropError
from networks.compile import compile_graph
from runs.viz import explore_controls as ctl
from runs.viz.explore_data import ExploreData, load_source
from runs.viz.explore_draw import draw_metrics, draw_network, node_layers, node_positions
from runs.viz.explore_model import ExplorerModel

ENV_SOURCE, ENV_SEED = "LOCALPROP_EXPLORE_SOURCE", "LOCALPROP_EXPLORE_SEED"


@functools.cache
def shown() -> ExploreData:
    """What this server shows (from the environment set by ``localprop explore``)."""
    return load_source(os.environ.get(ENV_SOURCE) or None,
                       seed=int(os.environ.get(ENV_SEED, "0")))


@functools.cache
def _geometry():
    net = compile_graph(shown().graph)
    layer = node_layers(net)
    return layer, node_positions(net, layer)


def model_kwargs(rule: str, given=None, batch: int | None = None, hold: int | None = None,
                 seed: int | None = None) -> dict:
    """Arguments of :class:`ExplorerModel` for ``rule`` (parameters the rule accepts)."""
    data = shown()
    batch = data.batch if batch is None else batch
    params = ctl.starting_params(RULES[rule], compile_graph(data.graph), batch, given)
    return {"data": data, "rule": rule, "rule_params": params, "batch": batch,
            "hold": data.hold if hold is None else hold,
            "seed": int(os.environ.get(ENV_SEED, "0")) if seed is None else seed}


@solara.component
def RuleCard(model, kwargs, error):
    """Rule choice and one control per field of the rule's parameter dataclass."""
    rule = RULES[kwargs.value["rule"]]

    def rebuild(**changes):
        new = {**kwargs.value, **changes}
        try:
            model.value = ExplorerModel(**new)
        except (LocalpropError, ValueError, TypeError) as err:
            error.set(str(err))
            return
        kwargs.set(new)
        error.set(None)
        force_update()

    def set_rule(name):
        rebuild(**model_kwargs(name, RULES[name] is rule and kwargs.value["rule_params"]
                               or None, kwargs.value["batch"], kwargs.value["hold"]))

    def set_param(spec, value):
        try:
            parsed = spec.parse(value)
        except ValueError:
            error.set(f"{spec.name}: {value!r} is not a {spec.type}")
            return
        rebuild(rule_params={**kwargs.value["rule_params"], spec.name: parsed})

    with solara.Card("Rule"):
        solara.Select("rule", values=ctl.rule_names(), value=kwargs.value["rule"],
                      on_value=set_rule)
        solara.SliderInt(f"batch B = {kwargs.value['batch']}", value=kwargs.value["batch"],
                         min=1, max=32, on_value=lambda v: rebuild(batch=v))
        solara.SliderInt(f"hold T = {kwargs.value['hold']} steps", value=kwargs.value["hold"],
                         min=1, max=100, on_value=lambda v: rebuild(hold=v))
        params = kwargs.value["rule_params"]
        for spec in ctl.param_specs(rule):
            value = spec.show(params.get(spec.name, spec.default))
            if spec.kind == "bool":
                solara.Switch(label=spec.name, value=value,
                              on_value=lambda v, s=spec: set_param(s, v))
            elif spec.kind == "choice":
                solara.Select(spec.name, values=list(spec.choices), value=value,
                              on_value=lambda v, s=spec: set_param(s, v))
            else:
                solara.InputText(spec.name, value=value,
                                 on_value=lambda v, s=spec: set_param(s, v))
        if error.value:
            solara.Error(error.value)


@solara.component
def PerturbCard(model, view):
    """Pick a neuron, perturb it, and follow its locality cone."""
    net = model.value.net
    names = [str(n) for n in net.node_ids]
    by_name = dict(zip(names, net.node_ids, strict=True))
    scale = solara.use_reactive(0.5)

    def perturb():
        model.value.perturb(by_name[view.value["neuron"]], scale.value)
        view.set({**view.value, "colour": "cone"})
        force_update()

    def clear():
        model.value.clear_perturbation()
        force_update()

    with solara.Card("Locality cone"):
        solara.Select("neuron", values=names, value=view.value["neuron"],
                      on_value=lambda v: view.set({**view.value, "neuron": v}))
        solara.SliderFloat("noise scale", value=scale, min=0.01, max=2.0, step=0.01)
        with solara.Row():
            solara.Button("Perturb", color="error", on_click=perturb)
            solara.Button("Clear", on_click=clear)


@solara.component
def ViewCard(model, view):
    """Colour of neurons and edges."""
    rule = model.value.rule
    colours, edges = ctl.colour_choices(rule), ctl.edge_choices(rule)
    colour = view.value["colour"] if view.value["colour"] in colours else colours[0]
    edge = view.value["edges"] if view.value["edges"] in edges else ctl.default_edges(rule)
    with solara.Card("View"):
        solara.Select("neurons", values=colours, value=colour,
                      on_value=lambda v: view.set({**view.value, "colour": v}))
        solara.Select("edges", values=edges, value=edge,
                      on_value=lambda v: view.set({**view.value, "edges": v}))


@solara.component
def Network(model, view):
    """The network figure and a status line."""
    update_counter.get()
    m = model.value
    colours, edges = ctl.colour_choices(m.rule), ctl.edge_choices(m.rule)
    colour = view.value["colour"] if view.value["colour"] in colours else colours[0]
    edge = view.value["edges"] if view.value["edges"] in edges else ctl.default_edges(m.rule)
    layer, pos = _geometry()
    picked = dict(zip(map(str, m.net.node_ids), m.net.node_ids, strict=True))
    with m.lock:  # one consistent state (the play loop steps in another thread)
        nodes, cone, t = m.node_values(colour), m.cone, m.engine.t
        fwd, back = ctl.wave_channels(m.rule)
        edges_now = m.edge_values(f"{fwd.name} change" if edge == ctl.WAVES else edge)
        dots = ((m.edge_values(f"{back.name} change"),
                 ctl.edge_label(m.rule, f"{back.name} change")) if edge == ctl.WAVES
                else None)
        status = status_line(m)
    fig = draw_network(
        m.net, layer, pos, nodes, ctl.SYMBOLS.get(colour, colour), edges_now,
        ctl.edge_label(m.rule, edge), selected=picked.get(view.value["neuron"]), cone=cone,
        signed_edges=not edge.endswith(("change", ctl.WAVES)), edge_dots=dots,
        title=f"{m.data.title} · rule {m.rule_name} · agent engine t = {t}")
    solara.FigureMatplotlib(fig, format="png")
    solara.Text(status, classes=["lp-status"])
    solara.Text(f"Cone: {cone.text()}" if cone else "Cone: no perturbation (pick a "
                "neuron and press Perturb)", classes=["lp-cone"])
    if m.error:
        solara.Error(m.error)


def status_line(m: ExplorerModel) -> str:
    """The step, presentation and picked values, as one line."""
    out = m.engine.state(m.rule.output_var)[m.net.output_idx]
    shown_out = ", ".join(f"{v:+.4f}" for v in out.mean(axis=1)[:4])
    loss, acc, cos = (f"{v:.4g}" if v == v else "—" for v in m.metrics)
    return (f"t = {m.engine.t} · mini-batch {m.engine.t // m.hold} (B = {m.batch}, held "
            f"{m.hold} steps) · outputs (batch mean) [{shown_out}] · loss {loss} · "
            f"accuracy {acc} · cosine {cos}")


@solara.component
def Metrics(model):
    """Live loss, accuracy and cosine to the exact gradient."""
    update_counter.get()
    m = model.value
    with m.lock:
        frame, reference = m.datacollector.get_model_vars_dataframe(), m.reference
    solara.FigureMatplotlib(draw_metrics(frame, reference), format="png")


@solara.component
def Page():
    """The explorer page."""
    data = shown()
    kwargs = solara.use_reactive(solara.use_memo(
        lambda: model_kwargs(data.rule, data.rule_params), []))
    model = solara.use_reactive(solara.use_memo(lambda: ExplorerModel(**kwargs.value), []))
    net = model.value.net
    hidden = [str(n) for k, n in enumerate(net.node_ids)
              if not net.is_input[k] and not net.is_output[k]] or [str(net.node_ids[-1])]
    view = solara.use_reactive({"colour": "x", "edges": "", "neuron": hidden[0]})
    error = solara.use_reactive(None)
    play_ms, render_every = solara.use_reactive(200), solara.use_reactive(1)
    threads = solara.use_reactive(False)
    solara.Title(f"localprop explorer — {data.title}")
    with solara.Columns([3, 8, 4]):
        with solara.Column():
            with solara.Card("Controls"):
                ModelController(model, model_parameters=kwargs, play_interval=play_ms,
                                render_interval=render_every, use_threads=threads)
                solara.SliderInt(f"play interval {play_ms.value} ms", value=play_ms, min=10,
                                 max=1000, step=10)
                solara.SliderInt(f"steps per frame {render_every.value}", value=render_every,
                                 min=1, max=50)
            ViewCard(model, view)
            PerturbCard(model, view)
            RuleCard(model, kwargs, error)
            with solara.Card("About the data"):
                for note in data.notes:
                    solara.Text(note)
        Network(model, view)
        Metrics(model)
