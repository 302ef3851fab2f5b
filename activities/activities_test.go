package activities

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

func testConfig() Config {
	return Config{
		Bucket: "mdlc-test", RoleArn: "arn:aws:iam::000000000000:role/mdlc",
		PollInterval: 10 * time.Millisecond, HeartbeatInterval: 10 * time.Millisecond, DefaultThreshold: 0.8,
	}
}

func newTestActivities(t *testing.T, sm *fakeSageMaker, lm *fakeLambda) *Activities {
	t.Helper()
	if lm == nil {
		lm = &fakeLambda{}
	}
	a, err := New(sm, lm, testConfig())
	require.NoError(t, err)
	return a
}

var plan = TrainingPlan{
	TrainingJobName: "m-20191001T000000-0123abcd",
	TrainingInput:   S3Location{S3Uri: "s3://mdlc-test/input-data/2019-10-01/train"},
	ValidationInput: S3Location{S3Uri: "s3://mdlc-test/input-data/2019-10-01/validation"},
	TrainingOutput:  S3Location{S3Uri: "s3://mdlc-test/model/2019-10-01/20191001T000000"},
}

// execute runs fn as an activity in the test environment and returns its error.
func execute[T any](t *testing.T, fn any, in any) (T, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(fn)
	var out T
	val, err := env.ExecuteActivity(fn, in)
	if err == nil {
		require.NoError(t, val.Get(&out))
	}
	return out, err
}

func requireAppError(t *testing.T, err error, typ string, nonRetryable bool) *temporal.ApplicationError {
	t.Helper()
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app, "error %v", err)
	require.Equal(t, typ, app.Type(), app.Error())
	require.Equal(t, nonRetryable, app.NonRetryable(), app.Error())
	return app
}

func TestTrainModelCreatesAndWaits(t *testing.T) {
	sm := newFakeSageMaker()
	sm.throttle = 2 // two throttled Describe calls are polled through
	a := newTestActivities(t, sm, nil)
	out, err := execute[TrainModelOutput](t, a.TrainModel, TrainModelInput{Plan: plan, RunKey: "wf/run1"})
	require.NoError(t, err)
	require.Equal(t, plan.TrainingJobName, out.TrainingJobName)
	require.Equal(t, "s3://b/model/"+plan.TrainingJobName+"/output/model.tar.gz", out.ModelArtifacts)
	require.InDelta(t, 0.25, out.FinalMetrics["validation:logloss"], 1e-6)
	require.Equal(t, 1, sm.creates)
	tags := sm.tags[sm.jobs[plan.TrainingJobName].arn]
	require.Len(t, tags, 1)
	require.Equal(t, RunTag, *tags[0].Key)
	require.Equal(t, "wf/run1", *tags[0].Value)
}

func TestTrainModelAttachesToItsOwnJob(t *testing.T) {
	sm := newFakeSageMaker()
	a := newTestActivities(t, sm, nil)
	require.NoError(t, sm.createJob("training-job", plan.TrainingJobName, runTags("wf/run1")))
	_, err := execute[TrainModelOutput](t, a.TrainModel, TrainModelInput{Plan: plan, RunKey: "wf/run1"})
	require.NoError(t, err)
	require.Equal(t, 1, sm.creates, "a retried attempt must not create a second job")
}

func TestTrainModelRefusesAnotherRunsJob(t *testing.T) {
	sm := newFakeSageMaker()
	a := newTestActivities(t, sm, nil)
	require.NoError(t, sm.createJob("training-job", plan.TrainingJobName, runTags("wf/other-run")))
	_, err := execute[TrainModelOutput](t, a.TrainModel, TrainModelInput{Plan: plan, RunKey: "wf/run1"})
	app := requireAppError(t, err, ErrJobNameConflict, true)
	require.Contains(t, app.Error(), "wf/other-run")
}

func TestJobEndStates(t *testing.T) {
	for _, tc := range []struct {
		end, wantType, wantText string
	}{
		{"Failed", ErrJobFailed, "AlgorithmError: bad data"},
		{"Stopped", ErrJobStopped, "ended Stopped"},
	} {
		t.Run(tc.end, func(t *testing.T) {
			sm := newFakeSageMaker()
			sm.endState, sm.failureReason = tc.end, "AlgorithmError: bad data"
			a := newTestActivities(t, sm, nil)
			_, err := execute[TrainModelOutput](t, a.TrainModel, TrainModelInput{Plan: plan, RunKey: "k"})
			app := requireAppError(t, err, tc.wantType, true)
			require.Contains(t, app.Error(), tc.wantText)

			_, err = execute[TransformOutput](t, a.BatchTransform, TransformInput{Plan: InferencePlan{InferenceJobName: "t-1"}, ModelName: "m", RunKey: "k"})
			app = requireAppError(t, err, tc.wantType, true)
			require.Contains(t, app.Error(), tc.wantText)
		})
	}
}

func TestAWSErrorClassification(t *testing.T) {
	for code, nonRetryable := range map[string]bool{
		"ValidationException": true, "ResourceNotFound": true, "AccessDeniedException": true, "ResourceLimitExceeded": true,
		"ThrottlingException": false, "InternalFailure": false, "ServiceUnavailable": false,
	} {
		err := awsError("create training job", apiErr(code, "message"))
		var app *temporal.ApplicationError
		require.Equal(t, nonRetryable, errors.As(err, &app), code)
		if nonRetryable {
			require.Equal(t, code, app.Type())
			require.True(t, app.NonRetryable())
		}
		require.Contains(t, err.Error(), "create training job")
	}
	require.NoError(t, awsError("x", nil))
}

func TestDescribeMissingJobFailsTheStep(t *testing.T) {
	sm := newFakeSageMaker()
	a := newTestActivities(t, sm, nil)
	vanish := func(ctx context.Context, in TrainModelInput) (TrainModelOutput, error) {
		sm.throttle = 0
		go func() {
			time.Sleep(20 * time.Millisecond)
			sm.mu.Lock()
			delete(sm.jobs, in.Plan.TrainingJobName)
			sm.mu.Unlock()
		}()
		return a.TrainModel(ctx, in)
	}
	sm.describesToEnd = 1 << 30
	_, err := execute[TrainModelOutput](t, vanish, TrainModelInput{Plan: plan, RunKey: "k"})
	requireAppError(t, err, "ValidationException", true)
}

// cancelled runs fn with a context cancelled the way Temporal cancels an activity whose workflow asked for it.
func cancelledActivity[I any, O any](fn func(context.Context, I) (O, error), after time.Duration) func(context.Context, I) (O, error) {
	return func(ctx context.Context, in I) (O, error) {
		cctx, cancel := context.WithCancelCause(ctx)
		time.AfterFunc(after, func() { cancel(temporal.NewCanceledError("workflow cancelled")) })
		return fn(cctx, in)
	}
}

func TestCancellationStopsTheJob(t *testing.T) {
	for _, kind := range []string{"training", "transform"} {
		t.Run(kind, func(t *testing.T) {
			sm := newFakeSageMaker()
			sm.describesToEnd = 1 << 30 // runs until stopped
			a := newTestActivities(t, sm, nil)
			var err error
			if kind == "training" {
				_, err = execute[TrainModelOutput](t, cancelledActivity(a.TrainModel, 50*time.Millisecond), TrainModelInput{Plan: plan, RunKey: "k"})
			} else {
				_, err = execute[TransformOutput](t, cancelledActivity(a.BatchTransform, 50*time.Millisecond), TransformInput{Plan: InferencePlan{InferenceJobName: "t-1"}, RunKey: "k"})
			}
			require.True(t, temporal.IsCanceledError(err), "got %v", err)
			require.Equal(t, 1, sm.stops)
			for _, j := range sm.jobs {
				require.Equal(t, "Stopped", j.status)
			}
		})
	}
}

func TestWorkerShutdownLeavesTheJobRunning(t *testing.T) {
	sm := newFakeSageMaker()
	sm.describesToEnd = 1 << 30
	a := newTestActivities(t, sm, nil)
	shutdown := func(ctx context.Context, in TrainModelInput) (TrainModelOutput, error) {
		cctx, cancel := context.WithCancelCause(ctx)
		time.AfterFunc(50*time.Millisecond, func() { cancel(errors.New("worker is now shutdown")) })
		return a.TrainModel(cctx, in)
	}
	_, err := execute[TrainModelOutput](t, shutdown, TrainModelInput{Plan: plan, RunKey: "k"})
	require.Error(t, err)
	require.Zero(t, sm.stops)
	require.Equal(t, "InProgress", sm.jobs[plan.TrainingJobName].status)
}

func TestLambdaErrorsKeepTheirType(t *testing.T) {
	for _, tc := range []struct {
		name         string
		answer       fakeAnswer
		wantType     string
		nonRetryable bool
	}{
		{"invalid input", fakeAnswer{payload: `{"errorMessage":"model name is empty","errorType":"InvalidInput"}`, functionError: "Unhandled"}, "InvalidInput", true},
		{"data not found", fakeAnswer{payload: `{"errorMessage":"no objects","errorType":"DataNotFound"}`, functionError: "Unhandled"}, "DataNotFound", true},
		{"s3 trouble retried", fakeAnswer{payload: `{"errorMessage":"slow down","errorType":"S3Error"}`, functionError: "Unhandled"}, "S3Error", false},
		{"garbled error", fakeAnswer{payload: `Task timed out`, functionError: "Unhandled"}, "Lambda.Unhandled", false},
		{"bad output", fakeAnswer{payload: `[1,2]`}, "InvalidFunctionOutput", true},
		{"empty output", fakeAnswer{payload: `{}`}, "InvalidFunctionOutput", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lm := &fakeLambda{answers: map[string]fakeAnswer{"initialize-training": tc.answer}}
			a := newTestActivities(t, newFakeSageMaker(), lm)
			_, err := execute[TrainingPlan](t, a.InitializeTraining, InitializeInput{ModelName: "m", DataDate: "2019-10-01"})
			requireAppError(t, err, tc.wantType, tc.nonRetryable)
		})
	}
	lm := &fakeLambda{answers: map[string]fakeAnswer{}}
	a := newTestActivities(t, newFakeSageMaker(), lm)
	_, err := execute[MonitorOutput](t, a.MonitorPerformance, MonitorInput{})
	requireAppError(t, err, "ResourceNotFoundException", true)
}

func TestInitializeEventAndOutput(t *testing.T) {
	out := `{"WorkflowRequest":{"ModelName":"m","DataDate":"2019-10-01"},"S3RootBucket":"mdlc-test","DataDate":"2019-10-01","RunDate":"2019-10-01T12:00:00Z",
	"TrainingConfig":{"TrainingJobName":"m-20191001T120000-0123abcd","TrainingInput":{"S3Key":"input-data/2019-10-01/train","S3Uri":"s3://mdlc-test/input-data/2019-10-01/train"},
	"ValidationInput":{"S3Key":"input-data/2019-10-01/validation","S3Uri":"s3://mdlc-test/input-data/2019-10-01/validation"},
	"TrainingOutput":{"S3Key":"model/2019-10-01/20191001T120000","S3Uri":"s3://mdlc-test/model/2019-10-01/20191001T120000"}}}`
	lm := &fakeLambda{answers: map[string]fakeAnswer{"initialize-training": {payload: out}}}
	a := newTestActivities(t, newFakeSageMaker(), lm)
	runTime := time.Date(2019, 10, 1, 12, 0, 0, 0, time.UTC)
	got, err := execute[TrainingPlan](t, a.InitializeTraining, InitializeInput{ModelName: "m", DataDate: "2019-10-01", IdempotencyKey: "wf/run", RunTime: runTime})
	require.NoError(t, err)
	require.Equal(t, "m-20191001T120000-0123abcd", got.TrainingJobName)
	require.Equal(t, "s3://mdlc-test/input-data/2019-10-01/validation", got.ValidationInput.S3Uri)
	var ev map[string]any
	require.NoError(t, json.Unmarshal(lm.events["initialize-training"], &ev))
	require.Equal(t, map[string]any{
		"WorkflowInput": map[string]any{"ModelName": "m", "DataDate": "2019-10-01"},
		"S3RootBucket":  "mdlc-test", "IdempotencyKey": "wf/run", "RunTime": "2019-10-01T12:00:00Z",
	}, ev)
}

func TestMonitorOutput(t *testing.T) {
	for payload, want := range map[string]any{
		`{"ModelPerformance":0.731}`: 0.731,
		`{"ModelPerformance":1.5}`:   "InvalidFunctionOutput",
		`{"Other":1}`:                "InvalidFunctionOutput",
	} {
		lm := &fakeLambda{answers: map[string]fakeAnswer{"monitor-performance": {payload: payload}}}
		a := newTestActivities(t, newFakeSageMaker(), lm)
		got, err := execute[MonitorOutput](t, a.MonitorPerformance, MonitorInput{PredictionS3Uri: "s3://b/p", TargetS3Uri: "s3://b/t"})
		if auc, ok := want.(float64); ok {
			require.NoError(t, err)
			require.Equal(t, auc, got.AUC)
		} else {
			requireAppError(t, err, want.(string), true)
		}
	}
}

func TestRegistry(t *testing.T) {
	sm := newFakeSageMaker()
	a := newTestActivities(t, sm, nil)

	_, err := execute[FindModelOutput](t, a.FindModel, FindModelInput{ModelName: "m"})
	requireAppError(t, err, ErrModelNotFound, true)

	reg := RegisterModelInput{Group: "m", SageMakerModelName: "m-1", ModelDataURL: "s3://b/1/model.tar.gz", TrainingJobName: "m-1", DataDate: "2019-10-01", ApprovalStatus: "Approved", RunKey: "k"}
	first, err := execute[RegisterModelOutput](t, a.RegisterModel, reg)
	require.NoError(t, err)
	require.Equal(t, int32(1), first.ModelPackageVersion)
	again, err := execute[RegisterModelOutput](t, a.RegisterModel, reg)
	require.NoError(t, err)
	require.Equal(t, first, again, "a retry returns the package it registered")
	require.Len(t, sm.packages, 1)

	pending := reg
	pending.SageMakerModelName, pending.TrainingJobName, pending.ApprovalStatus = "m-2", "m-2", "PendingManualApproval"
	second, err := execute[RegisterModelOutput](t, a.RegisterModel, pending)
	require.NoError(t, err)
	require.Equal(t, int32(2), second.ModelPackageVersion)

	got, err := execute[FindModelOutput](t, a.FindModel, FindModelInput{ModelName: "m"})
	require.NoError(t, err)
	require.Equal(t, "m-1", got.SageMakerModelName, "the newest Approved package wins, not the newest")
	require.Equal(t, "s3://b/1/model.tar.gz", got.ModelDataURL)
}

func TestCreateModelIsIdempotent(t *testing.T) {
	sm := newFakeSageMaker()
	a := newTestActivities(t, sm, nil)
	in := CreateModelInput{ModelName: "m-1", ModelDataURL: "s3://b/1/model.tar.gz", RunKey: "k"}
	first, err := execute[CreateModelOutput](t, a.CreateModel, in)
	require.NoError(t, err)
	again, err := execute[CreateModelOutput](t, a.CreateModel, in)
	require.NoError(t, err)
	require.Equal(t, first, again)
	in.ModelDataURL = "s3://b/other/model.tar.gz"
	_, err = execute[CreateModelOutput](t, a.CreateModel, in)
	requireAppError(t, err, ErrJobNameConflict, true)
}

func TestConfigValidation(t *testing.T) {
	base := testConfig()
	for name, mutate := range map[string]func(*Config){
		"bucket":    func(c *Config) { c.Bucket = "Bad_Bucket" },
		"role":      func(c *Config) { c.RoleArn = "mdlc-role" },
		"threshold": func(c *Config) { c.DefaultThreshold = 1.2 },
		"approval":  func(c *Config) { c.ApprovalStatus = "Rejected" },
		"jitter":    func(c *Config) { c.PollJitter = 1 },
		"num_round": func(c *Config) { c.Hyperparameters = map[string]string{"eta": "0.1"} },
		"runtime":   func(c *Config) { c.MaxRuntime = 29 * 24 * time.Hour },
	} {
		t.Run(name, func(t *testing.T) {
			c := base
			mutate(&c)
			_, err := New(newFakeSageMaker(), &fakeLambda{}, c)
			require.Error(t, err)
			require.True(t, strings.Contains(err.Error(), "invalid activities configuration"), err.Error())
		})
	}
	_, err := New(newFakeSageMaker(), &fakeLambda{}, base)
	require.NoError(t, err)
}

func TestPollSchedule(t *testing.T) {
	c := Config{PollInterval: 8 * time.Second, PollJitter: 0.2}
	mid := func() float64 { return 0.5 } // no jitter
	for n, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second} {
		require.Equal(t, want, c.poll(n, mid), "poll %d", n)
	}
	require.Equal(t, time.Duration(0.8*float64(8*time.Second)), c.poll(10, func() float64 { return 0 }))
	require.Equal(t, time.Duration(1.2*float64(8*time.Second)), c.poll(10, func() float64 { return 1 }))
}

// TestOversizedFunctionErrorIsCut: a function that echoes a huge value in its errorMessage must not make the
// activity failure exceed Temporal's size limit (which would terminate the run instead of failing it).
func TestOversizedFunctionErrorIsCut(t *testing.T) {
	huge := strings.Repeat("x", 5<<20)
	lm := &fakeLambda{answers: map[string]fakeAnswer{"initialize-training": {
		payload: `{"errorMessage":"WorkflowInput.ModelName \"` + huge + `\": bad","errorType":"InvalidInput"}`, functionError: "Unhandled",
	}}}
	a := newTestActivities(t, newFakeSageMaker(), lm)
	_, err := execute[TrainingPlan](t, a.InitializeTraining, InitializeInput{ModelName: "m", DataDate: "2019-10-01"})
	requireAppError(t, err, "InvalidInput", true)
	require.Less(t, len(err.Error()), 4096, "error of %d bytes", len(err.Error()))
	require.Contains(t, err.Error(), "WorkflowInput.ModelName")
	require.Contains(t, err.Error(), "bytes)")
}

// TestDefaultsRegistered: a run sets the search attributes its worker found registered; defaults recorded
// before Attributes existed say ModelName/DataDate and Decision with two flags, and an empty list (nothing
// registered) is not read as such a recording.
func TestDefaultsRegistered(t *testing.T) {
	for _, tc := range []struct {
		name string
		def  DefaultsOutput
		want map[string]bool
	}{
		{"listed", DefaultsOutput{Attributes: []string{"ModelName", "AUC"}}, map[string]bool{"ModelName": true, "AUC": true, "DataDate": false, "Decision": false}},
		{"none", DefaultsOutput{Attributes: []string{}, SearchAttributes: true}, map[string]bool{"ModelName": false, "Decision": false}},
		{"recorded with flags", DefaultsOutput{SearchAttributes: true}, map[string]bool{"ModelName": true, "DataDate": true, "Decision": false, "AUC": false}},
		{"recorded with Decision", DefaultsOutput{DecisionAttribute: true}, map[string]bool{"ModelName": false, "Decision": true}},
	} {
		for name, want := range tc.want {
			if got := tc.def.Registered(name); got != want {
				t.Errorf("%s: Registered(%q) = %v, want %v", tc.name, name, got, want)
			}
		}
	}
	// What a worker with nothing registered records must still read as "none", not as an old recording.
	acts, err := New(newFakeSageMaker(), &fakeLambda{}, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	def, err := acts.Defaults(context.Background(), DefaultsInput{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	var recorded DefaultsOutput
	if err := json.Unmarshal(data, &recorded); err != nil {
		t.Fatal(err)
	}
	if recorded.Attributes == nil {
		t.Errorf("defaults with no attribute registered are recorded as %s: replayed, they read as a run recorded before Attributes", data)
	}
}
