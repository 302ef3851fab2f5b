#!/usr/bin/env bash
# demo.sh — the main job on local defaults: start the local stack, seed the demo data, train a model on
# 2019-10-01, run batch inference on the drifted 2019-11-01 data and print the retrain decision and the
# champion/challenger evaluation of the retrained model (both AUCs, version 2 Approved). The stack
# stays up afterwards so the runs can be inspected in the Temporal web UI; `make down` stops it. The stack's
# settings (MDLC_TEMPORAL=cluster for Temporal's server on PostgreSQL, MDLC_WORKERS, ports) are scripts/stack.sh's.
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL=${MDLC_DEMO_MODEL:-demo}
export TEMPORAL_ADDRESS=127.0.0.1:${MDLC_TEMPORAL_PORT:-7233}
export AWS_ENDPOINT_URL=http://127.0.0.1:${MDLC_LOCALAWS_PORT:-4570}
export MDLC_UI_ADDRESS=http://127.0.0.1:${MDLC_UI_PORT:-8233}

scripts/stack.sh up
echo
echo "== Seeding the demo dataset (2019-10-01 and the drifted 2019-11-01) into s3://mdlc-local"
.bin/starter seed
echo
echo "== Training $MODEL on 2019-10-01"
.bin/starter train --model "$MODEL" --data-date 2019-10-01 --wait
echo
echo "== Batch inference for $MODEL on 2019-11-01 (retrains when AUC < the worker's threshold, 0.8; the retrained"
echo "   model is promoted only if it scores the same holdout data at least as well as the current one)"
.bin/starter infer --model "$MODEL" --data-date 2019-11-01 --wait
echo
echo "Registered versions:"
.bin/starter models --model "$MODEL"
echo
echo "Open $MDLC_UI_ADDRESS to inspect the runs (filter: ModelName=\"$MODEL\"). Stop the stack with: make down"
