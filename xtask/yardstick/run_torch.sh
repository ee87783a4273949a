#!/usr/bin/env bash
# Runs tnet_torch.py (PyTorch eager) with the given arguments.
# Uses "$PYTHON" (default python3) when it already imports torch; otherwise makes a pinned
# venv once under ${XDG_CACHE_HOME:-$HOME/.cache}/tnet-torch from PyPI (torch's default
# Linux wheel, which runs on CPU-only machines too; a few GB on disk) and uses that.
# TNET_TORCH_VENV=1 always uses the pinned venv.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${PYTHON:-python3}"
PINS="torch==2.11.0 numpy==2.4.6"
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/tnet-torch"

if [ "${TNET_TORCH_VENV:-0}" != 1 ] && "$PY" -c 'import torch' >/dev/null 2>&1; then
    exec "$PY" "$HERE/tnet_torch.py" "$@"
fi
mkdir -p "$(dirname "$VENV")"
exec 9>"$VENV.lock"
command -v flock >/dev/null && flock 9
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.pins" 2>/dev/null)" != "$PINS" ]; then
    echo "run_torch.sh: making $VENV with $PINS (a large download, once)" >&2
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check $PINS >&2
    echo "$PINS" > "$VENV/.pins"   # written last: the venv is complete
fi
exec 9>&-
exec "$VENV/bin/python" "$HERE/tnet_torch.py" "$@"
