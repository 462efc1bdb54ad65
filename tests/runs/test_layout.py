"""The layout of ``runs/``: subpackages by concept, no import circle, small modules."""

import ast
import re
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[2]
RUNS = ROOT / "runs"
SUBPACKAGES = ("config", "methods", "experiments", "data", "studies", "sweeps", "viz")
MAX_LINES = 300


def _modules() -> dict[str, Path]:
    out = {}
    for path in RUNS.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(path: Path, modules) -> set[str]:
    """Every ``runs`` module ``path`` imports (top-level and inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m in modules}


def _graph() -> nx.DiGraph:
    modules = _modules()
    G = nx.DiGraph()
    for name, path in modules.items():
        G.add_node(name)
        for dep in _imports(path, modules):
            if dep != name:
                G.add_edge(name, dep)
    return G


def test_no_import_circle_between_modules():
    cycles = list(nx.simple_cycles(_graph()))
    assert not cycles, f"import circles: {cycles}"


def test_no_import_circle_between_subpackages():
    P = nx.DiGraph()
    for a, b in _graph().edges:
        pa, pb = a.split(".")[1:2], b.split(".")[1:2]
        if pa and pb and pa != pb and pa[0] in SUBPACKAGES and pb[0] in SUBPACKAGES:
            P.add_edge(pa[0], pb[0])
    cycles = list(nx.simple_cycles(P))
    assert not cycles, f"subpackage circles: {cycles}"


def test_arrows_point_down_only():
    for path in [*(ROOT / "agents").rglob("*.py"), *(ROOT / "networks").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        assert "from runs" not in text and "import runs" not in text, path
    for path in (ROOT / "agents").rglob("*.py"):
        assert "from networks" not in path.read_text(encoding="utf-8"), path


def test_runs_is_organised_by_concept():
    top = sorted(p.name for p in RUNS.glob("*.py") if not p.name.startswith("bench"))
    assert top == ["__init__.py", "cli.py"], top
    for sub in SUBPACKAGES:
        assert (RUNS / sub / "__init__.py").is_file(), sub
        assert (ROOT / "tests" / "runs" / sub / "__init__.py").is_file(), sub


def test_no_module_over_300_lines():
    long = {str(p.relative_to(ROOT)): n for p in RUNS.rglob("*.py")
            if not p.name.startswith("bench") and "bench" not in p.parts
            and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, long


def test_readme_layout_matches_the_tree():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = text[text.index("## Layout"):]
    layout = layout[:layout.index("\n## ", 1)]
    for sub in SUBPACKAGES:
        assert f"  {sub}/" in layout, sub
        block = layout[layout.index(f"  {sub}/"):]
        ends = [k for k in (block.find(f"\n  {s}") for s in (*SUBPACKAGES, "bench"))
                if k > 0]
        block = block[:min(ends, default=len(block))]
        named = set(re.findall(r"(\w+)\.py", block))
        actual = {p.stem for p in (RUNS / sub).glob("*.py") if p.stem != "__init__"}
        assert named == actual, (sub, named ^ actual)
