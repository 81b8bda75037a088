#!/usr/bin/env bash
# Training and the GPU checks for a session that is lent a GPU machine (the `device` tool: about
# 15 minutes of device time in all, start included; ../shared does not travel; everything that
# travels — tracked files, untracked files git does not ignore, carried paths — at most 64 MiB;
# at most 8 files of 16 MiB come back from $OUT).
#
#   here:   bash tools/device_train.sh stage [--mri]   # data into gpu_data/ (ignored); prints what travels
#   there:  run(command="bash tools/device_train.sh all 330", carry=["gpu_data"], timeout_s=570)
#   here:   for t in <files_at>/*.tar; do tar -xf "$t" -C runs/device; done
#           rmisr-eval ... --weights-dir runs/device/<job>/export, then python -m models.training.ship
#
# `train SECONDS` runs the jobs below at once on the one GPU, stops them gracefully after SECONDS
# (each saves its state and has exported its validations on the way) and packs each job into
# $OUT/<job>.tar: export/ (weights + manifest), <job>.safetensors (compact state, float16 for
# RMISR-VP) with its .log.csv, and the job's output. `check` runs the CUDA tests (tests/test_cuda.py)
# and the fp16/bf16 fidelity on Set5 into $OUT/checks.txt. `all SECONDS` is train, then check.
# DEVICE=cpu runs the same plan on this machine (a dry run of the script: a few steps).
#
# The jobs (docs/training-log.md says why each):
#   bl_x4      RMISR-BL x4 from its committed state (step 1,750), 64^2 patches, lr 2e-4 halved every
#              4,000 steps (counted from step 0, as rmisr-train does) after a 200-step ramp; the
#              exports are the weights' moving average (--ema 0.999: on a CPU a 1e-4 restart lost
#              more than 3,900 steps won back, and a mean of its last exports scored above each)
#   vp_x4_eq18 RMISR-VP x4 as the paper trains it: from the shipped file, nothing fixed, eq. 18
#              (L1 + 10 L1(Lap) + CX), lr 5e-5 after a 500-step ramp, every validation exported
#   bl_x4_mri  (stage --mri only) bl_x4 with the 112 MRI training slices added at MRI_WEIGHT (1)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=gpu_data
LIMIT=$((64 * 1024 * 1024))

travel_bytes() {  # what a device call sends: tracked + untracked-not-ignored files + $DATA
    { git ls-files -z; git ls-files -z --others --exclude-standard; } | du -cb --files0-from=- \
        | tail -1 | cut -f1 | { read -r t; echo $((t + $(du -sb "$DATA" 2>/dev/null | cut -f1 || echo 0))); }
}

stage() {
    rm -rf "$DATA" && mkdir -p "$DATA/train" "$DATA/benchmark"
    cp -r ../shared/data/train/T91 ../shared/data/train/BSD200 "$DATA/train/"
    cp -r ../shared/data/benchmark/Set5 "$DATA/benchmark/"
    if [ "${1:-}" = "--mri" ]; then
        cp -r ../shared/data/medical/mri_brain/train "$DATA/train/mri"
    fi
    grep -qx '/gpu_data/' .gitignore || echo '/gpu_data/' >> .gitignore
    local bytes; bytes=$(travel_bytes)
    echo "would travel: $((bytes / 1048576)) MiB of 64 (data: $(du -sh "$DATA" | cut -f1))"
    if [ "$bytes" -gt "$LIMIT" ]; then
        echo "over the device machine's 64 MiB: stage without --mri, or make weights/resume states references (resume_state --same-as)" >&2
        return 1
    fi
}

PY=python3
command -v "$PY" >/dev/null || PY=python

job() {  # job NAME EXPORT_FILE ARGS... — a background rmisr-train run into $WORK/NAME
    local name=$1 file=$2; shift 2
    mkdir -p "$WORK/$name"
    OMP_NUM_THREADS=2 PYTHONPATH=$PWD "$PY" -m models.training.train "$@" --val "$DATA/benchmark/Set5" \
        --iters 1000000 --batch 16 --device "$DEV" --precision auto --ckpt-minutes 2 \
        --out "$WORK/$name/run" --export "$file" --weights-dir "$WORK/$name/export" "${DRY[@]}" \
        > "$WORK/$name/$name.out" 2>&1 &
    PIDS+=($!)
}

train() {
    local seconds=${1:-330}
    : "${OUT:?run through the device tool (OUT is its output folder), or set OUT for a dry run}"
    DEV=${DEVICE:-cuda}
    WORK=$(mktemp -d)
    PIDS=()
    [ "$DEV" = cuda ] && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
    local skip='{"global_skip": "bicubic"}' every=1000
    DRY=()
    [ "$DEV" = cpu ] && every=2 && DRY=(--batch 2 --patch 24)  # a dry run: small steps
    job bl_x4 rmisr_bl_x4.safetensors --arch rmisr_bl --scale 4 --arch-args "$skip" \
        --data "$DATA/train/T91" "$DATA/train/BSD200" --resume-from weights/resume/rmisr_bl_x4.safetensors \
        --patch 64 --lr 2e-4 --lr-step 4000 --warmup 200 --val-every "$every" --ema 0.999
    job vp_x4_eq18 rmisr_vp_x4.safetensors --arch rmisr_vp --scale 4 --arch-args "$skip" \
        --data "$DATA/train/T91" "$DATA/train/BSD200" --init weights/rmisr_vp_x4.safetensors \
        --patch 48 --lr 5e-5 --lr-step 4000 --warmup 500 --val-every "$every" --export-latest
    if [ -d "$DATA/train/mri" ]; then
        job bl_x4_mri rmisr_bl_x4.safetensors --arch rmisr_bl --scale 4 --arch-args "$skip" \
            --data "$DATA/train/T91" "$DATA/train/BSD200" "$DATA/train/mri" \
            --data-weights 1 1 "${MRI_WEIGHT:-1}" \
            --resume-from weights/resume/rmisr_bl_x4.safetensors \
            --patch 64 --lr 2e-4 --lr-step 4000 --warmup 200 --val-every "$every" --ema 0.999
    fi
    sleep "$seconds"
    kill -TERM "${PIDS[@]}" 2>/dev/null || true  # each saves its state and exits
    wait "${PIDS[@]}" || true
    for dir in "$WORK"/*/; do
        local name; name=$(basename "$dir")
        local half=(); [[ $name == vp_* ]] && half=(--half)
        if [ -f "$dir/run/state.safetensors" ]; then
            PYTHONPATH=$PWD "$PY" -m models.training.resume_state "$dir/run/state.safetensors" \
                "$dir/$name.safetensors" "${half[@]}"
        fi
        tail -c 400 "$dir/$name.out"; echo
        rm -rf "$dir/run"
        tar -cf "$OUT/$name.tar" -C "$WORK" "$name"
    done
    ls -la "$OUT"
}

check() {
    : "${OUT:?set OUT}"
    local dev=${DEVICE:-cuda}
    {
        echo "== tests/test_cuda.py on $dev"
        RMISR_TEST_GPU=$dev "$PY" -m pytest -q -p no:cacheprovider tests/test_cuda.py 2>&1 | tail -15
        echo "== fidelity on $dev (Set5)"
        PYTHONPATH=$PWD "$PY" -m models.evaluation.fidelity --device "$dev" --data "$DATA" \
            --sets Set5 --precisions bf16 $([ "$dev" = cuda ] && echo fp16) 2>&1
    } > "$OUT/checks.txt" 2>&1 || true
    cat "$OUT/checks.txt"
}

all() {
    train "${1:-330}"
    check
}

"$@"
