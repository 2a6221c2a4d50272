#!/usr/bin/env bash
# Scriptorium's set-up: a virtualenv in .venv with the right torch for this machine, then the app.
#
#   bash packaging/setup_env.sh           # the app
#   bash packaging/setup_env.sh --test    # the app and what the tests need
#
# torch: an NVIDIA GPU (nvidia-smi answers) gets a CUDA build from PyTorch's index, anything else
# the CPU build (a plain `pip install torch` on Linux pulls the multi-GB CUDA build even without a
# GPU). SCRIPTORIUM_TORCH_INDEX overrides: a URL, "cpu", "cu128", or "default" (whatever pip's
# configured indexes give: CI and machines with a pre-placed wheel). If PyTorch's index cannot be
# reached, it falls back to "default" and says so.
# llama-cpp-python is compiled from source on first install (~12 min on 2 cores): it needs a C/C++
# compiler and cmake, checked below before the long step starts.
set -euo pipefail
cd "$(dirname "$0")/.."
extra=""
[ "${1:-}" = "--test" ] && extra="[test]"
TORCH_VERSION="${SCRIPTORIUM_TORCH_VERSION:-2.13.0}"
PYTHON="${PYTHON:-python3}"

say() { printf '\n== %s\n' "$*"; }

missing=()
command -v cc >/dev/null || command -v gcc >/dev/null || command -v clang >/dev/null || missing+=("a C compiler")
command -v c++ >/dev/null || command -v g++ >/dev/null || command -v clang++ >/dev/null || missing+=("a C++ compiler")
command -v cmake >/dev/null || missing+=("cmake (pip will try to fetch it)")
if [ ${#missing[@]} -gt 0 ]; then
  # a warning, not a stop: pip may have a built wheel of llama-cpp-python cached from an earlier install
  echo "Warning: missing ${missing[*]}; llama-cpp-python is compiled on its first install." >&2
  echo "  Debian/Ubuntu: sudo apt-get install build-essential cmake    macOS: xcode-select --install && brew install cmake" >&2
fi

if [ ! -x .venv/bin/python ]; then
  say "Creating .venv"
  "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
python -m pip install --quiet --upgrade pip

index="${SCRIPTORIUM_TORCH_INDEX:-}"
if [ -z "$index" ]; then
  if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then index=cu128; else index=cpu; fi
fi
case "$index" in
  default) url="" ;;
  http*) url="$index" ;;
  *) url="https://download.pytorch.org/whl/$index" ;;
esac
say "Installing torch $TORCH_VERSION (${index})"
if [ -n "$url" ]; then
  if ! pip install --timeout 20 --retries 1 "torch==$TORCH_VERSION" --index-url "$url"; then
    echo "PyTorch's index ($url) could not be reached; using pip's configured indexes instead." >&2
    echo "(On a machine without a pre-placed wheel that may be the large CUDA build.)" >&2
    pip install "torch==$TORCH_VERSION"
  fi
else
  pip install "torch==$TORCH_VERSION"
fi

say "Installing Scriptorium$extra (the first time compiles llama-cpp-python: ~12 min on 2 cores)"
start=$(date +%s)
pip install -e ".$extra"
echo "took $(( $(date +%s) - start )) s"

if [ "$(uname)" = Linux ] && command -v ldconfig >/dev/null; then
  need=()
  for lib in libxcb-cursor.so.0 libxkbcommon-x11.so.0 libxcb-icccm.so.4 libxcb-keysyms.so.1 libEGL.so.1; do
    ldconfig -p | grep -q "$lib" || need+=("$lib")
  done
  if [ ${#need[@]} -gt 0 ]; then
    echo "The window needs Qt's X11 libraries (missing: ${need[*]}):" >&2
    echo "  sudo apt-get install libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libegl1" >&2
  fi
fi
say "Ready: .venv/bin/python main.py   (check the install: .venv/bin/python main.py --selftest)"
