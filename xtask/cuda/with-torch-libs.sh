#!/usr/bin/env bash
# Runs a CUDA build of tnet on a machine whose CUDA libraries came with PyTorch's wheels:
# puts the folders of the python3 torch's `nvidia` packages (cu13/lib, cudnn/lib) and the
# driver's libcuda on LD_LIBRARY_PATH, then executes the binary.
#   with-torch-libs.sh [--check] BINARY [ARGS..]    --check: list the resolved libraries, exit
# TNET_NVIDIA_LIBDIRS (colon-separated) overrides the search.
set -u
check=0
if [ "${1:-}" = "--check" ]; then check=1; shift; fi
bin="${1:?usage: with-torch-libs.sh [--check] BINARY [ARGS..]}"; shift
dirs="${TNET_NVIDIA_LIBDIRS:-}"
add() { [ -d "$1" ] && case ":$dirs:" in *":$1:"*) ;; *) dirs="${dirs:+$dirs:}$1" ;; esac; }
if [ -z "$dirs" ]; then
    for py in "${PYTHON:-python3}" /opt/torch/.venv/bin/python3; do
        roots=$("$py" -c 'import nvidia; print(" ".join(nvidia.__path__))' 2>/dev/null) || continue
        for r in $roots; do add "$r/cu13/lib"; add "$r/cudnn/lib"; done
        [ -n "$dirs" ] && break
    done
fi
if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
    for d in /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu /usr/lib64; do
        [ -e "$d/libcuda.so.1" ] && { add "$d"; break; }
    done
fi
export LD_LIBRARY_PATH="$dirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
missing=$(ldd "$bin" 2>&1 | grep 'not found')
if [ "$check" = 1 ] || [ -n "$missing" ]; then
    echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH" >&2
    ldd "$bin" | grep -E 'cuda|cublas|curand|nvrtc|cudnn|not found' >&2
    [ -n "$missing" ] && { echo "with-torch-libs.sh: libraries not found (above)" >&2; exit 127; }
    exit 0
fi
exec "$bin" "$@"
