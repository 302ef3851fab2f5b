package parity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/demodata"
	"github.com/mdlc/mdlc/lambdas"
	"github.com/mdlc/mdlc/localaws"
	"github.com/mdlc/mdlc/workflows"
)

// This file runs both engines — the Temporal workflows (testsuite, real activities) and the emitted state
// machines (aws-local-stepfunctions through js/run.js) — against localaws, each in a world of its own seeded
// identically, and compares what they did.

const (
	parityBucket = "mdlc-parity"
	parityModel  = "parity-model"
	octDate      = "2019-10-01"
	novDate      = "2019-11-01"
)

// createOps are the SageMaker operations whose requests both engines must send identically.
var createOps = map[string]bool{
	"CreateTrainingJob": true, "CreateModel": true, "CreateTransformJob": true,
	"CreateModelPackageGroup": true, "CreateModelPackage": true, "UpdateModelPackage": true,
}

// request is one SageMaker create request received by localaws.
type request struct {
	Op   string
	Body any
}

// world is one localaws endpoint with the demo data, the Lambda functions and a request recorder.
type world struct {
	url    string
	inner  http.Handler
	s3     *s3.Client
	sm     *sagemaker.Client
	lambda *awslambda.Client

	mu           sync.Mutex
	requests     []request
	stopTraining bool // stop every training job right after it is created
	// scheduledStart, when set, is the TemporalScheduledStartTime search attribute a Temporal run starts
	// with, as the Temporal scheduler sets it on the runs of a schedule.
	scheduledStart time.Time
}

func (w *world) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, isSM := strings.CutPrefix(target, "SageMaker.")
	if !isSM || !createOps[op] {
		w.inner.ServeHTTP(rw, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var parsed any
	if err := json.Unmarshal(body, &parsed); err != nil {
		parsed = string(body)
	}
	w.mu.Lock()
	w.requests = append(w.requests, request{Op: op, Body: parsed})
	stop := w.stopTraining && op == "CreateTrainingJob"
	w.mu.Unlock()
	rec := httptest.NewRecorder()
	w.inner.ServeHTTP(rec, r)
	for k, v := range rec.Header() {
		rw.Header()[k] = v
	}
	rw.WriteHeader(rec.Code)
	_, _ = rw.Write(rec.Body.Bytes())
	if stop && rec.Code == http.StatusOK {
		name, _ := parsed.(map[string]any)["TrainingJobName"].(string)
		stopReq := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(fmt.Sprintf(`{"TrainingJobName":%q}`, name)))
		stopReq.Header = r.Header.Clone()
		stopReq.Host = r.Host // localaws answers only its own host names (httptest.NewRequest says example.com)
		stopReq.Header.Set("X-Amz-Target", "SageMaker.StopTrainingJob")
		stopRec := httptest.NewRecorder()
		w.inner.ServeHTTP(stopRec, stopReq)
		if stopRec.Code != http.StatusOK {
			panic(fmt.Sprintf("stop training job %q: %d %s", name, stopRec.Code, stopRec.Body))
		}
	}
}

func (w *world) created() []request {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]request(nil), w.requests...)
}

// newWorld starts a localaws with the demo data (smaller than the default, same drift) and the functions.
// A non-nil clock replaces localaws's.
func newWorld(t *testing.T, clock func() time.Time) *world {
	t.Helper()
	ctx := context.Background()
	srv, err := localaws.New(ctx, localaws.Options{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Clock: clock})
	if err != nil {
		t.Fatalf("start localaws: %v", err)
	}
	w := &world{inner: srv.Handler()}
	hs := httptest.NewServer(w)
	t.Cleanup(func() {
		hs.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("close localaws: %v", err)
		}
	})
	w.url = hs.URL
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	w.s3 = s3.New(s3.Options{Region: localaws.DefaultRegion, BaseEndpoint: aws.String(hs.URL), UsePathStyle: true, Credentials: creds})
	w.sm = sagemaker.New(sagemaker.Options{Region: localaws.DefaultRegion, BaseEndpoint: aws.String(hs.URL), Credentials: creds})
	w.lambda = awslambda.New(awslambda.Options{Region: localaws.DefaultRegion, BaseEndpoint: aws.String(hs.URL), Credentials: creds})
	data := demodata.DefaultConfig()
	data.Bucket, data.CreateBucket = parityBucket, true
	data.TrainRows, data.ValidationRows, data.HoldoutRows = 3000, 1000, 1000
	if err := demodata.Upload(ctx, w.s3, data, nil); err != nil {
		t.Fatalf("upload demo data: %v", err)
	}
	for name, h := range lambdas.Functions(w.s3) {
		if err := srv.RegisterFunction(name, h); err != nil {
			t.Fatalf("register function %s: %v", name, err)
		}
	}
	return w
}

func (w *world) put(t *testing.T, key, body string) {
	t.Helper()
	_, err := w.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(parityBucket), Key: aws.String(key), Body: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// parityConfig is the configuration both engines get: the defaults, fast polling, localaws's account.
func parityConfig() Config {
	return Config{
		Activities: activities.Config{
			Bucket: parityBucket, RoleArn: "arn:aws:iam::000000000000:role/mdlc-sagemaker",
			DefaultThreshold: activities.DefaultThreshold, PollInterval: 50 * time.Millisecond, HeartbeatInterval: 200 * time.Millisecond,
			// Nobody decides on a Pending version in the parity worlds: both engines wait this long.
			ApprovalTimeout: parityApprovalTimeout,
		},
		Region: localaws.DefaultRegion, AccountID: localaws.DefaultAccountID,
	}
}

// outcome is what one engine did in one run, in terms both engines share.
type outcome struct {
	Status    string // SUCCEEDED or FAILED
	ErrorType string
	Steps     []string // business steps entered, in order
	Decision  string
	AUC       float64
	Version   int    // the version of the model package that scored the data (batch inference)
	Retrained string // status of the retraining run, when there was one
	// Approval is how a training run's wait for a decision ended (workflows.ApprovalOutcome.Decision), when
	// it waited, and ApprovalStatus the version's status in its result (training) or its retrain's (batch
	// inference): Rejected when a champion won.
	Approval       string
	ApprovalStatus string
}

// parityApprovalTimeout is how long both engines wait for a decision nobody makes.
const parityApprovalTimeout = 2 * time.Second

// packageVersion is the version at the end of a model package ARN (…/<group>/<version>), 0 when none.
func packageVersion(arn string) int {
	n, _ := strconv.Atoi(arn[strings.LastIndex(arn, "/")+1:])
	return n
}

// temporalRun runs a workflow in the Temporal test environment with the real activities against w.
func temporalRun(t *testing.T, w *world, cfg Config, id string, wf string, input any) outcome {
	t.Helper()
	acts, err := activities.New(w.sm, w.lambda, cfg.Activities)
	if err != nil {
		t.Fatalf("activities: %v", err)
	}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.Training, workflow.RegisterOptions{Name: workflows.TrainingWorkflow})
	env.RegisterWorkflowWithOptions(workflows.BatchInference, workflow.RegisterOptions{Name: workflows.BatchInferenceWorkflow})
	env.RegisterActivity(acts)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
	if !w.scheduledStart.IsZero() {
		env.SetSearchAttributesOnStart(map[string]any{workflows.ScheduledStartTimeAttribute: w.scheduledStart})
	}
	env.SetTestTimeout(5 * time.Minute)
	// The deadlock detector fails a workflow task whose code runs over 1 s without yielding. With the race
	// detector on a machine whose CPUs are saturated, a run's first workflow task has been seen to take that
	// long: the machine, not the code, which workflowcheck and the replay tests check.
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: time.Minute})
	// A request given as JSON reaches the workflow as written (started by name, the payload is the raw JSON),
	// so that the workflow decodes it as it decodes a request from any client: strictly.
	if raw, isRaw := input.(json.RawMessage); isRaw {
		env.ExecuteWorkflow(wf, raw)
	} else if wf == workflows.TrainingWorkflow {
		env.ExecuteWorkflow(workflows.Training, input)
	} else {
		env.ExecuteWorkflow(workflows.BatchInference, input)
	}
	if !env.IsWorkflowCompleted() {
		t.Fatalf("temporal %s did not complete", wf)
	}
	var o outcome
	if werr := env.GetWorkflowError(); werr != nil {
		o.Status = "FAILED"
		var app *temporal.ApplicationError
		if errors.As(werr, &app) {
			o.ErrorType = app.Type()
		} else {
			o.ErrorType = werr.Error()
		}
		t.Logf("temporal %s failed: %v", id, werr)
	} else {
		o.Status = "SUCCEEDED"
		if wf == workflows.BatchInferenceWorkflow {
			var res workflows.BatchInferenceResult
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatalf("temporal result: %v", err)
			}
			o.Decision, o.AUC, o.Version = res.Decision, res.AUC, packageVersion(res.ModelPackageArn)
			if res.Retrain != nil {
				o.Retrained, o.ApprovalStatus = "SUCCEEDED", res.Retrain.ApprovalStatus
			}
		} else {
			var res workflows.TrainingResult
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatalf("temporal result: %v", err)
			}
			o.ApprovalStatus = res.ApprovalStatus
			if res.Approval != nil {
				o.Approval = res.Approval.Decision
			}
		}
	}
	v, err := env.QueryWorkflow(workflows.ProgressQuery)
	if err != nil {
		t.Fatalf("query progress: %v", err)
	}
	var p workflows.Progress
	if err := v.Get(&p); err != nil {
		t.Fatalf("decode progress: %v", err)
	}
	for _, s := range p.Steps {
		switch s.State {
		case workflows.StepRunning, workflows.StepCompleted, workflows.StepFailed, workflows.StepCanceled:
			o.Steps = append(o.Steps, s.Name)
		}
	}
	if o.Status == "FAILED" && slicesContains(o.Steps, workflows.StepRetrain) {
		o.Retrained = "FAILED"
	}
	return o
}

func slicesContains(s []string, v string) bool {
	for _, e := range s {
		if e == v {
			return true
		}
	}
	return false
}

// aslExecution is one execution as js/run.js reports it.
type aslExecution struct {
	StateMachineArn string
	ExecutionArn    string
	Status          string
	Output          json.RawMessage
	Error           string
	Cause           string
	States          []string
	Retries         int
}

// aslRun runs p's emitted state machine (or the one mutate makes of it) with aws-local-stepfunctions
// against w.
func aslRun(t *testing.T, w *world, cfg Config, p Pipeline, name string, input any, mutate func([]byte) ([]byte, bool)) []aslExecution {
	t.Helper()
	node := requireNode(t)
	defs := map[string]json.RawMessage{}
	mutated := false
	for _, q := range Pipelines() {
		var buf bytes.Buffer
		if err := Emit(&buf, q, cfg); err != nil {
			t.Fatalf("emit %s: %v", q, err)
		}
		def := buf.Bytes()
		if mutate != nil {
			var changed bool
			def, changed = mutate(def)
			mutated = mutated || changed
		}
		defs[cfg.WithDefaults().StateMachineARN(q)] = def
	}
	if mutate != nil && !mutated {
		t.Fatalf("the mutation changed neither definition")
	}
	req, err := json.Marshal(map[string]any{
		"endpoint": w.url, "region": cfg.Region, "definitions": defs, "stateMachineArn": cfg.WithDefaults().StateMachineARN(p),
		"executionName": name, "input": input, "pollMillis": 50,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(jsDir, "run.js"))
	cmd.Stdin = bytes.NewReader(req)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("run.js: %v\n%s", err, stderr.String())
	}
	var res struct{ Executions []aslExecution }
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || len(res.Executions) == 0 {
		t.Fatalf("run.js output %q: %v", stdout.String(), err)
	}
	return res.Executions
}

// aslOutcome turns the executions into an outcome: business steps from state names ("<step>" or
// "<step>: <part>"), error names mapped as the package documentation says.
func aslOutcome(t *testing.T, execs []aslExecution) outcome {
	t.Helper()
	top := execs[0]
	o := outcome{Status: top.Status}
	steps := map[string]bool{}
	for _, s := range []string{workflows.StepInitialize, workflows.StepTrainModel, workflows.StepCreateModel, workflows.StepEvaluate, workflows.StepPromote,
		workflows.StepRegister, workflows.StepWaitApproval, workflows.StepFindModel, workflows.StepInference, workflows.StepMonitor, workflows.StepDecide, workflows.StepRetrain} {
		steps[s] = true
	}
	for _, name := range top.States {
		step, _, _ := strings.Cut(name, ": ")
		if steps[step] && (len(o.Steps) == 0 || o.Steps[len(o.Steps)-1] != step) {
			o.Steps = append(o.Steps, step)
		}
	}
	if top.Status == "FAILED" {
		o.ErrorType = aslErrorType(top.Error, top.Cause)
		t.Logf("asl %s failed: %s: %s", top.ExecutionArn, top.Error, top.Cause)
	} else {
		var out struct {
			Decision        string
			AUC             float64
			ModelPackageArn string
			ApprovalStatus  string
			Approval        struct{ Decision string }
		}
		if err := json.Unmarshal(top.Output, &out); err != nil {
			t.Fatalf("asl output %s: %v", top.Output, err)
		}
		o.Decision, o.AUC, o.Approval = out.Decision, out.AUC, out.Approval.Decision
		if strings.Contains(top.StateMachineArn, ":stateMachine:"+DefaultTrainingStateMachine) {
			o.ApprovalStatus = out.ApprovalStatus
		}
		if out.Decision != "" {
			o.Version = packageVersion(out.ModelPackageArn)
		}
	}
	if len(execs) > 1 {
		o.Retrained = execs[1].Status
		if execs[1].Status == "SUCCEEDED" {
			var out struct{ ApprovalStatus string }
			if err := json.Unmarshal(execs[1].Output, &out); err != nil {
				t.Fatalf("asl retrain output %s: %v", execs[1].Output, err)
			}
			o.ApprovalStatus = out.ApprovalStatus
		}
	}
	return o
}

// aslErrorType maps a Step Functions error to the activities' error type: States.TaskFailed of a SageMaker
// job by the job's status, of a nested execution by the nested error; SageMaker.<code> to <code>.
func aslErrorType(name, cause string) string {
	if name == "States.TaskFailed" {
		var c struct{ TrainingJobStatus, TransformJobStatus, Error, Cause string }
		if json.Unmarshal([]byte(cause), &c) == nil {
			switch c.TrainingJobStatus + c.TransformJobStatus {
			case "Failed":
				return activities.ErrJobFailed
			case "Stopped":
				return activities.ErrJobStopped
			}
			if c.Error != "" {
				return aslErrorType(c.Error, c.Cause)
			}
		}
	}
	return strings.TrimPrefix(name, "SageMaker.")
}

// runIDPattern is the run ID the Initialize functions put in job names and output prefixes.
var runIDPattern = regexp.MustCompile(`\d{8}T\d{6}-[0-9a-f]{8}`)

// normalise replaces what differs by nature between engines and runs — run IDs in names and paths, the run
// key in tags and metadata — by placeholders numbered in order of appearance.
func normalise(reqs []request) []string {
	ids, keys := map[string]string{}, map[string]string{}
	var walk func(v any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case string:
			return runIDPattern.ReplaceAllStringFunc(v, func(id string) string {
				if _, ok := ids[id]; !ok {
					ids[id] = fmt.Sprintf("<run-id-%d>", len(ids)+1)
				}
				return ids[id]
			})
		case []any:
			for i := range v {
				v[i] = walk(v[i])
			}
			return v
		case map[string]any:
			key := func(k string) {
				if s, ok := v[k].(string); ok {
					if _, seen := keys[s]; !seen {
						keys[s] = fmt.Sprintf("<run-key-%d>", len(keys)+1)
					}
					v[k] = keys[s]
				}
			}
			// The SDKs fill idempotency tokens with random UUIDs (the Go SDK does; so does Step Functions').
			delete(v, "ClientToken")
			if v["Key"] == activities.RunTag {
				key("Value")
			}
			if _, ok := v[activities.MetaRunKey]; ok {
				key(activities.MetaRunKey)
			}
			names := make([]string, 0, len(v))
			for k := range v {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				v[k] = walk(v[k])
			}
			return v
		}
		return v
	}
	var out []string
	for _, r := range reqs {
		b, _ := json.Marshal(walk(r.Body))
		out = append(out, r.Op+" "+string(b))
	}
	return out
}
