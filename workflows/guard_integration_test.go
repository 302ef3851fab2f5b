package workflows_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/mdlc/mdlc/internal/demodata"
	"github.com/mdlc/mdlc/workflows"
)

// TestRetrainStormIsSuppressed runs the retrain guards against the real stack. A broken data feed makes every
// batch-inference run of a model want a retrain (threshold 1: any AUC is below it):
//   - with --retrain-cooldown 1h, a run right after the model's training is suppressed by the cooldown;
//   - with --max-retrains-per-day 2 (cooldown off), a storm of runs started at once retrains once: the
//     first to decide starts the model's retrain, the others find it running (or, when slower, find the
//     retrain registered and the cap reached); a run after the storm is suppressed by the cap.
//
// Each suppression is in the run's result, its progress, its Decision search attribute and the worker's
// mdlc_retrain_suppressed metric; SageMaker holds exactly one retraining.
func TestRetrainStormIsSuppressed(t *testing.T) {
	s, c, sm := startStack(t, demodata.DefaultConfig(), "--retrain-cooldown", "1h")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	const model, date = "storm", "2019-11-01"
	trainID := workflows.TrainingWorkflowID(model, "2019-10-01")
	run, err := c.ExecuteWorkflow(ctx, startOptions(trainID, model, "2019-10-01"),
		workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: model, DataDate: "2019-10-01"})
	require.NoError(t, err)
	require.NoError(t, run.Get(ctx, nil))

	always := 1.0
	infer := func(id string) client.WorkflowRun {
		t.Helper()
		r, err := c.ExecuteWorkflow(ctx, startOptions(id, model, date),
			workflows.BatchInferenceWorkflow, workflows.BatchInferenceInput{ModelName: model, DataDate: date, Threshold: &always})
		require.NoError(t, err)
		return r
	}
	result := func(r client.WorkflowRun) workflows.BatchInferenceResult {
		t.Helper()
		var res workflows.BatchInferenceResult
		require.NoError(t, r.Get(ctx, &res), "run %s", r.GetID())
		return res
	}

	// Cooldown: the model was registered seconds ago.
	cooled := infer("storm-cooldown")
	res := result(cooled)
	require.Equal(t, workflows.DecisionRetrainSuppressed, res.Decision)
	require.Equal(t, workflows.GuardCooldown, res.RetrainGuard)
	require.Regexp(t, `^retrain needed but suppressed: a version of storm was registered \S+ ago, within the retrain cooldown of 1h0m0s`, res.RetrainSuppressed)
	require.Nil(t, res.Retrain)
	p := progress(t, c, cooled.GetID())
	require.Equal(t, workflows.DecisionRetrainSuppressed, p.Decision)
	require.Equal(t, workflows.StepSkipped, stepNamed(p, workflows.StepRetrain).State)
	require.Equal(t, map[string]int{"cooldown": 1}, suppressedMetric(t, ctx, "http://"+s.MetricsAddresses[0]+"/metrics", model))
	recordHistory(t, c, "batch-inference-suppressed-cooldown", cooled.GetID(), cooled.GetRunID())

	// The storm, on a worker restarted with the cooldown off and a cap of 2 versions a day.
	require.NoError(t, s.KillWorker())
	s.SetWorkerArgs("--max-retrains-per-day", "2")
	require.NoError(t, s.StartWorker(ctx))
	const storm = 4
	var runs []client.WorkflowRun
	for i := range storm {
		runs = append(runs, infer(fmt.Sprintf("storm-%d", i)))
	}
	retrained, rules := 0, map[string]int{}
	var retrainRun client.WorkflowRun
	for _, r := range runs {
		res := result(r)
		switch res.Decision {
		case workflows.DecisionRetrain:
			retrained++
			retrainRun = r
			require.NotNil(t, res.Retrain)
			require.Equal(t, int32(2), res.Retrain.ModelPackageVersion)
			require.Equal(t, workflows.RetrainWorkflowID(model), res.RetrainWorkflowID)
		case workflows.DecisionRetrainSuppressed:
			rules[res.RetrainGuard]++
			if res.RetrainGuard == workflows.GuardRunning && rules[res.RetrainGuard] == 1 {
				recordHistory(t, c, "batch-inference-suppressed-running", r.GetID(), r.GetRunID())
			}
			require.Contains(t, []string{workflows.GuardRunning, workflows.GuardCap}, res.RetrainGuard, res.RetrainSuppressed)
			require.True(t, strings.HasPrefix(res.RetrainSuppressed, workflows.SuppressedPrefix), res.RetrainSuppressed)
			require.Nil(t, res.Retrain)
		default:
			t.Fatalf("run %s decided %q: every run of the storm needs a retrain", r.GetID(), res.Decision)
		}
	}
	t.Logf("storm of %d runs: %d retrain, suppressed by rule %v", storm, retrained, rules)
	require.Equal(t, 1, retrained, "one retrain for the whole storm")
	recordHistory(t, c, "batch-inference-guarded-retrain", retrainRun.GetID(), retrainRun.GetRunID())

	// After the storm: 2 versions today, the cap.
	capped := infer("storm-after")
	res = result(capped)
	require.Equal(t, workflows.DecisionRetrainSuppressed, res.Decision)
	require.Equal(t, workflows.GuardCap, res.RetrainGuard)
	require.Contains(t, res.RetrainSuppressed, "2 versions of storm were registered in the last 24h, the cap is 2")
	rules[workflows.GuardCap]++
	recordHistory(t, c, "batch-inference-suppressed-cap", capped.GetID(), capped.GetRunID())
	require.Equal(t, rules, suppressedMetric(t, ctx, "http://"+s.MetricsAddresses[0]+"/metrics", model))

	// One retrain run ever, one retraining in SageMaker: the training and the retrain.
	executions, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowId = %q", workflows.RetrainWorkflowID(model))})
	require.NoError(t, err)
	require.Len(t, executions.Executions, 1, "runs of the retrain workflow")
	jobs, err := sm.ListTrainingJobs(ctx, &sagemaker.ListTrainingJobsInput{NameContains: aws.String(model)})
	require.NoError(t, err)
	require.Len(t, jobs.TrainingJobSummaries, 2)
	pkgs, err := sm.ListModelPackages(ctx, &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String(model)})
	require.NoError(t, err)
	require.Len(t, pkgs.ModelPackageSummaryList, 2)

	// The Decision search attribute finds the suppressed runs (visibility catches up within moments).
	want := 1 + storm - 1 + 1
	query := fmt.Sprintf("ModelName = %q AND Decision = %q", model, workflows.DecisionRetrainSuppressed)
	var found int
	for found != want && ctx.Err() == nil {
		resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		require.NoError(t, err)
		if found = int(resp.GetCount()); found != want {
			time.Sleep(200 * time.Millisecond)
		}
	}
	require.Equal(t, want, found, "runs found by %s", query)
}

// progress queries a closed run's progress.
func progress(t *testing.T, c client.Client, id string) workflows.Progress {
	t.Helper()
	v, err := c.QueryWorkflow(context.Background(), id, "", workflows.ProgressQuery)
	require.NoError(t, err)
	var p workflows.Progress
	require.NoError(t, v.Get(&p))
	return p
}

func stepNamed(p workflows.Progress, name string) workflows.Step {
	for _, s := range p.Steps {
		if s.Name == name {
			return s
		}
	}
	return workflows.Step{}
}

var suppressedLine = regexp.MustCompile(`(?m)^` + workflows.RetrainSuppressedMetric + `\{([^}]*)\} (\d+)`)

// suppressedMetric scrapes the worker's Prometheus endpoint for the retrain suppressions of model, by rule.
func suppressedMetric(t *testing.T, ctx context.Context, url, model string) map[string]int {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	got := map[string]int{}
	for _, m := range suppressedLine.FindAllStringSubmatch(string(body), -1) {
		if !strings.Contains(m[1], `model="`+model+`"`) {
			continue
		}
		t.Logf("metric: %s", m[0])
		rule := regexp.MustCompile(`rule="([^"]*)"`).FindStringSubmatch(m[1])
		require.NotNil(t, rule, "metric without a rule label: %s", m[0])
		n, err := strconv.Atoi(m[2])
		require.NoError(t, err)
		got[rule[1]] += n
	}
	return got
}
