#!/usr/bin/env bash
# Training plan for a session that is lent a GPU machine (the `device` tool: ~15 min of device time,
# ../shared does not travel, 64 MiB of carried files).
#
#   here:   bash tools/device_train.sh stage            # copies T91, BSD200, Set5 into gpu_data/ (ignored)
#   there:  run(command="bash tools/device_train.sh train 420", carry=["gpu_data"], timeout_s=540)
#   here:   python -m models.training.ship <files_at>/export <file>   # after rmisr-eval of the exports
#
# `train SECONDS` runs every job below at once on the one GPU, each resumed from its committed compact
# state in weights/resume/ (or seeded as noted), stops them gracefully after SECONDS (each exports its
# best validation on the way) and leaves, under $OUT: export/ (weights + manifest), resume/ (compact
# float16 states + logs, ready to commit) and the jobs' output. Then it runs the CUDA tests once.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=gpu_data

stage() {
    mkdir -p "$DATA"
    for d in train/T91 train/BSD200 benchmark/Set5; do
        rm -rf "$DATA/$(basename "$d")" && cp -r "../shared/data/$d" "$DATA/"
    done
    grep -qx '/gpu_data/' .gitignore || echo '/gpu_data/' >> .gitignore
    du -sh "$DATA"
}

job() {  # job NAME ARGS... — background training run writing into $OUT/runs/NAME
    local name=$1; shift
    local resume=()
    [ -f "weights/resume/$name.safetensors" ] && resume=(--resume-from "weights/resume/$name.safetensors")
    python -m models.training.train "$@" --data "$DATA/T91" "$DATA/BSD200" --val "$DATA/Set5" \
        --iters 1000000 --val-every 500 --batch 16 --bf16 --device cuda \
        --out "$OUT/runs/$name" --export "$name.safetensors" --weights-dir "$OUT/export" \
        --ckpt-minutes 2 "${resume[@]}" > "$OUT/$name.out" 2>&1 &
}

train() {
    local seconds=${1:-420}
    : "${OUT:?run through the device tool (OUT is its output folder)}"
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
    pip install -q -e . 2>&1 | tail -1 || true
    job rmisr_vp_x4 --arch rmisr_vp --scale 4 --patch 48 --lr 1e-4 --lr-step 2500 \
        --init weights/rmisr_bl_x4.safetensors --freeze-steps 100000 --export-latest
    job rmisr_vp_meta --arch rmisr_vp --upsampler meta \
        --scale-range 1.1 5 --val-scales 2.5 4 --patch 48 --lr 1e-4 --lr-step 3000 \
        --init weights/rmisr_bl_meta.safetensors --freeze-steps 100000 --export-latest
    job rmisr_bl_x4 --arch rmisr_bl --scale 4 --patch 48 --lr 2.5e-4 --lr-step 6000
    job srcnn --arch srcnn --scale-range 1.1 5 --patch 32 --lr 5e-4 --init weights/srcnn.safetensors
    sleep "$seconds"
    pkill -TERM -f "models.training.train" || true
    wait || true
    mkdir -p "$OUT/resume"
    for run in "$OUT"/runs/*/; do
        name=$(basename "$run")
        [ -f "$run/state.safetensors" ] && python -m models.training.resume_state "$run/state.safetensors" \
            "$OUT/resume/$name.safetensors" --half
    done
    rm -rf "$OUT/runs"
    tail -c 300 "$OUT"/*.out
    python -m pytest -q -x -m "not slow" 2>&1 | tail -3
}

"$@"
