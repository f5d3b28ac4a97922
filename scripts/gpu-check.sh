#!/usr/bin/env bash
# GPU check of the OpenCL AshMaize backend, in one go (< 5 minutes): install what is missing, find the
# OpenCL driver, check every vector of tests/vectors/ashmaize.json bit-exact on the GPU (the 1 GiB ones
# too: ROMs are built by the CPU core, only the 16 MiB window goes to the GPU), then `scavenger bench
# --backend opencl` for a fixed time (plus a short work-group sweep and the GPU+CPU mode), and print a
# table: device, vectors ok, H/s, batch size. The extra runs (work-group sizes, kernel variants built with
# -DASHMAIZE_INLINE, NVIDIA register caps, GPU + CPU threads, CPU alone) are A/B data for tuning.
#
# Works on a machine with no network, no cargo and no pip index, from a checkout plus a carry folder
# `.gpu-carry/` (ignored through .git/info/exclude) prepared on a machine that has them:
#
#   echo /.gpu-carry/ >> .git/info/exclude
#   (cd rust && cargo build --release)                       # the abi3 module works on Python 3.11+
#   mkdir -p .gpu-carry/wheels && cp rust/target/release/libscavenger_core.so .gpu-carry/_core.abi3.so
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
#       --platform manylinux2014_x86_64 -d .gpu-carry/wheels \
#       pyopencl==2026.1.4 pytools==2026.1.1 platformdirs==4.14.9 siphash24==1.9
#
# (numpy, click and typing_extensions are expected on the target, as on the lent H200 image; add their
# wheels to .gpu-carry/wheels where they are not.) Then, on the GPU machine, from the checkout's root:
#
#   bash scripts/gpu-check.sh            # env: OPENCL_DEVICE=P:D to pick a device, GPU_CHECK_SECONDS=30
#
# Where pip can reach PyPI and the package is installed (pip install '.[gpu]'), no carry folder is needed.
set -uo pipefail
cd "$(dirname "$0")/.."
CARRY=.gpu-carry
SECONDS_MAIN=${GPU_CHECK_SECONDS:-30}
PY=${PYTHON:-python3}
SITE=/tmp/scavenger-gpu-site
LOG=$(mktemp -d /tmp/gpu-check.XXXXXX)
export PYTHONUNBUFFERED=1

say() { echo "gpu-check: $*"; }

# 1. Python packages: the carried wheels, else whatever is installed.
if [ -d "$CARRY/wheels" ] && ls "$CARRY"/wheels/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
        "$CARRY"/wheels/*.whl || { say "installing the carried wheels failed"; exit 1; }
    export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
# 2. The native core: the carried build replaces a missing or older one (it must have Rom.window).
if [ -f "$CARRY/_core.abi3.so" ]; then
    cp -f "$CARRY/_core.abi3.so" python/scavenger/_core.abi3.so
fi
export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}"
if ! "$PY" -c 'import scavenger._core as c; assert hasattr(c.Rom, "window")' 2>"$LOG/core.err"; then
    if command -v cargo >/dev/null; then
        say "building the native core with cargo"
        (cd rust && cargo build --release --quiet) && cp rust/target/release/libscavenger_core.so python/scavenger/_core.abi3.so
    else
        say "no usable native core (python/scavenger/_core.abi3.so; carry $CARRY/_core.abi3.so):"
        cat "$LOG/core.err"; exit 1
    fi
fi
"$PY" -c 'import pyopencl' 2>/dev/null || { say "pyopencl missing: carry its wheels in $CARRY/wheels"; exit 1; }

# 3. The OpenCL driver: pyopencl's wheel brings its own ICD loader, which reads /etc/OpenCL/vendors.
#    Containers often mount NVIDIA's library without registering it: then register it in a temp folder.
gpu_platforms() { "$PY" - <<'EOF' 2>/dev/null
import pyopencl as cl
n = 0
for p in cl.get_platforms():
    try:
        n += len(p.get_devices(cl.device_type.GPU))
    except cl.Error:
        pass
print(n)
EOF
}
if [ "$(gpu_platforms)" = "" ] || [ "$(gpu_platforms)" = "0" ]; then
    lib=""
    for dir in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib \
               /usr/local/cuda/lib64 /usr/local/cuda/compat; do
        found=$(ls "$dir"/libnvidia-opencl.so* 2>/dev/null | sort | head -n 1)
        if [ -n "$found" ]; then lib=$found; break; fi
    done
    [ -z "$lib" ] && lib=$(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so/ {print $NF; exit}')
    [ -z "$lib" ] && lib=$(find / -xdev -name 'libnvidia-opencl.so*' 2>/dev/null | head -n 1)
    if [ -n "$lib" ]; then
        mkdir -p "$LOG/vendors"
        echo "$lib" > "$LOG/vendors/nvidia.icd"
        export OCL_ICD_VENDORS="$LOG/vendors"
        export LD_LIBRARY_PATH="$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
        say "registered $lib through OCL_ICD_VENDORS=$OCL_ICD_VENDORS"
    else
        say "no libnvidia-opencl.so found; what there is:"
        ls /etc/OpenCL/vendors /usr/local/nvidia /usr/local/nvidia/lib64 2>&1 | head -n 40
        ldconfig -p 2>/dev/null | grep -Ei 'nvidia|libcuda|OpenCL' | head -n 20
    fi
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader
SCAV=("$PY" -c 'from scavenger.cli import main; main()')
"${SCAV[@]}" devices || { say "no OpenCL device"; exit 1; }

# 4. Vectors, every one, on the GPU.
timeout 150 "$PY" -m scavenger.core.opencl.check tests/vectors/ashmaize.json ${OPENCL_DEVICE:+--device "$OPENCL_DEVICE"} \
    2>&1 | tee "$LOG/check.txt"
vectors=$(grep -Eo '[0-9]+/[0-9]+ vectors bit-exact' "$LOG/check.txt" | cut -d' ' -f1)
vectors=${vectors:-failed}

# 5. Hash rate at the real parameters (1 GiB ROM), then a short work-group sweep and GPU + CPU threads.
bench() {  # label, seconds, extra args...
    local label=$1 secs=$2; shift 2
    timeout $((secs + 60)) "${SCAV[@]}" bench --seconds "$secs" "$@" 2>&1 | tee "$LOG/bench-$label.txt"
    local rate batch
    rate=$(grep -Eo '[0-9,.]+ H/s (on|with)' "$LOG/bench-$label.txt" | head -n 1 | cut -d' ' -f1)
    batch=$(grep -Eo 'batch [0-9,]+' "$LOG/bench-$label.txt" | head -n 1 | cut -d' ' -f2)
    printf '%s|%s|%s\n' "$label" "${rate:-failed}" "${batch:--}" >> "$LOG/rates.txt"
}
: > "$LOG/rates.txt"
bench "opencl wg64" "$SECONDS_MAIN" --backend opencl --work-group 64
# Optional runs, most telling first, each only while the whole script stays within its 5 minutes.
optional() { if [ "$SECONDS" -lt 220 ]; then bench "$@"; else say "skipped $1 (time)"; fi; }
for wg in 128 256; do optional "opencl wg$wg" 6 --backend opencl --work-group "$wg"; done
if [ "$SECONDS" -lt 220 ] && grep -qi nvidia "$LOG/check.txt"; then
    # Registers, local memory (spills) and stack per work-item, from NVIDIA's compiler.
    timeout 120 "$PY" - <<'EOF' 2>&1 | grep -Ei 'registers|lmem|spill|stack|error' | head -n 20
import os

import pyopencl as cl

from scavenger.core.opencl import kernel_source
from scavenger.core.opencl.devices import select_device
from scavenger.core.opencl.searcher import KERNEL_STD

info = select_device(os.environ.get("OPENCL_DEVICE"), gpu_only=True)
ctx = cl.Context([info.device])
prg = cl.Program(ctx, kernel_source()).build(options=[KERNEL_STD, "-cl-nv-verbose"])
print(prg.get_build_info(info.device, cl.program_build_info.LOG))
EOF
    optional "maxrreg255 wg64" 6 --backend opencl --work-group 64 --cl-option=-cl-nv-maxrregcount=255
    optional "maxrreg96 wg64" 6 --backend opencl --work-group 64 --cl-option=-cl-nv-maxrregcount=96
fi
optional "inline wg64" 6 --backend opencl --work-group 64 --cl-option=-DASHMAIZE_INLINE
optional "opencl+cpu wg64" 8 --backend opencl+cpu --work-group 64 --threads "$(nproc)" --only
optional "cpu $(nproc) threads" 4 --backend cpu --threads "$(nproc)" --only

device=$(grep -m1 -Eo 'check: device [^[]*' "$LOG/check.txt" | sed 's/check: device [0-9]*:[0-9]* *//')
echo
echo "==================== gpu-check summary ===================="
printf '%-22s %s\n' "device" "${device:-unknown}"
printf '%-22s %s\n' "vectors bit-exact" "$vectors"
printf '%-22s %14s %12s\n' "run" "H/s" "batch"
while IFS='|' read -r label rate batch; do printf '%-22s %14s %12s\n' "$label" "$rate" "$batch"; done < "$LOG/rates.txt"
echo "=========================================================== ($SECONDS s)"
case $vectors in
    */*) [ "${vectors%/*}" = "${vectors#*/}" ] || exit 1 ;;
    *) exit 1 ;;
esac
