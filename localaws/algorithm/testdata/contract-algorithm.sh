#!/bin/sh
# A tiny algorithm that obeys the training-container contract of algorithm.Command, for tests.
# train: fails when hyperparameters.json mentions "fail"; exits 3 without a failure file on "crash"; sleeps (in a child process, writing its pid to
# $SM_ROOT/sleeper.pid) when it mentions "sleep"; otherwise counts the training records into its model
# file and reports that count as the metric train:records.
# predict MODEL_DIR INPUT OUTPUT: writes the model's record count once per input line.
set -eu
case "${1:-}" in
train)
	hp="$SM_ROOT/input/config/hyperparameters.json"
	if grep -q fail "$hp"; then
		echo "ClientError: told to fail" > "$SM_ROOT/output/failure"
		echo "failing as asked" >&2
		exit 1
	fi
	if grep -q crash "$hp"; then
		echo "boom" >&2
		exit 3
	fi
	if grep -q sleep "$hp"; then
		sleep 300 &
		echo $! > "$SM_ROOT/sleeper.pid"
		wait
	fi
	n=$(cat "$SM_CHANNEL_TRAIN"/* | wc -l)
	echo "$n" > "$SM_MODEL_DIR/model.txt"
	echo "{\"train:records\": $n}" > "$SM_ROOT/output/metrics.json"
	echo "trained on $n records"
	;;
predict)
	n=$(cat "$2/model.txt")
	sed "s/.*/$n/" "$3" > "$4"
	;;
*)
	echo "usage: $0 train | predict MODEL_DIR INPUT OUTPUT" >&2
	exit 2
	;;
esac
