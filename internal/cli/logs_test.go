package cli_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mdlc/mdlc/internal/cli"
	"github.com/mdlc/mdlc/workflows"
)

// xgboostEval matches XGBoost's per-round results in every form it prints them ("[3]\ttrain-logloss:0.5",
// "[12:00:00] [3]\tvalidation-logloss:0.5", SageMaker's "[3]#011train-logloss:0.5").
var xgboostEval = regexp.MustCompile(`\[\d+\](\t|#011)(train|validation)-[a-z]+:[0-9.]+`)

// TestLogsOfARun starts a training run and follows its job log with `starter logs --follow` until the run
// ends, then prints it again as JSON, one event a line, through localaws's CloudWatch Logs.
func TestLogsOfARun(t *testing.T) {
	s := testStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	start := runCLI(ctx, s, "train", "--model", "logsdemo", "--data-date", "2019-10-01")
	require.NoError(t, start.err, start.String())
	id := workflows.TrainingWorkflowID("logsdemo", "2019-10-01")

	followed := runCLI(ctx, s, "logs", id, "--follow")
	require.NoError(t, followed.err, followed.String())
	require.Regexp(t, `(?m)^==> Train Model: logsdemo-\S+ \(/aws/sagemaker/TrainingJobs logsdemo-\S+/algo-1-\d+\) <==$`, followed.stdout)
	evals := 0
	for _, l := range strings.Split(followed.stdout, "\n") {
		if xgboostEval.MatchString(l) {
			evals++
		}
	}
	require.Positive(t, evals, "no XGBoost evaluation line in:\n%s", followed.stdout)
	require.Equal(t, "Completed", statusJSON(t, s, id).Status, "--follow returned before the run ended")

	asJSON := runCLI(ctx, s, "logs", id, "--step", "Train Model", "-o", "json")
	require.NoError(t, asJSON.err, asJSON.String())
	jsonEvals := 0
	for _, l := range strings.Split(strings.TrimSpace(asJSON.stdout), "\n") {
		var ev struct{ Step, JobName, LogStream, Message string }
		require.NoError(t, json.Unmarshal([]byte(l), &ev), "line %q", l)
		require.Equal(t, "Train Model", ev.Step)
		require.True(t, strings.HasPrefix(ev.LogStream, ev.JobName+"/algo-1-"), "stream %q of job %q", ev.LogStream, ev.JobName)
		if xgboostEval.MatchString(ev.Message) {
			jsonEvals++
		}
	}
	require.Equal(t, evals, jsonEvals, "the JSON output has other evaluation lines than the followed one")

	none := runCLI(ctx, s, "logs", id, "--step", "Inference")
	require.Error(t, none.err)
	require.Contains(t, none.err.Error(), "has no SageMaker job in step Inference yet")
	bad := runCLI(ctx, s, "logs", id, "--step", "Monitor")
	require.Equal(t, cli.ExitUsage, bad.code, bad.String())
	require.Contains(t, bad.err.Error(), `--step "Monitor" has no job logs`)

	// --wait --logs: the jobs' lines inline, the retrain child's too, each set apart by a bar.
	noWait := runCLI(ctx, s, "infer", "--model", "logsdemo", "--data-date", "2019-11-01", "--logs")
	require.Equal(t, cli.ExitUsage, noWait.code, noWait.String())
	require.Contains(t, noWait.err.Error(), "--logs prints the job logs while the run is followed: add --wait")
	inline := runCLI(ctx, s, "infer", "--model", "logsdemo", "--data-date", "2019-11-01", "--threshold", "0.99", "--wait", "--logs")
	require.NoError(t, inline.err, inline.String())
	requireInOrder(t, inline.lines,
		`^\s+\+`+dur+`\s+Inference\s+started\s+logsdemo-`,
		`^\s+\| ==> Inference: logsdemo-\S+ \(/aws/sagemaker/TransformJobs logsdemo-\S+\) <==$`,
		`^\s+\+`+dur+`\s+Re-train Model\s+started`,
		`^\s+\| ==> Re-train Model > Train Model: logsdemo-\S+ \(/aws/sagemaker/TrainingJobs logsdemo-\S+/algo-1-\d+\) <==$`,
		`^\s+\| \d\d:\d\d:\d\d .*`+xgboostEval.String(),
		`^BatchInference Completed in`,
	)
}
