#!/usr/bin/env bash
# Build the Linux app folder: dist/scriptorium/ (run dist/scriptorium/scriptorium), then check it.
#
#   bash packaging/build_linux.sh          # CPU build (torch from PyTorch's CPU index)
#   bash packaging/build_linux.sh --cuda   # CUDA build (torch cu128; QLoRA on NVIDIA GPUs)
#
# It builds from its own virtualenv (.venv-build) so the bundle holds exactly what the app needs,
# then runs the bundle's --selftest with an empty environment (no virtualenv, no PYTHONPATH, a
# fresh HOME), which is how a user's machine sees it. Takes ~15–25 min on 2 cores; not run in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
variant=cpu
[ "${1:-}" = "--cuda" ] && variant=cuda
index="${SCRIPTORIUM_TORCH_INDEX:-$([ $variant = cuda ] && echo cu128 || echo cpu)}"
start=$(date +%s)

if [ ! -x .venv-build/bin/python ]; then
  python3 -m venv .venv-build
fi
. .venv-build/bin/activate
python -m pip install --quiet --upgrade pip
case "$index" in
  default) pip install --quiet torch==2.13.0 ;;
  http*) pip install --quiet torch==2.13.0 --index-url "$index" ;;
  *) pip install --quiet --timeout 20 --retries 1 torch==2.13.0 --index-url "https://download.pytorch.org/whl/$index" \
       || pip install --quiet torch==2.13.0 ;;
esac
pip install --quiet . "pyinstaller>=6.10"
echo "build venv ready in $(( $(date +%s) - start )) s"

SCRIPTORIUM_VARIANT=$variant pyinstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/scriptorium.spec
cp resources/scriptorium.desktop dist/scriptorium/
for size in 16 32 48 64 128 256; do
  mkdir -p "dist/scriptorium/icons/hicolor/${size}x${size}/apps"
  cp "resources/icons/scriptorium-$size.png" "dist/scriptorium/icons/hicolor/${size}x${size}/apps/scriptorium.png"
done
echo "$variant" > dist/scriptorium/VARIANT
built=$(date +%s)
echo "bundle: $(du -sh dist/scriptorium | cut -f1) in $(( built - start )) s"

deactivate
home=$(mktemp -d)
t0=$(date +%s.%N)
env -i PATH=/usr/bin:/bin HOME="$home" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
  dist/scriptorium/scriptorium --help >/dev/null
t1=$(date +%s.%N)
echo "start-up (--help): $(echo "$t1 - $t0" | bc) s"
env -i PATH=/usr/bin:/bin HOME="$home" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
  dist/scriptorium/scriptorium --selftest --json | tail -1
echo "self-test of the bundle passed"
