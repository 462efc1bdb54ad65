"""What all neurons of one agent engine share: the rule resolved once (:class:`RulePlan`).

Each :class:`~agents.neuron.NeuronAgent` keeps only its own state and wiring; the
tables every neuron would otherwise repeat — which variables have delay buffers, the
declared dtype and shape of every variable, each stage's update functions, what it sends
and reads and its Hebbian products, read-only role masks and ones rows — live here, once
per engine. Also here: the containers a neuron keeps its own state in
(:func:`shared_keys`, :class:`EdgeVars`).
"""

from __future__ import annotations

import numpy as np

_put = np.ndarray.put
_setitem = np.ndarray.__setitem__


def delay_groups(slots: np.ndarray, delay: np.ndarray) -> tuple:
    """``((slots_d, d, rows_d or None), ...)``: an edge list split by delay.

    ``rows_d`` are the positions of the delay-``d`` edges in the list (None when every
    edge has the same delay).
    """
    if len(delay) == 0:
        return ()
    if delay.min() == delay.max():
        return ((slots, int(delay[0]), None),)
    return tuple((slots[rows], int(d), rows)
                 for d in np.unique(delay) for rows in [np.flatnonzero(delay == d)])


class EdgeVars(dict):
    """A neuron's in-edge variables ``{var: (k,) array}``, caching the weights' (1, k) row.

    ``row`` is that view of ``self["weight"]`` (what a forward channel sums with), or
    None until :meth:`weight_row` makes it; every change to the dict drops it, and the
    copy of it its ``owner`` (a neuron, if set) keeps as ``_wrow``.
    """

    __slots__ = ("row", "owner")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.row = self.owner = None

    def __reduce__(self):
        return EdgeVars, (dict(self),)   # a copy makes its own row when needed

    def weight_row(self) -> np.ndarray:
        """The (1, k) view of the weights (made now, kept until the next change)."""
        self.row = self["weight"][None]
        if self.owner is not None:
            self.owner._wrow = self.row
        return self.row

    def _drop(self) -> None:
        """Drop the cached row (the dict changed)."""
        self.row = None
        if self.owner is not None:
            self.owner._wrow = None

    def __setitem__(self, name, value):
        dict.__setitem__(self, name, value)
        self._drop()

    def __delitem__(self, name):
        dict.__delitem__(self, name)
        self._drop()

    def __ior__(self, other):
        self.update(other)
        return self

    def update(self, *args, **kwargs) -> None:
        """``dict.update``, dropping the cached row."""
        dict.update(self, *args, **kwargs)
        self._drop()

    def setdefault(self, name, default=None):
        """``dict.setdefault``, dropping the cached row."""
        self._drop()
        return dict.setdefault(self, name, default)

    def pop(self, *args):
        """``dict.pop``, dropping the cached row."""
        self._drop()
        return dict.pop(self, *args)

    def popitem(self):
        """``dict.popitem``, dropping the cached row."""
        self._drop()
        return dict.popitem(self)

    def clear(self) -> None:
        """``dict.clear``, dropping the cached row."""
        self._drop()
        dict.clear(self)


class _NodeVars:
    """Its instances' ``__dict__`` serve as neuron state dicts (see :func:`shared_keys`)."""


def shared_keys(state: dict) -> dict:
    """``state`` as a dict sharing its key table with every other neuron's state dict.

    CPython stores the attribute dicts of instances of one class as *split* dicts: one
    key table for all of them, each holding only its values. A neuron's state made that
    way is an ordinary ``dict``; a step touches one object fewer per neuron (its own key
    table), which counts from 10^4 neurons on, where every such object is a cache miss.
    """
    holder = _NodeVars()
    for name, value in state.items():
        setattr(holder, name, value)
    return holder.__dict__


def _frozen(arr: np.ndarray) -> np.ndarray:
    """``arr`` made read-only (shared by many neurons)."""
    arr.flags.writeable = False
    return arr


class RulePlan:
    """What every neuron of one engine shares: the rule's stages resolved once.

    Args:
        rule: the rule.
        state: one neuron's node variables (their dtypes and shapes are everyone's).
        edge_state: one neuron's edge variables (their dtypes).

    Attributes:
        delayed: names of the variables with a delay buffer, in ring order.
        first_stage_sends: True when no stage but the first sends a delayed channel.
        index: ``{var: k}``, the position of each node variable in a neuron's rows.
        edge_dtypes: ``{var: dtype}`` of edge variables.
        n_vars: the number of node variables.
        single: True when every node variable's rows hold one value (no batch axis).
        pushes: per stage, True when its ``receive`` pushes the delay buffers.
        delayed_sends: per stage, ``(put, mail, k)`` of its channel when it has one,
            forward and delayed, else None.
        weight_sums: per stage, ``(name, own, scratch)`` of its channel when it has one,
            forward and summed with ``weight``, else None.
        receives: per stage, what its ``receive`` reads in one tuple: ``(weight_sums,
            node_update, edge_update, hebb, pushes, single, index)``.
        push_k: ``index`` of ``push_one`` (None without it).
        stages: per stage ``(node_update, edge_update, hebb)``, ``hebb`` as
            ``((name, own, post), ...)``: ``own`` indexes a neuron's ``_own``.
        channel_names: every channel's name, stage by stage (a neuron keeps its inbox
            views in this order, after its rows).
        own_index: ``{channel: position of its inbox view in a neuron's _own}``.
        reads: per stage ``((name, own, weight, scratch), ...)``: ``weight`` is the edge
            variable a forward channel is summed with, None for a backward one (its
            senders weighted the messages); ``scratch`` the (1, B) row the sum is
            written into (:meth:`post_office`).
        sends: per stage, what it sends (:meth:`post_office`).
        dtype: the dtype of the node variables.
        true, false: read-only (1, 1) flags shared as role masks and ``has_target``.
        backward: whether any channel is backward.
        rows: the slices of a neuron's rows that are outputs (none, its one), shared.
    """

    def __init__(self, rule, state, edge_state):
        self.rule = rule
        self.delayed = tuple(rule.delayed_sources)
        self.n_delayed = len(self.delayed)
        #: the one delayed variable, if there is exactly one (pushed inline)
        self.push_one = self.delayed[0] if self.n_delayed == 1 else None
        self.slot = {name: k for k, name in enumerate(self.delayed)}
        #: whether every delayed channel is sent in the first stage (a neuron may then
        #: keep its ring of depth 1 in its rows: agents.neuron)
        self.first_stage_sends = not any(ch.delayed for st in rule.stages[1:]
                                         for ch in st.channels)
        #: ``{var: k}``: a neuron's row of node variable ``var`` is its ``_own[k]``
        self.index = {name: k for k, name in enumerate(state)}
        self.n_vars = len(self.index)
        #: per variable (``index``), whether its rows hold one value
        self.single = all(arr.size == 1 for arr in state.values())
        #: per stage, whether its ``receive`` pushes the delay buffers (the last stage)
        self.pushes = tuple(k == len(rule.stages) - 1 and bool(self.delayed)
                            for k in range(len(rule.stages)))
        self.push_k = None if self.push_one is None else self.index[self.push_one]
        self.edge_dtypes = {name: arr.dtype for name, arr in edge_state.items()}
        self.channel_names = tuple(ch.name for st in rule.stages for ch in st.channels)
        # a neuron's inbox view of channel c is its _own[n_vars + c]
        self.own_index = {name: self.n_vars + c for c, name in enumerate(self.channel_names)}
        self.stages = tuple((st.node_update, st.edge_update,
                             tuple((name, self.own_index[chan], post)
                                   for name, (post, chan) in st.hebb.items()))
                            for st in rule.stages)
        self.dtype = state[rule.output_var].dtype
        self.sends: tuple = ()   # set by :meth:`post_office`
        self.reads: tuple = ()   # likewise
        self.weight_sums: tuple = ()   # likewise
        self.delayed_sends: tuple = ()   # likewise
        self.receives: tuple = ()   # likewise
        self._ones: dict = {}
        self.true, self.false = (_frozen(np.full((1, 1), flag)) for flag in (True, False))
        self.backward = any(ch.direction == "backward" for st in rule.stages
                            for ch in st.channels)
        self.rows = (slice(0, 0), slice(0, 1))   # a neuron's rows that are outputs: none, its
        self.no_target = _frozen(np.zeros_like(state[rule.output_var]))

    def post_office(self, mail: dict) -> None:
        """Resolve what every stage sends, given the engine's ``{channel: (E, B) mail}``.

        ``sends[k]`` lists, per channel of stage k, ``(put, mail, forward, source,
        k, delayed, weight)``: ``source`` is the ring slot of a delayed variable or the
        name of an undelayed one, ``k`` the position of its row (``index``); ``weight``
        the edge variable a backward message is weighted by (None forward); ``put`` the
        fastest way to write the mail (a flat ``ndarray.put`` when a slot holds one
        value, fancy assignment otherwise). Also makes ``reads`` (its scratch rows).
        """
        self.sends = tuple(
            tuple((_put if mail[ch.name].shape[1] == 1 else _setitem, mail[ch.name],
                   ch.direction == "forward",
                   self.slot[ch.source] if ch.delayed else ch.source,
                   self.index[ch.source], ch.delayed,
                   None if ch.direction == "forward" else ch.weight)
                  for ch in st.channels)
            for st in self.rule.stages)
        # one scratch row per channel that every neuron's inbox sum is written into: a
        # neuron copies what it keeps into its own rows, and the next one overwrites it
        self.reads = tuple(tuple((ch.name, self.own_index[ch.name],
                                  ch.weight if ch.direction == "forward" else None,
                                  np.empty((1, mail[ch.name].shape[1]), dtype=self.dtype))
                                 for ch in st.channels) for st in self.rule.stages)
        self.delayed_sends = tuple(
            (sends[0][0], sends[0][1], sends[0][4])
            if len(sends) == 1 and sends[0][2] and sends[0][5] else None
            for sends in self.sends)
        self.weight_sums = tuple(
            (reads[0][0], reads[0][1], reads[0][3])
            if len(reads) == 1 and reads[0][2] == "weight" else None for reads in self.reads)
        self.receives = tuple((summed, *stage, pushes, self.single, self.index)
                              for summed, stage, pushes
                              in zip(self.weight_sums, self.stages, self.pushes, strict=True))

    def ones(self, k: int, dtype) -> np.ndarray:
        """A shared (1, k) row of ones (sums a backward inbox of k messages)."""
        key = (k, np.dtype(dtype))
        if key not in self._ones:
            self._ones[key] = _frozen(np.ones((1, k), dtype=dtype))
        return self._ones[key]
