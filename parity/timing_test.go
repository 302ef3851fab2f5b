package parity

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/lambdas/contract"
	"github.com/mdlc/mdlc/workflows"
)

// activityStates are the Task states that do what each activity does (a registry activity makes several
// calls, each a state of its own). Every Task state but Re-train Model, the child workflow, is listed.
var activityStates = map[Pipeline]map[string][]string{
	TrainingPipeline: {
		"InitializeTraining": {workflows.StepInitialize},
		"TrainModel":         {workflows.StepTrainModel},
		"CreateModel":        {workflows.StepCreateModel},
		"BatchTransform":     {workflows.StepEvaluate},
		"MonitorPerformance": {StateEvaluateMonitor},
		"RegisterModel":      {workflows.StepRegister, StateCreateGroup, StateCreatePackage, StateCreateEvaluated, StateDescribeApproval},
	},
	BatchInferencePipeline: {
		"InitializeInference": {workflows.StepInitialize},
		"FindModel":           {workflows.StepFindModel, StateListMore, StateDescribePackage},
		"BatchTransform":      {workflows.StepInference},
		"MonitorPerformance":  {workflows.StepMonitor},
		"CheckRetrainGuard":   {StateCooldownVersions, StateDayVersions},
	},
}

// optionsRecorder is a worker interceptor that records the timing each activity (or local activity) is
// scheduled with.
type optionsRecorder struct {
	interceptor.WorkerInterceptorBase
	seen map[string]workflows.Timing
}

// InterceptWorkflow wraps the workflow's outbound calls.
func (r *optionsRecorder) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &recordingInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, r: r}
}

type recordingInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	r *optionsRecorder
}

// Init hands the workflow a recording outbound interceptor.
func (i *recordingInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&recordingOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}, r: i.r})
}

type recordingOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	r *optionsRecorder
}

// ExecuteActivity records the options in ctx.
func (o *recordingOutbound) ExecuteActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	opts := workflow.GetActivityOptions(ctx)
	o.r.seen[activityType] = workflows.Timing{StartToCloseTimeout: opts.StartToCloseTimeout, RetryPolicy: opts.RetryPolicy}
	return o.Next.ExecuteActivity(ctx, activityType, args...)
}

// ExecuteLocalActivity records the local activity options in ctx.
func (o *recordingOutbound) ExecuteLocalActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	opts := workflow.GetLocalActivityOptions(ctx)
	o.r.seen[activityType] = workflows.Timing{StartToCloseTimeout: opts.StartToCloseTimeout, RetryPolicy: opts.RetryPolicy}
	return o.Next.ExecuteLocalActivity(ctx, activityType, args...)
}

// observedOptions runs the workflow of p on the test environment, every activity mocked, and returns the
// timing each activity was scheduled with: what the workflow really uses, whatever options.go calls them.
func observedOptions(t *testing.T, p Pipeline) map[string]workflows.Timing {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	rec := &optionsRecorder{seen: map[string]workflows.Timing{}}
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{rec}})
	env.RegisterWorkflowWithOptions(workflows.Training, workflow.RegisterOptions{Name: workflows.TrainingWorkflow})
	env.RegisterWorkflowWithOptions(workflows.BatchInference, workflow.RegisterOptions{Name: workflows.BatchInferenceWorkflow})
	var a *activities.Activities
	env.RegisterActivity(a)
	loc := activities.S3Location{S3Uri: "s3://b/k"}
	env.OnActivity(a.Defaults, mock.Anything, mock.Anything).Return(activities.DefaultsOutput{Threshold: 0.8, ApprovalStatus: "Approved"}, nil)
	env.OnActivity(a.InitializeTraining, mock.Anything, mock.Anything).Return(activities.TrainingPlan{
		TrainingJobName: "m-1", TrainingInput: loc, ValidationInput: loc, TrainingOutput: loc}, nil)
	env.OnActivity(a.TrainModel, mock.Anything, mock.Anything).Return(activities.TrainModelOutput{TrainingJobName: "m-1", ModelArtifacts: "s3://b/m"}, nil)
	env.OnActivity(a.CreateModel, mock.Anything, mock.Anything).Return(activities.CreateModelOutput{ModelName: "m-1"}, nil)
	env.OnActivity(a.RegisterModel, mock.Anything, mock.Anything).Return(activities.RegisterModelOutput{ModelPackageArn: "p", ApprovalStatus: "Approved"}, nil)
	env.OnActivity(a.InitializeInference, mock.Anything, mock.Anything).Return(activities.InferencePlan{
		InferenceJobName: "m-2", InferenceInput: loc, InferenceOutput: loc, TargetS3Uri: "s3://b/t", PredictionS3Uri: "s3://b/p"}, nil)
	env.OnActivity(a.FindModel, mock.Anything, mock.Anything).Return(activities.FindModelOutput{ModelPackageArn: "p", ModelPackageVersion: 1, SageMakerModelName: "m-1"}, nil)
	env.OnActivity(a.BatchTransform, mock.Anything, mock.Anything).Return(activities.TransformOutput{TransformJobName: "m-2"}, nil)
	// An AUC below the threshold: the run consults the retrain guard and retrains; a training run with a
	// champion evaluates its model.
	env.OnActivity(a.MonitorPerformance, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.MonitorInput) (activities.MonitorOutput, error) {
		out := activities.MonitorOutput{AUC: 0.5}
		if in.Evaluation != nil {
			e := contract.Evaluate(out.AUC, *in.Evaluation)
			out.Evaluation = &e
		}
		return out, nil
	})
	env.OnActivity(a.CheckRetrainGuard, mock.Anything, mock.Anything).Return(activities.RetrainGuardOutput{}, nil)
	if p == TrainingPipeline {
		env.ExecuteWorkflow(workflows.Training, workflows.TrainingInput{ModelName: "m", DataDate: "2019-10-01",
			Champion: &contract.Champion{ModelPackageArn: "p", ModelPackageVersion: 1, SageMakerModelName: "m-1", AUC: 0.6}})
	} else {
		env.ExecuteWorkflow(workflows.BatchInference, workflows.BatchInferenceInput{ModelName: "m", DataDate: "2019-10-01"})
	}
	if err := env.GetWorkflowError(); err != nil || !env.IsWorkflowCompleted() {
		t.Fatalf("%s workflow with every activity mocked: completed %v, error %v", p, env.IsWorkflowCompleted(), err)
	}
	return rec.seen
}

// TestTasksTimeAndRetryAsActivities: each Task state times out and retries as the activity it stands for
// does in the workflow — the same timeout per attempt, the same backoff and the same number of attempts.
// The options are taken from the running workflow, not from options.go, so a step that changes its
// options, or a state built with the wrong kind of timing, fails here.
func TestTasksTimeAndRetryAsActivities(t *testing.T) {
	for _, p := range Pipelines() {
		t.Run(string(p), func(t *testing.T) {
			cfg := goldenConfig()
			if p == BatchInferencePipeline {
				cfg = guardedConfig() // with the guard's Task states
			}
			m, err := Build(p, cfg)
			if err != nil {
				t.Fatal(err)
			}
			seen := observedOptions(t, p)
			covered := map[string]bool{}
			for name, states := range activityStates[p] {
				info, ok := seen[name]
				if !ok {
					t.Errorf("the workflow did not run activity %s", name)
					continue
				}
				for _, state := range states {
					covered[state] = true
					s, ok := m.States.Lookup(state)
					task, isTask := s.(*Task)
					if !ok || !isTask {
						t.Errorf("no Task state %q", state)
						continue
					}
					if err := sameTiming(task, info); err != nil {
						t.Errorf("%q (activity %s): %v", state, name, err)
					}
				}
			}
			// Re-train Model is a child workflow; Wait for Approval is timed by the approval timeout, as the
			// workflow's timer (TestWaitForApprovalShape), not by its activity's options.
			for _, s := range m.States {
				if _, ok := s.State.(*Task); ok && !covered[s.Name] && s.Name != workflows.StepRetrain && s.Name != workflows.StepWaitApproval {
					t.Errorf("Task state %q stands for no activity of activityStates", s.Name)
				}
			}
		})
	}
}

// sameTiming compares a Task's TimeoutSeconds and its last Retrier (the one with the backoff) with an
// activity's StartToClose timeout and retry policy.
func sameTiming(task *Task, info workflows.Timing) error {
	var diffs []string
	if want := int(info.StartToCloseTimeout / time.Second); task.TimeoutSeconds != want {
		diffs = append(diffs, fmt.Sprintf("TimeoutSeconds %d, want %d (StartToClose %s)", task.TimeoutSeconds, want, info.StartToCloseTimeout))
	}
	rp := info.RetryPolicy
	if rp == nil {
		return fmt.Errorf("the activity was scheduled without a retry policy")
	}
	if len(task.Retry) == 0 {
		return fmt.Errorf("no Retry; the activity retries with %+v", *rp)
	}
	r := task.Retry[len(task.Retry)-1]
	want := Retrier{IntervalSeconds: int(rp.InitialInterval / time.Second), BackoffRate: rp.BackoffCoefficient,
		MaxDelaySeconds: int(rp.MaximumInterval / time.Second), MaxAttempts: ptr(int(rp.MaximumAttempts) - 1)}
	if retrierString(r) != retrierString(want) {
		diffs = append(diffs, fmt.Sprintf("Retry %s, want %s (retry policy %s)", retrierString(r), retrierString(want), policyString(rp)))
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%s", strings.Join(diffs, "; "))
	}
	return nil
}

func retrierString(r Retrier) string {
	attempts := "unset"
	if r.MaxAttempts != nil {
		attempts = fmt.Sprint(*r.MaxAttempts)
	}
	return fmt.Sprintf("{Interval %ds, Backoff %v, MaxDelay %ds, MaxAttempts %s}", r.IntervalSeconds, r.BackoffRate, r.MaxDelaySeconds, attempts)
}

func policyString(p *temporal.RetryPolicy) string {
	return fmt.Sprintf("{Initial %s, Coefficient %v, Maximum %s, Attempts %d}", p.InitialInterval, p.BackoffCoefficient, p.MaximumInterval, p.MaximumAttempts)
}

// TestTimingOfRejectsWhatASLCannotSay: options that ASL cannot mirror exactly fail the build instead of
// being rounded or given a made-up limit.
func TestTimingOfRejectsWhatASLCannotSay(t *testing.T) {
	good := func() workflows.Timing { return workflows.APITiming() }
	for _, tc := range []struct {
		name   string
		change func(*workflows.Timing)
		want   string
	}{
		{"no retry policy", func(o *workflows.Timing) { o.RetryPolicy = nil }, "no retry policy"},
		{"unlimited attempts", func(o *workflows.Timing) { o.RetryPolicy.MaximumAttempts = 0 }, "unlimited attempts"},
		{"server's default backoff", func(o *workflows.Timing) { o.RetryPolicy.BackoffCoefficient = 0 }, "BackoffCoefficient 0"},
		{"fractional interval", func(o *workflows.Timing) { o.RetryPolicy.InitialInterval = 1500 * time.Millisecond }, "InitialInterval 1.5s"},
		{"no maximum interval", func(o *workflows.Timing) { o.RetryPolicy.MaximumInterval = 0 }, "MaximumInterval 0s"},
		{"sub-second timeout", func(o *workflows.Timing) { o.StartToCloseTimeout = time.Millisecond }, "StartToCloseTimeout 1ms"},
		{"non-retryable types", func(o *workflows.Timing) { o.RetryPolicy.NonRetryableErrorTypes = []string{"X"} }, "NonRetryableErrorTypes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := good()
			tc.change(&o)
			_, err := timingOf("api", o, nil, transientSageMakerErrors)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := timingOf("api", good(), nil, transientSageMakerErrors); err != nil {
		t.Errorf("the workflows' own options: %v", err)
	}
	// The copies are copies: changing one changes neither the workflows' options nor the next copy.
	o := workflows.LambdaTiming()
	o.RetryPolicy.MaximumAttempts = 99
	if got := workflows.LambdaTiming().RetryPolicy.MaximumAttempts; got == 99 {
		t.Error("changing a copy of LambdaTiming changed the workflows' options")
	}
}
