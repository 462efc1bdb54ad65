"""The README: its Python snippets run as written and learn; its links stay in the repository."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\]\(([^)]+)\)")


def test_readme_snippets_train_and_evaluate(tmp_path, monkeypatch):
    blocks = BLOCK.findall(README)
    assert blocks, "README has no python snippet"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "readme_snippet"}
    for k, code in enumerate(blocks):
        exec(compile(code, f"README.md[block {k}]", "exec"), namespace)  # noqa: S102
    assert namespace["ds"].X_train.shape[1] == namespace["u"].shape[0] == 2
    assert namespace["accuracy"] >= 0.9  # the engine loop learned the moons task
    assert namespace["res"].final["test_acc"] >= 0.8  # so did the method layer
    methods = {row["method"] for row in namespace["table"].rows}
    assert methods == {"lp", "bp"}


def test_readme_links_stay_inside_the_repository():
    links = [t for t in LINK.findall(README) if not t.startswith(("http://", "https://"))]
    assert any(t.startswith("docs/") for t in links), "README should point into docs/"
    for target in links:
        path = (ROOT / target.split("#")[0]).resolve()
        assert path.is_relative_to(ROOT), f"README links outside the repository: {target}"
        assert path.exists(), f"README links to a missing file: {target}"
