"""Sphinx helpers of the localprop docs: docstring notation and short cross-references.

* Property and attribute docstrings may open with a phrase and a colon; napoleon would
  take the phrase for the object's type, so that colon becomes a dash. So does the
  first colon of an attribute's doc comment when several words precede it (a phrase,
  not a type: ``#: suffix of the edge variable (node: ...)``).
* A ``*`` right after a ``/`` is a glob in a path (``runs/*.json``), not emphasis.
* An ``Attributes:`` entry may name several attributes (``x, lam: saddle point``); like
  napoleon does for ``Args:``, it becomes one field per name (Sphinx would otherwise read
  the first name as a type).
* A builtin name in a type (``type``, ``object``) is never a project object: it is looked
  up exactly, not by suffix among the project's attributes.
* A submodule whose package re-exports a function of the same name
  (``runs.methods.compare``) is documented as the module.
* The docstrings write absolute values as ``|x|``, which reStructuredText would read as a
  substitution reference; outside inline literals a ``|`` is escaped before parsing.
* Docstrings refer to objects by short names (``:class:`ConfigError```, ``:meth:`advance```).
  When Sphinx cannot resolve one from the current module, the reference goes to the one
  documented object of that name in the project; if none is documented (a module-level
  constant without a doc comment) it goes to the page of the module that defines it. A
  name that matches several objects, or none, stays broken and fails the build.
"""

from __future__ import annotations

import builtins
import importlib
import inspect
import re
import sys

import sphinx.ext.autosummary as _autosummary
from docutils import nodes
from sphinx.addnodes import pending_xref

PACKAGES = ("agents", "networks", "runs")
_LITERAL = re.compile(r"(``.*?``|`[^`]*`_?)")


_BORDER = re.compile(r"^\s*=+(\s+=+)+\s*$")


def _absorb(line: str) -> str:
    """In a simple-table row, take each inserted backslash out of the next column gap."""
    out, owed, k = [], 0, 0
    while k < len(line):
        if line[k] == "\\" and k + 1 < len(line) and line[k + 1] == "|":
            out.append("\\|")
            owed += 1
            k += 2
            continue
        if line.startswith("  ", k) and owed:
            run = len(line) - k - len(line[k:].lstrip(" "))
            keep = max(2, run - owed)
            owed -= run - keep
            out.append(" " * keep)
            k += run
            continue
        out.append(line[k])
        k += 1
    return "".join(out)


_PHRASE_COLON = re.compile(r"^([A-Z][\w-]*(?: [\w-]+)+): ")
_WORDS_COLON = re.compile(r"^([^:`]*\w \w[^:`]*?): ")


def prepare_docstring(app, what, name, obj, options, lines) -> None:
    """Escape ``|`` (absolute values) and globs ``/*`` outside literals and roles, in place.

    Rows of simple tables keep their column positions: the added backslashes come out of
    the whitespace between columns. A property docstring that opens with a phrase and a
    colon ("Recorded variables: ...") is not a type annotation: its colon becomes a dash
    so that napoleon does not read the phrase as the property's type (same for
    attributes and module data).
    """
    if what in ("property", "attribute", "data") and lines:
        lines[0] = _PHRASE_COLON.sub(r"\1 — ", lines[0])
        if what != "property":
            lines[0] = _WORDS_COLON.sub(r"\1 — ", lines[0])
    in_table = False
    for k, line in enumerate(lines):
        if _BORDER.match(line):
            in_table = True
            continue
        if not line.strip():
            in_table = in_table and not (k > 0 and _BORDER.match(lines[k - 1]))
            continue
        if ("|" not in line and "/*" not in line) or line.lstrip().startswith(("|", "+")):
            continue
        parts = _LITERAL.split(line)
        for p in range(0, len(parts), 2):  # even parts: outside literals
            parts[p] = re.sub(r"(?<!\\)\|", r"\\|", parts[p])
            parts[p] = re.sub(r"(?<=/)\*", r"\\*", parts[p])
        lines[k] = _absorb("".join(parts)) if in_table else "".join(parts)


_MULTI_FIELD = re.compile(r"^(\s*):(ivar|var|cvar) (\w+(?:, \w+)+):(.*)$")


def split_multi_fields(app, what, name, obj, options, lines) -> None:
    """After napoleon: ``:ivar a, b: text`` becomes ``:ivar a: text`` and ``:ivar b: text``.

    The description (with its continuation lines, those indented deeper than the field)
    is repeated for each name, as napoleon does for ``Args:`` entries.
    """
    out, k = [], 0
    while k < len(lines):
        match = _MULTI_FIELD.match(lines[k])
        if not match:
            out.append(lines[k])
            k += 1
            continue
        indent, kind, names, text = match.groups()
        end = k + 1
        while end < len(lines) and lines[end].strip() \
                and len(lines[end]) - len(lines[end].lstrip()) > len(indent):
            end += 1
        for field_name in names.split(", "):
            out.append(f"{indent}:{kind} {field_name}:{text}")
            out.extend(lines[k + 1:end])
        k = end
    lines[:] = out


def exact_builtins(app, doctree) -> None:
    """Look builtin names in types up exactly (no suffix search among the project's)."""
    for node in doctree.findall(pending_xref):
        if node.get("refdomain") == "py" and hasattr(builtins, node.get("reftarget", "")):
            if "refspecific" in node.attributes:
                del node["refspecific"]


_import_by_name = _autosummary._import_by_name


def _module_first(name: str, *args, **kwargs):
    """Autosummary's import, except that a project submodule wins over a package attribute.

    ``runs.methods`` re-exports the function ``compare`` of its submodule
    ``runs.methods.compare``; autosummary would document that name as the function.
    """
    if name.split(".")[0] in PACKAGES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            module = None
        if module is not None and sys.modules.get(name) is module:
            return module, None, name
    return _import_by_name(name, *args, **kwargs)


def _candidates(domain, target: str, role: str) -> list[str]:
    suffix = "." + target
    types = set(domain.objtypes_for_role(role) or ())
    found = {name for name, obj in domain.objects.items()
             if (name == target or name.endswith(suffix)) and obj.objtype in types}
    return sorted(name for name in found if not domain.objects[name].aliased)


def _defining_module(target: str, module: str | None) -> str | None:
    """The project module that defines ``target`` as seen from ``module``, if any."""
    head, _, attr = target.rpartition(".")
    for mod_name in filter(None, (head, f"{module}.{head}".strip(".") if module else None,
                                  module)):
        try:
            mod = importlib.import_module(mod_name)
        except ImportError:
            continue
        if not hasattr(mod, attr or target):
            continue
        owner = getattr(getattr(mod, attr or target), "__module__", None)
        # data objects report their class's module: trust the namespace they sit in then
        if owner and owner.split(".")[0] in PACKAGES and owner == mod_name:
            return owner
        return mod_name if mod_name.split(".")[0] in PACKAGES else None
    return None


def _assigns(module, name: str) -> bool:
    """True if ``module``'s source assigns ``name`` at top level (defines, not imports)."""
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return False
    return re.search(rf"^{re.escape(name)}\s*[:=]", source, re.MULTILINE) is not None


def resolve_short(app, env, node: pending_xref, contnode):
    """``missing-reference`` handler: resolve a short project name (see module doc)."""
    if node.get("refdomain") != "py":
        return None
    target = re.sub(r"\s+", "", node["reftarget"]).lstrip("~.")
    if not target or not re.fullmatch(r"[A-Za-z_][\w.]*", target):
        return None
    domain = env.get_domain("py")
    found = _candidates(domain, target, node["reftype"])
    if len(found) == 1:
        return _xref(app, env, node, contnode, found[0])
    if found:
        return None
    module = _defining_module(target, node.get("py:module"))
    if module is None and "." not in target:  # no module context (a summary table)
        owners = [m for m in domain.modules if m.split(".")[0] in PACKAGES
                  and _assigns(importlib.import_module(m), target)]
        module = owners[0] if len(owners) == 1 else None
    if module and module in domain.modules:
        return _xref(app, env, node, contnode, module, role="mod")
    return None


def _xref(app, env, node, contnode, fullname: str, role: str | None = None):
    domain = env.get_domain("py")
    typ = role or node["reftype"]
    new = pending_xref("", refdomain="py", reftype=typ, reftarget=fullname,
                       refexplicit=node.get("refexplicit"), refwarn=True)
    result = domain.resolve_xref(env, node["refdoc"], app.builder, typ, fullname, new,
                                 contnode)
    if result is None:  # e.g. :class: to something documented as data or attribute
        hits = domain.resolve_any_xref(env, node["refdoc"], app.builder, fullname, new,
                                       contnode)
        result = hits[0][1] if hits else None
    return result if isinstance(result, nodes.Node) else None


def example_number(filename: str) -> int:
    """Gallery order: by the number in ``plot_<n>_...`` (so that 10 comes after 9)."""
    match = re.search(r"plot_(\d+)_", str(filename).replace("\\", "/").rsplit("/", 1)[-1])
    return int(match.group(1)) if match else 10**6


def setup(app):
    """Register the docstring hooks, the reference fixes and the reference fallback."""
    _autosummary._import_by_name = _module_first
    app.connect("autodoc-process-docstring", prepare_docstring, priority=400)
    app.connect("autodoc-process-docstring", split_multi_fields, priority=600)
    app.connect("doctree-read", exact_builtins)
    app.connect("missing-reference", resolve_short, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
