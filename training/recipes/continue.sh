#!/usr/bin/env bash
# Second stage of the bundled model (models/README.md): the shipped XNOR model trained on for MIN more
# minutes on a (larger) generated dataset, at a lower peak learning rate, then packed for the engine
# and saved as the fine-tuning checkpoint. With NEW_INIT unset it starts from models/xnorcam-traffic.pt.
#
#   DATA=data RUNS=runs DEVICE=cuda MIN=7 bash training/recipes/continue.sh
#
# Writes RUNS/wide-cont/ (the trainer's run) and RUNS/wide-cont.xnor + RUNS/wide-cont.pt; copy those
# over models/xnorcam-traffic.{xnor,pt} once `xnorcam eval` says they are better. BF16=auto|on|off is the
# trainer's --bf16 (default off; auto = bfloat16 autocast on CPUs with AMX); BOX_LOSS=yolov3|ciou
# its --box-loss (default yolov3; stage 3 of the bundled model used ciou), EVAL_EVERY its --eval-every (500).
set -eu
cd "$(dirname "$0")/../.."
DATA=${DATA:-data} RUNS=${RUNS:-runs} DEVICE=${DEVICE:-cuda} PY=${PYTHON:-python3}
INIT=${NEW_INIT:-models/xnorcam-traffic.pt} MIN=${MIN:-7} BATCH=${BATCH:-256} LR=${LR:-0.0007}
out="$RUNS/wide-cont"
mkdir -p "$RUNS"
"$PY" -m training.train --data "$DATA/train" --val "$DATA/val" --device "$DEVICE" --batch "$BATCH" --eval-every "${EVAL_EVERY:-500}" \
  --ckpt-every 2000 --threads 2 --out "$out" --init "$INIT" --lr "$LR" --warmup 100 --time-limit "$MIN" --bf16 "${BF16:-off}" \
  --box-loss "${BOX_LOSS:-yolov3}"
node bin/xnorcam.js convert "$out/best.cfg" "$out/best.weights" --names "$out/classes.txt" -o "$RUNS/wide-cont.xnor"
"$PY" -m training.checkpoint --cfg "$out/best.cfg" --weights "$out/best.weights" --classes "$out/classes.txt" \
  -o "$RUNS/wide-cont.pt" --half
