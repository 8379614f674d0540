#!/usr/bin/env bash
# Sourced by ensure-venv.sh and setup-vllm.sh with VENV set: one data rule for every entry point
# (harness_ext/tasks/data.py): --metadata data_dir, else $SPARKS_DATA_DIR, else the folder
# recorded in $VENV/sparks-data-dir, else the Hub. Set-up records the team's ../shared/data when
# it lies beside the clone, once: a record the user wrote is left alone.
RECORD="$VENV/sparks-data-dir"
if [ ! -e "$RECORD" ] && [ -d "$ROOT/../shared/data" ]; then
  (cd "$ROOT/../shared/data" && pwd) > "$RECORD"
  echo "sparks: problems will be read from $(cat "$RECORD") (recorded in $RECORD)" >&2
fi
