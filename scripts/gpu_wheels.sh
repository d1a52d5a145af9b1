#!/usr/bin/env bash
# Downloads into .whl/ (git-ignored) the wheels that benchmarks/gpu_check.py needs on a GPU machine with no
# internet where Python 3.12, torch (CUDA), accelerate, tokenizers, huggingface-hub, safetensors, numpy, pandas,
# pyarrow, xxhash, pillow, pyyaml, jinja2 and tqdm are preinstalled: the kit's other runtime needs, at exactly the
# versions installed in this checkout's .venv (the versions CI tests), for CPython 3.12 on manylinux x86-64.
# transformers and peft come along too, so the GPU runs the tested versions rather than the machine's own.
# On the GPU machine, from the repository root:
#   python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
#   PYTHONPATH=/tmp/site:. HF_HUB_OFFLINE=1 python3 benchmarks/gpu_check.py --out OUT
set -euo pipefail
cd "$(dirname "$0")/.."

VENV_PYTHON="${VENV_PYTHON:-.venv/bin/python}"
PACKAGES=(trl datasets dill multiprocess pydantic pydantic-core annotated-types typing-inspection typing-extensions
          transformers peft regex)
PLATFORMS=(manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64)

pins=()
for name in "${PACKAGES[@]}"; do
  version="$("$VENV_PYTHON" -c 'import importlib.metadata as m, sys; print(m.version(sys.argv[1]))' "$name")" \
    || { echo "gpu_wheels: $name is not installed in $VENV_PYTHON's environment (run scripts/setup.sh)" >&2; exit 1; }
  pins+=("$name==$version")
done

rm -rf .whl  # one version of each package: two would stop the install
mkdir -p .whl
"$VENV_PYTHON" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp "${PLATFORMS[@]/#/--platform=}" -d .whl "${pins[@]}"
echo "gpu_wheels: $(ls .whl | wc -l) wheels, $(du -sh .whl | cut -f1) in .whl/: ${pins[*]}"
