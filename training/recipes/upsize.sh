#!/usr/bin/env bash
# Stage 4 of the bundled model (models/README.md): the 320x192 model moved to a larger input and trained on there,
# beside its float twin trained from scratch at that input for the same minutes (the card's XNOR / float ratio).
# Scenes are rendered on the training machine itself, SHARDS generators at once (image i depends only on the seed
# and i, so shards written with --start make the same dataset as one run).
#
#   RUNS=runs4 DEVICE=cuda MIN=6 bash training/recipes/upsize.sh
#
# Needs the repository built (npm ci) on the training machine. Writes DATA/{train,val,test}, RUNS/xnor and
# RUNS/float (the trainer's runs), RUNS/xnor.pt (float16 checkpoint, as shipped) and RUNS/xnor.xnor packed from it.
set -eu
cd "$(dirname "$0")/../.."
DATA=${DATA:-data-upsize} RUNS=${RUNS:-runs-upsize} DEVICE=${DEVICE:-cuda} PY=${PYTHON:-python3}
SIZE=${SIZE:-640x384} MIN_SIZE=${MIN_SIZE:-20} N=${N:-14000} SHARDS=${SHARDS:-15} MIN=${MIN:-6}
INIT=${NEW_INIT:-models/xnorcam-traffic-320.pt} BATCH=${BATCH:-256} EVAL_EVERY=${EVAL_EVERY:-250}

# --min-size 20 at 640x384 draws what the generator's default --min-size 10 draws at 320x192.
synth() { VIPS_CONCURRENCY=1 node bin/xnorcam.js synth dataset --size "$SIZE" --quality 60-95 --min-size "$MIN_SIZE" "$@" >/dev/null; }
per=$(( (N + SHARDS - 1) / SHARDS ))
pids=()
for i in $(seq 0 $((SHARDS - 1))); do
  s=$((i * per)); c=$(( N - s < per ? N - s : per ))
  if [ "$c" -gt 0 ]; then synth --out "$DATA/train" --seed 3100 --start "$s" --count "$c" & pids+=($!); fi
done
synth --out "$DATA/val" --seed 2000 --count 500 & pids+=($!)
synth --out "$DATA/test" --seed 9000 --count 500 & pids+=($!)
for p in "${pids[@]}"; do wait "$p"; done

mkdir -p "$RUNS"
common=(--data "$DATA/train" --val "$DATA/val" --device "$DEVICE" --batch "$BATCH" --eval-every "$EVAL_EVERY"
        --threads 4 --size "$SIZE" --time-limit "$MIN" --box-loss ciou)
"$PY" -m training.train "${common[@]}" --out "$RUNS/xnor" --init "$INIT" --lr 0.0007 --warmup 100 > "$RUNS/xnor.out" 2>&1 &
xnor=$!
"$PY" -m training.train "${common[@]}" --out "$RUNS/float" --float --cfg training/cfg/xnorcam-wide.cfg --lr 0.002 \
  > "$RUNS/float.out" 2>&1 &
float=$!
trap 'kill -INT $xnor $float 2>/dev/null; wait' INT TERM
wait "$xnor" "$float"

# Packed from the float16 checkpoint, so that the shipped .pt reproduces the shipped .xnor exactly.
"$PY" -m training.checkpoint --cfg "$RUNS/xnor/best.cfg" --weights "$RUNS/xnor/best.weights" \
  --classes "$RUNS/xnor/classes.txt" -o "$RUNS/xnor.pt" --half
"$PY" -m training.recalibrate --init "$RUNS/xnor.pt" --images 0 --out "$RUNS/xnor-half"
node bin/xnorcam.js convert "$RUNS/xnor-half/model.cfg" "$RUNS/xnor-half/model.weights" \
  --names "$RUNS/xnor-half/classes.txt" -o "$RUNS/xnor.xnor"
node bin/xnorcam.js eval --model "$RUNS/xnor.xnor" --data "$DATA/test"
node bin/xnorcam.js eval --cfg "$RUNS/float/best.cfg" --weights "$RUNS/float/best.weights" --data "$DATA/test"
