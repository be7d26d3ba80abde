#!/bin/bash
# make stress: fsx with 1,000,000 random operations on a sealbox mount,
# mirrored on a native directory, then the tree compared after a remount
# (tests/integration/t0310-fsx.sh with more operations; no time limit).
#
#   STRESS_OPS   number of operations (1000000)
#   STRESS_SEED  seed (random, printed: set it to repeat a failing run)
set -u
: "${SB_SRC:?SB_SRC must point at the source tree (run through make stress)}"
export FSX_OPS=${STRESS_OPS:-1000000}
export FSX_TIMEOUT=0
[ -n "${STRESS_SEED:-}" ] && export FSX_SEED=$STRESS_SEED
exec bash "$SB_SRC/tests/integration/t0310-fsx.sh"
