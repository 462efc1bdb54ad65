"""The explorer in a real browser: headless Chromium (the system's) driven by Playwright."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(proc, url, log, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"explorer server exited ({proc.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"explorer server did not answer at {url} in {timeout}s:\n{log.read_text()}")


@pytest.fixture
def explorer(cyclic_graph_file, tmp_path):
    pytest.importorskip("solara", reason="needs the 'viz' extra")
    port = _free_port()
    log = tmp_path / "server.log"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "runs.cli", "explore",
                                 str(cyclic_graph_file), "--port", str(port)],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_for_server(proc, url, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


CONE = re.compile(r"(\d+) step\(s\) = (\d+) message round\(s\) later, (\d+) neuron\(s\) "
                  r"differ, farthest at hop (\d+)")


def _cone(page):
    m = CONE.search(page.inner_text(".lp-cone"))
    assert m, page.inner_text(".lp-cone")
    return tuple(int(g) for g in m.groups())


T_SHOWN = "parseInt(document.querySelector('.lp-status').innerText.slice(4))"


def _t(page) -> int:
    return page.evaluate(T_SHOWN)


def _step(page, t):
    page.get_by_role("button", name="Step").click()
    page.wait_for_function(
        f"document.querySelector('.lp-status').innerText.startsWith('t = {t} ')",
        timeout=20000)


def test_explorer_in_headless_chromium(explorer):
    if CHROMIUM is None:
        pytest.skip("no Chromium browser (apt-get install chromium; .ci/bootstrap does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the 'viz' extra")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1700, "height": 1050})
        page.goto(explorer)
        page.wait_for_selector(".lp-status", timeout=40000)
        # the graph renders: the network figure is an image with a real size
        net_img = page.locator("img").first
        net_img.wait_for(timeout=20000)
        box = net_img.bounding_box()
        assert box["width"] > 300 and box["height"] > 200
        before_src = net_img.get_attribute("src")
        before = page.inner_text(".lp-status")
        assert before.startswith("t = 0 ")
        assert "no perturbation" in page.inner_text(".lp-cone")

        _step(page, 1)  # state shown changes: the status line and the figure
        assert page.inner_text(".lp-status") != before
        page.wait_for_function(
            "src => document.querySelector('img').src !== src", arg=before_src)
        _step(page, 2)

        page.get_by_role("button", name="Perturb").click()  # the picked neuron: h0 (first hidden)
        page.wait_for_function(
            "document.querySelector('.lp-cone').innerText.includes('perturbed')")
        assert _cone(page) == (0, 0, 1, 0)  # only the perturbed neuron differs
        reached = [1]
        for k in (1, 2):
            _step(page, 2 + k)
            page.wait_for_function(  # status and cone come from one render
                f"document.querySelector('.lp-cone').innerText.includes(': {k} step(s)')")
            steps, rounds, n, hop = _cone(page)
            assert (steps, rounds) == (k, k)
            assert hop == k  # one hop per message round: h1, h3 (hop 1), then h2 (hop 2)
            assert n > reached[-1]  # the disturbance spreads
            reached.append(n)

        page.get_by_role("button", name="▶").click()  # play, then pause
        page.wait_for_function(f"{T_SHOWN} >= 8", timeout=30000)
        page.get_by_role("button", name="❚❚").click()
        page.get_by_role("button", name="Step").wait_for()
        page.wait_for_function("!document.evaluate(\"//button[contains(., 'Step')]\", "
                               "document).iterateNext().disabled")  # paused
        shown = [_t(page)]
        for _ in range(20):  # the last frames drawn (slow on a loaded machine) ...
            page.wait_for_timeout(1000)
            shown.append(_t(page))
            if len(shown) >= 4 and len(set(shown[-3:])) == 1:
                break
        page.wait_for_timeout(2000)
        assert _t(page) == shown[-1] >= 8, shown  # ... then the state no longer changes
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "explorer.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"\nexplorer screenshot: {shot}")

        rule_select = page.locator(".v-select").filter(has_text="rule").first
        rule_select.locator(".v-field").click()  # choose LP
        page.locator(".v-overlay .v-list-item").filter(has_text=re.compile(r"^\s*lp\s*$")).click()
        page.get_by_label("eta_w").wait_for(timeout=20000)  # its parameters' controls
        page.wait_for_function(f"{T_SHOWN} === 0")
        _step(page, 1)
        assert page.locator(".v-alert").count() == 0  # no error shown
        page.get_by_role("button", name="Reset").click()  # Mesa's reset: a new model
        page.wait_for_function(f"{T_SHOWN} === 0")
        assert page.get_by_label("eta_w").count() == 1  # same rule after the reset
        browser.close()
