"""The Python snippets of the documentation run, page by page, as written.

Each page's ```python blocks are executed in order in one namespace (a page reads like
one session), in a temporary directory where ``runs/configs`` holds the example configs
(so pages read them by the path a user in the repository's root would type). Blocks
written as a ``{code-block} python`` directive are shown, not run (a Dask scheduler).
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = ["guide/graphs.md", "guide/engines.md", "guide/training.md", "guide/experiments.md",
         "rules.md", "math/lp.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def snippets(page: str) -> list[str]:
    return BLOCK.findall((DOCS / page).read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", PAGES)
def test_page_snippets_run(page, tmp_path, monkeypatch):
    blocks = snippets(page)
    assert blocks, f"{page} has no python snippet"
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "configs").symlink_to(ROOT / "runs" / "configs")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "docs_snippet"}
    for k, code in enumerate(blocks):
        exec(compile(code, f"{page}[block {k}]", "exec"), namespace)  # noqa: S102


def test_engine_page_loops_learn():
    """The train-and-evaluate loops of the engine guide reach a useful accuracy."""
    namespace: dict = {"__name__": "docs_snippet"}
    for code in snippets("guide/engines.md"):
        exec(code, namespace)  # noqa: S102
        if "lp.run(" in code:
            lp_accuracy = namespace["accuracy"]
    assert lp_accuracy >= 0.9
    assert namespace["accuracy"] >= 0.8  # diffusion, the last loop
    assert bool(namespace["np"].allclose(namespace["meter"].state("dw"),
                                         namespace["exact"].dw))


def test_rule_page_engines_agree():
    """The rule written on the rule-writing page runs identically in both engines."""
    namespace: dict = {"__name__": "docs_snippet"}
    for code in snippets("rules.md"):
        exec(code, namespace)  # noqa: S102
    agent, vector = namespace["runs"]["agent"], namespace["runs"]["vector"]
    for name in ("x", "weight"):
        assert abs(agent.state(name) - vector.state(name)).max() < 1e-10
    assert abs(vector.state("weight") - vector.net.weight).max() > 1e-3  # it learned


def test_rule_page_shows_the_real_feedback_alignment_rule():
    """The worked example is agents/feedback_alignment.py's code, and it behaves as said."""
    source = (ROOT / "agents" / "feedback_alignment.py").read_text(encoding="utf-8")
    body = source[source.index("import math"):].strip()
    assert body in [block.strip() for block in snippets("rules.md")]
    namespace: dict = {"__name__": "docs_snippet"}
    for code in snippets("rules.md"):
        exec(code, namespace)  # noqa: S102
    fa = namespace["fa"]
    assert abs(fa["agent"].state("weight") - fa["vector"].state("weight")).max() < 1e-10
    assert abs(fa["vector"].state("weight") - fa["vector"].net.weight).max() > 1e-4
    assert abs(namespace["same"].state("delta") - namespace["diff"].state("delta")).max() == 0
    assert abs(namespace["diff"].state("delta")).max() > 0
