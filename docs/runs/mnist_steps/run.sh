#!/usr/bin/env bash
# The depth-3 paper grid at the paper's step count (issue 23, item 2), resumable.
#
#   bash docs/runs/mnist_steps/run.sh OUT [WORKERS]
#
# Stage 1 trains all 27 configurations x seeds 0,1,2 to epoch 301 (the epoch at which docs/mnist.md compares the
# grids) and copies every checkpoint to OUT/snapshots/301/. Stage 2 continues the 11 configurations of item 2 (every
# gamma_1 = 1 configuration and the diagonal) to epoch 1500 (the toolkit's old protocol: 600k steps) and snapshots
# them; stage 3 continues them to epoch 11250: 11250 x 400 = 4.5M SGD steps of batch 20 on the embedded 8,000
# digits, the authors' 1500 epochs x 3000 steps. Each run is `asymexp mnist ... --out OUT/runs/<key>`: it resumes
# from its last checkpoint (every 50 epochs), and a finished stage is skipped, so rerunning this script resumes.
# A run that stops (diverged: exit status 3) is named on stderr and the others go on. ASYMEXP (default: asymexp)
# and PYTHON (default: python) name the commands to use.
set -euo pipefail
OUT=${1:?usage: run.sh OUT [WORKERS]}
WORKERS=${2:-2}
ASYMEXP=${ASYMEXP:-asymexp}
PYTHON=${PYTHON:-python}
mkdir -p "$OUT/runs" "$OUT/logs"
V="1/2 7/10 1"
ALL=(); for a in $V; do for b in $V; do for c in $V; do ALL+=("$a,$b,$c"); done; done; done
# Item 2's configurations in the order they run: the diagonal, then the three that compare raising the outer gamma
# with raising the middle one at gamma_1 = 1 (from (1, 1/2, 1/2)), then the rest of gamma_1 = 1.
STEPS=("1,1,1" "1/2,1/2,1/2" "7/10,7/10,7/10" "1,1/2,1/2" "1,1/2,1" "1,1,1/2" "1,7/10,1" "1,1,7/10" "1,1/2,7/10"
       "1,7/10,1/2" "1,7/10,7/10")
# The price, before anything runs: epochs still to train over all runs, at the fused kernel's 0.055 s of one core
# per 8,000-digit epoch (docs/mnist.md, "Throughput"; about 0.06 s with the evaluations every 50 epochs).
left() {  # left EPOCHS CONFIG...: epochs still to train for these configurations' runs
  local epochs=$1; shift
  "$PYTHON" - "$OUT" "$epochs" "$@" <<'PY'
import sys
from asymexp.mnist.checkpoints import checkpoint_epoch
out, epochs, configs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
print(sum(max(epochs - checkpoint_epoch(f"{out}/runs/g={g.replace('/', '-')}+seed={s}/checkpoint.npz"), 0)
          for g in configs for s in (0, 1, 2)))
PY
}
epoch_of() {  # epoch_of KEY: the last finished epoch in that run's checkpoint (0 when none)
  "$PYTHON" -c "import sys; from asymexp.mnist.checkpoints import checkpoint_epoch; print(checkpoint_epoch(sys.argv[1]))" \
    "$OUT/runs/$1/checkpoint.npz"
}
key() { echo "g=${1//\//-}+seed=$2"; }
pending() {  # pending EPOCHS CONFIG...: "gammas seed" of every run not yet at EPOCHS, in order
  local epochs=$1; shift
  "$PYTHON" - "$OUT" "$epochs" "$@" <<'PY'
import sys
from asymexp.mnist.checkpoints import checkpoint_epoch
out, epochs, configs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
for g in configs:
    for s in (0, 1, 2):
        if checkpoint_epoch(f"{out}/runs/g={g.replace('/', '-')}+seed={s}/checkpoint.npz") < epochs:
            print(g, s)
PY
}
stage() {  # stage EPOCHS CONFIG...
  local epochs=$1; shift
  pending "$epochs" "$@" |
    xargs -r -P "$WORKERS" -L 1 bash -c '
      k="g=${0//\//-}+seed=$1"
      '"$ASYMEXP"' mnist --layers 3 --gammas "$0" --widths 100,100,100 --epochs '"$epochs"' --batch 20 \
        --preset paper-mnist --seed "$1" --threads 1 --eval-every 50 --checkpoint-every 50 --no-progress --json \
        --yes-long-run --out "'"$OUT"'/runs/$k" > "'"$OUT"'/logs/$k.'"$epochs"'.jsonl" ||
        echo "run.sh: $k stopped with exit status $? (3: diverged; see its log); the others go on" >&2' || true
  mkdir -p "$OUT/snapshots/$epochs"
  for g in "$@"; do for s in 0 1 2; do  # a snapshot only of a run that reached this stage's epoch
    k=$(key "$g" "$s")
    [ -e "$OUT/snapshots/$epochs/$k.npz" ] || [ "$(epoch_of "$k")" != "$epochs" ] ||
      cp "$OUT/runs/$k/checkpoint.npz" "$OUT/snapshots/$epochs/$k.npz"
  done; done
}
OTHERS=(); for g in "${ALL[@]}"; do [[ " ${STEPS[*]} " == *" $g "* ]] || OTHERS+=("$g"); done
E1=$(left 301 "${OTHERS[@]}"); E2=$(left 11250 "${STEPS[@]}")
awk -v e=$((E1 + E2)) -v w="$WORKERS" 'BEGIN { printf "to train: %d epochs of 400 steps, about %.1f core-hours at " \
  "0.06 s per epoch, %.1f h on %d workers; rerun this script to resume\n", e, e * 0.06 / 3600, e * 0.06 / 3600 / w, w }' >&2
stage 301 "${ALL[@]}"
stage 1500 "${STEPS[@]}"
stage 11250 "${STEPS[@]}"
