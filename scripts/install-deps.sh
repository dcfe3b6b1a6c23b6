#!/usr/bin/env bash
# Installs the Debian 12 packages fovea builds, tests and runs with. Idempotent: when every
# package is present it changes nothing and needs no network or root.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libegl-dev libgles-dev libegl-mesa0 libgl1-mesa-dri
  libglfw3-dev libglm-dev libimgui-dev libstb-dev
  libopencv-dev doctest-dev zlib1g-dev
  libxnnpack-dev libpthreadpool-dev libcpuinfo-dev libdnnl-dev
  libonnx-dev libprotobuf-dev python3-onnx python3-numpy
  xvfb xauth opencv-doc
  clang libclang-rt-14-dev
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "fovea: installing missing Debian packages: ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "fovea: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
