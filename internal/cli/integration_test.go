package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/require"

	"github.com/mdlc/mdlc/internal/cli"
	"github.com/mdlc/mdlc/internal/stack"
	"github.com/mdlc/mdlc/lambdas/contract"
	"github.com/mdlc/mdlc/workflows"
)

// The stack (dev server, localaws, worker as processes) is started once per test binary, on first use, and
// seeded with the demo data through the seed subcommand.
var (
	stackOnce sync.Once
	theStack  *stack.Stack
	stackErr  error
	stackDir  string
	// slowMarker, when it exists, makes training hang (see startStack) so that a run can be cancelled while
	// its training job runs.
	slowMarker string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if theStack != nil {
		theStack.Stop()
	}
	if stackDir != "" {
		os.RemoveAll(stackDir)
	}
	os.Exit(code)
}

// dur matches a duration as the starter prints it.
const dur = cli.DurationPattern

// testStack returns the shared stack, starting and seeding it the first time.
func testStack(t *testing.T) *stack.Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: starts the dev server, localaws and the worker")
	}
	stackOnce.Do(func() { theStack, stackErr = startStack() })
	require.NoError(t, stackErr)
	return theStack
}

func startStack() (*stack.Stack, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "mdlc-cli-test-")
	if err != nil {
		return nil, err
	}
	stackDir = dir
	xgb, err := exec.LookPath("xgboost")
	if err != nil {
		return nil, fmt.Errorf("xgboost not on PATH (apt-get install xgboost): %w", err)
	}
	// A wrapper around xgboost that sleeps instead of training while the marker exists: a training job that
	// runs until it is stopped.
	slowMarker = filepath.Join(dir, "slow")
	wrapper := filepath.Join(dir, "xgboost-wrapper")
	script := fmt.Sprintf("#!/bin/sh\nif [ -e %q ]; then exec sleep 600; fi\nexec %q \"$@\"\n", slowMarker, xgb)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		return nil, err
	}
	// A daily cap of two versions a model: TestPipelinesThroughTheCLI's third retrain of churn is suppressed.
	s, err := stack.Start(ctx, stack.Options{Dir: filepath.Join(dir, "stack"), LocalAWSArgs: []string{"--xgboost", wrapper},
		WorkerArgs: []string{"--max-retrains-per-day", "2"}})
	if err != nil {
		return nil, err
	}
	r := runCLI(ctx, s, "seed")
	if r.err != nil {
		s.Stop()
		return nil, fmt.Errorf("seed: %w\n%s", r.err, r.stderr)
	}
	if !strings.Contains(r.stdout, "Seeded 8 files for 2019-10-01, 2019-11-01 into s3://mdlc-local") {
		s.Stop()
		return nil, fmt.Errorf("seed printed %q", r.stdout)
	}
	return s, nil
}

// line is one line the CLI wrote, with when it was written.
type line struct {
	at   time.Time
	text string
}

// recorder is a thread-safe writer that remembers when each line was written.
type recorder struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	partial string
	lines   []line
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf.Write(p)
	text := r.partial + string(p)
	parts := strings.Split(text, "\n")
	for _, l := range parts[:len(parts)-1] {
		r.lines = append(r.lines, line{at: time.Now(), text: l})
	}
	r.partial = parts[len(parts)-1]
	return len(p), nil
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

// result is one run of the CLI.
type result struct {
	stdout, stderr string
	lines          []line
	err            error
	code           int
	returned       time.Time
}

// runCLI runs the starter in-process against s with args.
func runCLI(ctx context.Context, s *stack.Stack, args ...string) result {
	env := map[string]string{}
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return runWithEnv(ctx, env, args...)
}

func runWithEnv(ctx context.Context, env map[string]string, args ...string) result {
	var out, errOut recorder
	err := cli.Run(ctx, args, func(k string) string { return env[k] }, &out, &errOut)
	return result{stdout: out.String(), stderr: errOut.String(), lines: out.lines, err: err, code: cli.ExitCode(err), returned: time.Now()}
}

func (r result) String() string {
	return fmt.Sprintf("exit %d, err %v\n--- stdout\n%s--- stderr\n%s", r.code, r.err, r.stdout, r.stderr)
}

// requireInOrder checks that each pattern matches a line of lines, each after the previous one, and returns
// the matching lines.
func requireInOrder(t *testing.T, lines []line, patterns ...string) []line {
	t.Helper()
	var found []line
	i := 0
	for _, p := range patterns {
		re := regexp.MustCompile(p)
		for ; i < len(lines) && !re.MatchString(lines[i].text); i++ {
		}
		if i == len(lines) {
			var all []string
			for _, l := range lines {
				all = append(all, l.text)
			}
			t.Fatalf("no line matching %q after the previous patterns in:\n%s", p, strings.Join(all, "\n"))
		}
		found = append(found, lines[i])
		i++
	}
	return found
}

func sageMaker(s *stack.Stack) *sagemaker.Client {
	return sagemaker.New(sagemaker.Options{BaseEndpoint: aws.String(s.LocalAWS), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

func statusJSON(t *testing.T, s *stack.Stack, id string) cli.Summary {
	t.Helper()
	r := runCLI(context.Background(), s, "status", id, "--output", "json")
	var sum cli.Summary
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &sum), r.String())
	return sum
}

// TestPipelinesThroughTheCLI trains churn on 2019-10-01, then runs batch inference on the drifted 2019-11-01
// data with a threshold of 0.8, following both live; the retrain child is followed too and registers version 2.
func TestPipelinesThroughTheCLI(t *testing.T) {
	s := testStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	train := runCLI(ctx, s, "train", "--model", "churn", "--data-date", "2019-10-01", "--wait")
	require.NoError(t, train.err, train.String())
	t.Logf("starter train --wait:\n%s", train.stdout)
	trainID := workflows.TrainingWorkflowID("churn", "2019-10-01")
	require.Contains(t, train.stdout, "Started Training run")
	require.Contains(t, train.stdout, "workflow ID      "+trainID)
	require.Regexp(t, `web UI\s+http://127\.0\.0\.1:\d+/namespaces/default/workflows/training-churn-2019-10-01/[0-9a-f-]+/history`, train.stdout)
	steps := requireInOrder(t, train.lines,
		`^\s+\+`+dur+`\s+Initialize\s+started`,
		`^\s+\+`+dur+`\s+Initialize\s+completed\s+`+dur+`\s+training data s3://mdlc-local/input-data/2019-10-01/train`,
		`^\s+\+`+dur+`\s+Train Model\s+started\s+churn-\d{8}T\d{6}`,
		`^\s+\+`+dur+`\s+Train Model\s+completed\s+`+dur+`\s+artifacts s3://`,
		`^\s+\+`+dur+`\s+Create Model\s+started`,
		`^\s+\+`+dur+`\s+Register Model\s+completed .*version 1 \(Approved\)`,
		`^Training Completed in`,
		`^\s+model version\s+1 \(Approved\)$`,
		`^\s+metrics\s+.*validation:logloss=0\.\d{4}`,
	)
	sum := statusJSON(t, s, trainID)
	require.Equal(t, "Completed", sum.Status)
	require.NotNil(t, sum.CloseTime)
	require.True(t, steps[0].at.Before(*sum.CloseTime), "the first step line was printed at %v, before the run closed at %v (live)", steps[0].at, *sum.CloseTime)
	require.Equal(t, int32(1), sum.Training.ModelPackageVersion)
	require.Len(t, sum.Steps, 6)
	for _, st := range sum.Steps[3:5] { // the first version has no champion to be evaluated against
		require.Equal(t, workflows.StepSkipped, st.State, st.Name)
		require.Equal(t, "no champion", st.Detail)
	}
	require.Nil(t, sum.Training.Evaluation)

	infer := runCLI(ctx, s, "infer", "--model", "churn", "--data-date", "2019-11-01", "--threshold", "0.8", "--wait")
	require.NoError(t, infer.err, infer.String())
	t.Logf("starter infer --wait:\n%s", infer.stdout)
	inferID := workflows.BatchInferenceWorkflowID("churn", "2019-11-01")
	lines := requireInOrder(t, infer.lines,
		`^Started BatchInference run`,
		`Initialize\s+started`,
		`Find Model\s+completed .*version 1:`,
		`Inference\s+started\s+churn-`,
		`Inference\s+completed`,
		`Monitor Model Performance\s+completed .*AUC 0\.7\d{3}`,
		`Is Re-training Needed\?\s+completed .*< threshold 0\.8000 \(input\): retrain`,
		`Re-train Model\s+started\s+`+regexp.QuoteMeta(workflows.RetrainWorkflowID("churn")),
		`Re-train Model > Initialize\s+started`,
		`Re-train Model > Train Model\s+started\s+churn-`,
		`Re-train Model > Train Model\s+completed`,
		`Re-train Model > Evaluate Re-trained Model\s+completed .*challenger AUC 0\.\d{4}, champion AUC 0\.7\d{3} \(version 1\), margin 0$`,
		`Re-train Model > Is the New Model Better\?\s+completed\s+promoted: challenger AUC 0\.\d{4} >= champion AUC 0\.7\d{3} \(version 1\) \+ margin 0 on 2019-11-01$`,
		`Re-train Model > Register Model\s+completed .*version 2`,
		`Re-train Model\s+completed .*registered version 2`,
		`^BatchInference Completed in`,
		`^\s+AUC\s+0\.7\d{3}$`,
		`^\s+threshold\s+0\.8 \(input\)$`,
		`^\s+decision\s+Retrain \(AUC 0\.7\d{3} < threshold\)$`,
		`^\s+retrain run\s+retrain-churn \(run ID [0-9a-f-]+\)$`,
		`^\s+new version\s+2 \(Approved\)$`,
		`^\s+model package\s+arn:aws:sagemaker:.*/churn/2$`,
		// The retrain's evaluation against version 1: both AUCs, the margin and why it was promoted.
		`^\s+champion\s+version 1 \(churn-\d{8}T\d{6}-[0-9a-f]{8}\), AUC 0\.7\d{3}$`,
		`^\s+challenger AUC\s+0\.\d{4}$`,
		`^\s+margin\s+0$`,
		`^\s+promotion\s+promoted: challenger AUC`,
		`^\s+evidence\s+s3://mdlc-local/evaluation/2019-11-01/\S+/evaluation\.json$`,
	)
	isum := statusJSON(t, s, inferID)
	require.Equal(t, "Completed", isum.Status)
	require.True(t, lines[1].at.Before(*isum.CloseTime), "printed live")
	require.Equal(t, workflows.DecisionRetrain, isum.Inference.Decision)
	require.Equal(t, "input", isum.Inference.ThresholdSource)
	require.NotEmpty(t, isum.RetrainRunID)
	require.Contains(t, infer.stdout, isum.RetrainRunID)

	t.Run("status text", func(t *testing.T) {
		r := runCLI(ctx, s, "status", inferID)
		require.NoError(t, r.err, r.String())
		t.Logf("starter status:\n%s", r.stdout)
		require.Regexp(t, `(?m)^BatchInference Completed in`, r.stdout)
		require.Regexp(t, `(?m)^\s+Monitor Model Performance\s+completed\s+`+dur+`\s+AUC 0\.7`, r.stdout)
		require.Regexp(t, `(?m)^\s+Re-train Model\s+completed .*registered version 2 Approved: promoted: challenger AUC`, r.stdout)
		require.Regexp(t, `(?m)^\s+champion\s+version 1 \(churn-.*\), AUC 0\.\d{4}$`, r.stdout)
		require.Regexp(t, `(?m)^\s+challenger AUC\s+0\.\d{4}$`, r.stdout)
		require.Regexp(t, `(?m)^\s+margin\s+0$`, r.stdout)
		require.Regexp(t, `(?m)^\s+promotion\s+promoted: `, r.stdout)
	})

	t.Run("watch a closed run replays it", func(t *testing.T) {
		r := runCLI(ctx, s, "watch", trainID)
		require.NoError(t, r.err, r.String())
		requireInOrder(t, r.lines, `Initialize\s+started`, `Register Model\s+completed`, `^Training Completed`)
	})

	t.Run("json output parses", func(t *testing.T) {
		r := runCLI(ctx, s, "watch", inferID, "-o", "json")
		require.NoError(t, r.err, r.String())
		var got cli.Summary
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &got), r.String())
		require.Equal(t, inferID, got.WorkflowID)
		require.Equal(t, int32(2), got.Inference.Retrain.ModelPackageVersion)
		require.Contains(t, r.stderr, "Re-train Model > Train Model", "live lines go to stderr in json mode")
	})

	t.Run("models", func(t *testing.T) {
		r := runCLI(ctx, s, "models", "--model", "churn")
		require.NoError(t, r.err, r.String())
		requireInOrder(t, r.lines,
			`^VERSION\s+STATUS\s+CREATED\s+DATA DATE\s+AUC\s+CHAMPION AUC\s+TRAINING JOB\s+SAGEMAKER MODEL\s+DECIDED$`,
			`^1\s+Approved\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+2019-10-01\s+-\s+-\s+`+regexp.QuoteMeta(sum.Training.TrainingJobName)+`\s+`,
			// The retrained version: its AUC and its champion's on 2019-11-01, and why it was promoted.
			`^2\s+Approved\s+.*2019-11-01\s+0\.\d{4}\s+0\.\d{4}\s+`+regexp.QuoteMeta(isum.Inference.Retrain.TrainingJobName)+`\s+.*promoted: challenger AUC 0\.\d{4} >= champion AUC 0\.\d{4} \(version 1\)`,
		)
		r = runCLI(ctx, s, "models", "--model", "churn", "--output", "json")
		require.NoError(t, r.err, r.String())
		var versions []cli.ModelVersion
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &versions))
		require.Len(t, versions, 2)
		require.Equal(t, isum.Inference.Retrain.ModelPackageArn, versions[1].ModelPackageArn)
		require.Equal(t, contract.DecisionPromoted, versions[1].Decision)
		require.NotEmpty(t, versions[1].AUC)
		require.Empty(t, versions[0].Decision, "the first version had no champion")
	})

	// A person rejects the retrained version: batch inference goes back to version 1; approving it again
	// makes it live again. The decision is in the registry, where the AWS SDK reads it.
	t.Run("approve and reject", func(t *testing.T) {
		r := runCLI(ctx, s, "reject", "churn", "2")
		require.Error(t, r.err)
		require.Equal(t, 2, cli.ExitCode(r.err), r.String())
		require.Contains(t, r.stderr+r.err.Error(), "reject needs --reason")

		r = runCLI(ctx, s, "reject", "churn", "2", "--reason", "labels of 2019-11-01 were wrong", "--by", "alice")
		require.NoError(t, r.err, r.String())
		requireInOrder(t, r.lines,
			`^churn version 2: Approved → Rejected$`,
			`^\s+Rejected by alice at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: labels of 2019-11-01 were wrong$`,
			`^Batch inference scores with version 1, the newest Approved one\.$`)
		pkg, err := sageMaker(s).DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String(isum.Inference.Retrain.ModelPackageArn)})
		require.NoError(t, err)
		require.Equal(t, "Rejected", string(pkg.ModelApprovalStatus))
		require.Contains(t, aws.ToString(pkg.ApprovalDescription), "labels of 2019-11-01 were wrong")

		r = runCLI(ctx, s, "reject", "churn", "2", "--reason", "again")
		require.Error(t, r.err)
		require.Equal(t, 1, cli.ExitCode(r.err))
		require.Contains(t, r.err.Error(), "churn version 2 is already Rejected (Rejected by alice")
		r = runCLI(ctx, s, "approve", "churn", "9")
		require.Error(t, r.err)
		require.Contains(t, r.err.Error(), "model churn has no version 9 (it has 2)")

		scored := runCLI(ctx, s, "infer", "--model", "churn", "--data-date", "2019-10-01", "--threshold", "0", "--wait", "-o", "json")
		require.NoError(t, scored.err, scored.String())
		var got cli.Summary
		require.NoError(t, json.Unmarshal([]byte(scored.stdout), &got), scored.String())
		require.Equal(t, sum.Training.ModelPackageArn, got.Inference.ModelPackageArn, "the rejected version 2 is passed over")

		r = runCLI(ctx, s, "approve", "churn", "2", "--reason", "relabelled", "-o", "json")
		require.NoError(t, r.err, r.String())
		var d cli.Decided
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &d), r.String())
		require.Equal(t, cli.Decided{ModelName: "churn", Version: 2, ModelPackageArn: isum.Inference.Retrain.ModelPackageArn,
			From: "Rejected", To: "Approved", ApprovalDescription: d.ApprovalDescription, LiveVersion: 2}, d)
		require.Regexp(t, `^Approved by \S+ at .*: relabelled$`, d.ApprovalDescription)
		r = runCLI(ctx, s, "models", "--model", "churn")
		require.NoError(t, r.err, r.String())
		requireInOrder(t, r.lines, `^2\s+Approved\s+.*Approved by \S+ at \S+: relabelled$`)
	})

	t.Run("list by model", func(t *testing.T) {
		r := runCLI(ctx, s, "list", "--model", "churn")
		require.NoError(t, r.err, r.String())
		requireInOrder(t, r.lines,
			`^STATUS\s+WORKFLOW ID\s+TYPE\s+MODEL\s+DATA DATE\s+AUC\s+DECISION\s+VERSION\s+APPROVAL\s+TRIGGER\s+STARTED`,
			// The retrain: its new model's AUC on 2019-11-01, the version it registered, promoted.
			`^Completed\s+retrain-churn\s+Training\s+churn\s+2019-11-01\s+0\.\d{4}\s+-\s+2\s+Approved\s`,
			// The batch inference: the AUC it measured with version 1, and its decision.
			`^Completed\s+batch-inference-churn-2019-11-01\s+BatchInference\s+churn\s+2019-11-01\s+0\.\d{4}\s+Retrain\s+1\s+-\s`,
			`^Completed\s+training-churn-2019-10-01\s+Training\s+churn\s+2019-10-01\s+-\s+-\s+1\s+Approved\s`,
		)
		r = runCLI(ctx, s, "list", "--model", "churn", "--limit", "1", "-o", "json")
		require.NoError(t, r.err, r.String())
		var runs []cli.RunListing
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &runs))
		require.Len(t, runs, 1)
		r = runCLI(ctx, s, "list", "--model", "nothing-here")
		require.NoError(t, r.err, r.String())
		require.Empty(t, r.stdout)
		require.Contains(t, r.stderr, "no runs found")
	})

	t.Run("web UI filters by ModelName", func(t *testing.T) {
		u := "http://" + s.UIAddress + "/api/v1/namespaces/default/workflows?query=" + url.QueryEscape(`ModelName="churn"`)
		res, err := http.Get(u)
		require.NoError(t, err)
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode, string(body))
		var got struct {
			Executions []struct {
				Execution struct {
					WorkflowID string `json:"workflowId"`
				} `json:"execution"`
			} `json:"executions"`
		}
		require.NoError(t, json.Unmarshal(body, &got), string(body))
		var ids []string
		for _, e := range got.Executions {
			ids = append(ids, e.Execution.WorkflowID)
		}
		require.Contains(t, ids, trainID)
		require.Contains(t, ids, inferID)
	})

	// Last, as it starts a new run of inferID: churn has two versions today, the worker's cap.
	t.Run("a retrain past the daily cap is suppressed", func(t *testing.T) {
		r := runCLI(ctx, s, "infer", "--model", "churn", "--data-date", "2019-11-01", "--threshold", "1", "--wait")
		require.NoError(t, r.err, r.String())
		t.Logf("starter infer --wait:\n%s", r.stdout)
		requireInOrder(t, r.lines,
			`Is Re-training Needed\?\s+completed .*< threshold 1\.0000 \(input\): retrain needed but suppressed: 2 versions of churn were registered in the last 24h, the cap is 2 \(--max-retrains-per-day\)$`,
			`Re-train Model\s+skipped\s+suppressed \(cap\): 2 versions of churn`,
			`^BatchInference Completed in`,
			`^\s+decision\s+RetrainSuppressed \(AUC 0\.\d{4} < threshold\)$`,
			`^\s+suppressed\s+2 versions of churn were registered in the last 24h, the cap is 2 \(--max-retrains-per-day\)$`,
		)
		require.NotContains(t, r.stdout, "Re-train Model > ", "no retrain ran")
		// The Decision search attribute finds it (visibility catches up within moments).
		var listed []cli.RunListing
		for len(listed) == 0 && ctx.Err() == nil {
			l := runCLI(ctx, s, "list", "--model", "churn", "--decision", workflows.DecisionRetrainSuppressed, "-o", "json")
			require.NoError(t, l.err, l.String())
			require.NoError(t, json.Unmarshal([]byte(l.stdout), &listed), l.String())
			if len(listed) == 0 {
				time.Sleep(200 * time.Millisecond)
			}
		}
		require.Len(t, listed, 1)
		require.Equal(t, inferID, listed[0].WorkflowID)
	})
}

// TestStartTwiceAttaches: starting a request whose run is open attaches to it instead of starting another.
func TestStartTwiceAttaches(t *testing.T) {
	s := testStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	require.NoError(t, os.WriteFile(slowMarker, nil, 0o644)) // keeps the first run open until cancelled
	t.Cleanup(func() { os.Remove(slowMarker) })
	id := workflows.TrainingWorkflowID("twice", "2019-10-01")

	first := runCLI(ctx, s, "train", "--model", "twice", "--data-date", "2019-10-01", "-o", "json")
	require.NoError(t, first.err, first.String())
	second := runCLI(ctx, s, "train", "--model", "twice", "--data-date", "2019-10-01")
	require.NoError(t, second.err, second.String())
	var a cli.Started
	require.NoError(t, json.Unmarshal([]byte(first.stdout), &a), first.String())
	require.False(t, a.Attached)
	require.Equal(t, id, a.WorkflowID)
	require.Contains(t, second.stdout, "Attached to the Training run already in progress")
	require.Contains(t, second.stdout, a.RunID)

	// A request that asks for something the open run will not do is not "attached": it says so and fails.
	other := runCLI(ctx, s, "train", "--model", "twice", "--data-date", "2019-10-01", "--approval-status", "PendingManualApproval", "--wait")
	require.Equal(t, cli.ExitError, other.code, other.String())
	require.Contains(t, other.err.Error(), "ApprovalStatus is (the worker's default) there, you asked for PendingManualApproval")
	require.Contains(t, other.err.Error(), "starter cancel "+id)
	require.NotContains(t, other.stdout, "Attached")
	same := runCLI(ctx, s, "train", "--model", "twice", "--data-date", "2019-10-01", "--approval-status", "Approved")
	require.Equal(t, cli.ExitError, same.code, "an explicit value does not match the worker's default: %s", same.String())

	r := runCLI(ctx, s, "list", "--model", "twice", "-o", "json")
	require.NoError(t, r.err, r.String())
	var runs []cli.RunListing
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &runs))
	require.Len(t, runs, 1, "one run, not two")

	r = runCLI(ctx, s, "cancel", id)
	require.NoError(t, r.err, r.String())
	r = runCLI(ctx, s, "watch", id)
	require.Equal(t, cli.ExitRunFailed, r.code, r.String())
}

// TestCancelStopsTheTrainingJob: cancel during training ends the run Canceled and the training job Stopped.
func TestCancelStopsTheTrainingJob(t *testing.T) {
	s := testStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	require.NoError(t, os.WriteFile(slowMarker, nil, 0o644))
	t.Cleanup(func() { os.Remove(slowMarker) })
	id := workflows.TrainingWorkflowID("cancelme", "2019-10-01")

	r := runCLI(ctx, s, "train", "--model", "cancelme", "--data-date", "2019-10-01")
	require.NoError(t, r.err, r.String())

	// Wait until the training job runs, as status shows it from the activity's heartbeat.
	var job string
	require.Eventually(t, func() bool {
		sum := statusJSON(t, s, id)
		for _, j := range sum.Jobs {
			if j.Status == "InProgress" {
				job = j.JobName
				return true
			}
		}
		return false
	}, time.Minute, 500*time.Millisecond)
	r = runCLI(ctx, s, "status", id)
	require.NoError(t, r.err, r.String())
	require.Regexp(t, `(?m)^\s+Train Model\s+running\s+`+regexp.QuoteMeta(job)+` InProgress`, r.stdout)

	r = runCLI(ctx, s, "cancel", id)
	require.NoError(t, r.err, r.String())
	require.Contains(t, r.stdout, "Cancellation requested for "+id)

	r = runCLI(ctx, s, "watch", id)
	require.Error(t, r.err)
	require.Equal(t, cli.ExitRunFailed, r.code, r.String())
	require.Regexp(t, `(?m)Train Model\s+canceled`, r.stdout)
	require.Regexp(t, `(?m)^Training Canceled after`, r.stdout)
	require.Regexp(t, `(?m)^\s+failed step\s+Train Model$`, r.stdout)
	require.Contains(t, r.err.Error(), "canceled")

	out, err := sageMaker(s).DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String(job)})
	require.NoError(t, err)
	require.Equal(t, smtypes.TrainingJobStatusStopped, out.TrainingJobStatus)

	r = runCLI(ctx, s, "cancel", id)
	require.Error(t, r.err)
	require.Contains(t, r.err.Error(), "already ended (Canceled): nothing to cancel")
}

// TestFailedRun: a run that fails prints the failing step and the error, and exits 3.
func TestFailedRun(t *testing.T) {
	s := testStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := runCLI(ctx, s, "infer", "--model", "never-trained", "--data-date", "2019-11-01", "--wait")
	require.Equal(t, cli.ExitRunFailed, r.code, r.String())
	requireInOrder(t, r.lines,
		`Find Model\s+started`,
		`Find Model\s+failed .*no model package group|Find Model\s+failed .*unable to find model`,
		`^BatchInference Failed after`,
		`^\s+failed step\s+Find Model$`,
		`^\s+error\s+ModelNotFound: Find Model: `,
	)
	require.Contains(t, r.err.Error(), `BatchInference run batch-inference-never-trained-2019-11-01 failed at step "Find Model": ModelNotFound`)
}

// TestErrorsOnTheStack: what a user gets wrong against a running stack gets one sentence saying what to do.
func TestErrorsOnTheStack(t *testing.T) {
	s := testStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown workflow ID", []string{"status", "training-nope-2019-10-01"}, cli.ExitError, `no workflow run "training-nope-2019-10-01" in namespace "default": check the ID with ` + "`starter list`"},
		{"watch unknown ID", []string{"watch", "nope"}, cli.ExitError, `no workflow run "nope"`},
		{"cancel unknown ID", []string{"cancel", "nope"}, cli.ExitError, `no workflow run "nope"`},
		{"unknown model", []string{"models", "--model", "nope"}, cli.ExitError, `no model package group "nope": no version of that model was registered; train it first`},
		{"unknown namespace", []string{"list", "--namespace", "nope"}, cli.ExitError, `namespace "nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(ctx, s, tc.args...)
			require.Equal(t, tc.code, r.code, r.String())
			require.Contains(t, r.err.Error(), tc.want)
			require.NotContains(t, r.err.Error(), "\n")
			require.NotContains(t, r.stderr, "goroutine")
		})
	}
}

// TestServerWithoutSearchAttributes: against a server where ModelName is not registered, train and list say
// how to register it.
func TestServerWithoutSearchAttributes(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts a Temporal dev server")
	}
	bin := os.Getenv("MDLC_TEMPORAL_BIN")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("temporal"); err != nil {
			t.Fatal("no Temporal CLI: run `make deps` (it builds the pinned version) or set MDLC_TEMPORAL_BIN")
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", port, "--log-level", "error")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env := map[string]string{"TEMPORAL_ADDRESS": addr}
	require.Eventually(t, func() bool {
		return runWithEnv(ctx, env, "list").err == nil
	}, time.Minute, 200*time.Millisecond, "dev server did not come up")

	for _, args := range [][]string{
		{"train", "--model", "churn", "--data-date", "2019-10-01"},
		{"list", "--model", "churn"},
	} {
		r := runWithEnv(ctx, env, args...)
		t.Logf("%s: %v", args[0], r.err)
		require.Equal(t, cli.ExitError, r.code, r.String())
		require.Contains(t, r.err.Error(), "has no ModelName/DataDate search attribute", r.String())
		require.Contains(t, r.err.Error(), "temporal operator search-attribute create --name ModelName --type Keyword")
	}
}
