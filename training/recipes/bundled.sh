#!/usr/bin/env bash
# The recipe of the bundled model (models/README.md): for the slim (xnorcam-tiny) and the wide
# (xnorcam-wide) network, a float baseline and an XNOR model (float pre-training, then XNOR from it,
# the usual two-stage recipe for binary networks) trained side by side with the same time budget,
# so each XNOR model has a float twin trained with the same recipe and time.
#
#   DATA=data RUNS=runs DEVICE=cuda bash training/recipes/bundled.sh
#
# DATA holds train/ and val/ (xnorcam synth dataset, see models/README.md). Minutes are training
# wall time per stage (FLOAT_MIN for the float baseline = PRE_MIN + XNOR_MIN for the XNOR model).
# BF16=auto|on|off is the trainer's --bf16 (default off; auto = bfloat16 autocast on CPUs with AMX).
set -u
cd "$(dirname "$0")/../.."
DATA=${DATA:-data} RUNS=${RUNS:-runs} DEVICE=${DEVICE:-cuda} PY=${PYTHON:-python3}
PRE_MIN=${PRE_MIN:-2.5} XNOR_MIN=${XNOR_MIN:-4.5}
FLOAT_MIN=${FLOAT_MIN:-$(awk "BEGIN{print $PRE_MIN + $XNOR_MIN}")}
BATCH=${BATCH:-128} NETS=${NETS:-tiny wide} LR_FLOAT=${LR_FLOAT:-0.002} LR_XNOR=${LR_XNOR:-0.001} EVAL_EVERY=${EVAL_EVERY:-400}
mkdir -p "$RUNS"
common=(--data "$DATA/train" --val "$DATA/val" --device "$DEVICE" --batch "$BATCH" --eval-every "$EVAL_EVERY" --ckpt-every 2000 --threads 2 --bf16 "${BF16:-off}")
for net in $NETS; do
  cfg=training/cfg/xnorcam-$net.cfg
  "$PY" -m training.train "${common[@]}" --out "$RUNS/$net-float" --float --cfg "$cfg" --lr "$LR_FLOAT" \
    --time-limit "$FLOAT_MIN" > "$RUNS/$net-float.out" 2>&1 &
  ( "$PY" -m training.train "${common[@]}" --out "$RUNS/$net-pre" --float --cfg "$cfg" --lr "$LR_FLOAT" --time-limit "$PRE_MIN" &&
    "$PY" -m training.train "${common[@]}" --out "$RUNS/$net-xnor" --init "$RUNS/$net-pre/last.pt" --lr "$LR_XNOR" \
      --warmup 200 --time-limit "$XNOR_MIN" ) > "$RUNS/$net-xnor.out" 2>&1 &
done
trap 'kill -INT $(jobs -p) 2>/dev/null; wait' INT TERM
wait
