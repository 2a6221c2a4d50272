# Build the Windows installer: PyInstaller folder, then Inno Setup (ISCC.exe on PATH, Inno Setup 6).
#   powershell -ExecutionPolicy Bypass -File packaging\build_windows.ps1 [-Cuda]
# Needs Python 3.11 (python.org), Visual Studio Build Tools (C++; llama-cpp-python compiles) and CMake.
param([switch]$Cuda)
$ErrorActionPreference = "Stop"
Set-Location (Split-Path $PSScriptRoot -Parent)
$variant = if ($Cuda) { "cuda" } else { "cpu" }
$index = if ($Cuda) { "https://download.pytorch.org/whl/cu128" } else { "https://download.pytorch.org/whl/cpu" }
if (-not (Test-Path .venv-build)) { python -m venv .venv-build }
& .venv-build\Scripts\python -m pip install --upgrade pip
& .venv-build\Scripts\pip install torch==2.13.0 --index-url $index
& .venv-build\Scripts\pip install . "pyinstaller>=6.10" pillow
# the installer's icon, from the PNG set
& .venv-build\Scripts\python -c "from PIL import Image; Image.open('resources/icons/scriptorium-256.png').save('packaging/windows/scriptorium.ico', sizes=[(16,16),(32,32),(48,48),(64,64),(128,128),(256,256)])"
$env:SCRIPTORIUM_VARIANT = $variant
& .venv-build\Scripts\pyinstaller --noconfirm --clean --distpath dist --workpath build\pyinstaller packaging\scriptorium.spec
& dist\scriptorium\scriptorium.exe --selftest
if ($LASTEXITCODE -ne 0) { throw "the bundle's self-test failed" }
ISCC.exe /DVariant=$variant packaging\windows\scriptorium.iss
