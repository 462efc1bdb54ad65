"""Sphinx configuration of the localprop documentation (``make docs``).

The build is strict: ``-W --keep-going -n`` turns every warning into an error, so a
broken cross-reference to the project's own objects, a docstring that does not parse or
an example script that raises fails the build. References to objects of other packages
(numpy, networkx, the standard library...) are not checked: the build works offline and
fetches no inventories.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))
os.environ.setdefault("MPLBACKEND", "Agg")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# Mesa logs every model step at INFO level; keep it out of the examples' output
logging.getLogger("MESA").propagate = False

project = "localprop"
author = "the localprop authors"
copyright = "the localprop authors, MIT licence"  # noqa: A001
try:
    from importlib.metadata import version as _version

    release = _version("localprop")
except Exception:  # not installed: read the source tree only
    release = ""
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_gallery.gen_gallery",
    "localprop_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "examples",
                    "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip",
                    "auto_examples/*.md5", "auto_examples/*.codeobj.json"]
templates_path = ["_templates"]

# -- MyST ------------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# -- API reference -----------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
    "member-order": "bysource",
    "undoc-members": True,
    # a package's __init__ re-exports names documented in their own modules: document
    # each object once, where it is defined
    "ignore-module-all": True,
}
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autodoc_class_signature = "mixed"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True  # "Attributes:" as fields: no duplicates of dataclass fields
napoleon_use_rtype = False

# Optional packages some modules import at top level (benchmarks, the explorer): mocked
# only when absent, so the API pages build with the ``docs`` extra alone.
autodoc_mock_imports = [m for m in ("torch", "solara", "playwright", "dask", "distributed")
                        if importlib.util.find_spec(m) is None]

# Nitpicky mode checks the project's own cross-references; names from other packages
# (no inventories are fetched) and the docstrings' shape/typing vocabulary are exempt.
_EXTERNAL = (r"(np|numpy|nx|networkx|pd|pandas|sp|scipy|sklearn|mesa|mpl|matplotlib|plt|dask|"
             r"distributed|concurrent|collections|typing|types|pathlib|os|io|json|argparse|"
             r"dataclasses|enum|abc|datetime|multiprocessing|weakref|numbers|tomllib|"
             r"importlib|warnings|functools|itertools|_io|builtins)(\..+)?")
_BUILTINS = (r"(int|float|bool|str|bytes|dict|list|tuple|set|frozenset|object|type|None|"
             r"callable|Callable|Any|Literal|Sequence|Mapping|Iterable|Iterator|Protocol|"
             r"Self|optional|ABC|Path|PathLike|Executor|Future|Generator|DiGraph|"
             r"ndarray|Array|DataFrame|Figure|Axes|Exception|ValueError|TypeError|"
             r"KeyError|RuntimeError|OSError|UserWarning|Warning|NodeUpdate|EdgeUpdate|"
             r"Delays|T)")
nitpick_ignore_regex = [
    (r"py:.*", _EXTERNAL),
    (r"py:.*", _BUILTINS),
    (r"py:.*", r"(dict|list|tuple|set)\[.*"),  # pieces of a generic type annotation
    (r"py:class", r".*\s.*"),  # napoleon reads "Words: text" in a property doc as a type
]

# -- Example gallery (executed at build time) ------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "plot_gallery": "True",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "within_subsection_order": "localprop_docs.example_number",  # 1, 2, ... 9, 10
    "show_memory": False,
    "min_reported_time": 1,
}

# -- HTML -------------------------------------------------------------------------------
add_module_names = False  # "forward_pass", not "networks.oracles.forward_pass"
html_theme = "furo"
html_title = "localprop"
html_static_path = []
