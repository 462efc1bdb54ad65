# Set-up is automatic: the first `make demo` or `make test` builds .venv (needs Python >= 3.12).
.PHONY: demo test test-slow bench lint docs docs-clean torch-env

.venv/.installed: pyproject.toml .ci/bootstrap
	bash .ci/bootstrap

demo: .venv/.installed
	.venv/bin/localprop demo

test: .venv/.installed
	.venv/bin/python -m pytest

test-slow: .venv/.installed
	.venv/bin/python -m pytest -m slow

bench: .venv/.installed
	.venv/bin/python -m runs.bench

lint: .venv/.installed
	.venv/bin/ruff check agents networks runs tests

# HTML documentation in docs/_build/html, from freshly generated API pages and freshly
# executed examples; every warning (a broken cross-reference, a docstring that does not
# parse, an example script that fails) is an error
docs: .venv/.installed
	rm -rf docs/api docs/auto_examples docs/sg_execution_times.rst
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python -m sphinx -W --keep-going -n \
		-b html docs docs/_build/html

docs-clean:
	rm -rf docs/_build docs/api docs/auto_examples docs/sg_execution_times.rst

# optional: an interpreter with PyTorch for the peer benchmark (CPU wheel, Python 3.11)
torch-env:
	python3.11 -m venv .venv-torch || python3 -m venv .venv-torch
	.venv-torch/bin/pip install --quiet "torch==2.13.0" numpy
