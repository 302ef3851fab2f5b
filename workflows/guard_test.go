package workflows

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/mdlc/mdlc/activities"
)

// counted records the counters workflows increment, by name and tags.
type counted struct {
	mu     sync.Mutex
	counts map[string]int64
}

type countingHandler struct {
	c    *counted
	tags string
}

func (h countingHandler) WithTags(tags map[string]string) client.MetricsHandler {
	var kv []string
	for k, v := range tags {
		kv = append(kv, k+"="+v)
	}
	slices.Sort(kv)
	return countingHandler{c: h.c, tags: h.tags + strings.Join(kv, ",")}
}

func (h countingHandler) Counter(name string) client.MetricsCounter {
	return counterFunc(func(n int64) {
		h.c.mu.Lock()
		defer h.c.mu.Unlock()
		h.c.counts[name+"{"+h.tags+"}"] += n
	})
}
func (h countingHandler) Gauge(string) client.MetricsGauge { return client.MetricsNopHandler.Gauge("") }
func (h countingHandler) Timer(string) client.MetricsTimer { return client.MetricsNopHandler.Timer("") }

type counterFunc func(int64)

func (f counterFunc) Inc(n int64) { f(n) }

// newCountingEnv is newEnv with the workflows' counters recorded in the returned counted.
func newCountingEnv() (*testsuite.TestWorkflowEnvironment, *counted) {
	c := &counted{counts: map[string]int64{}}
	var s testsuite.WorkflowTestSuite
	s.SetMetricsHandler(countingHandler{c: c})
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Training, workflow.RegisterOptions{Name: TrainingWorkflow})
	env.RegisterWorkflowWithOptions(BatchInference, workflow.RegisterOptions{Name: BatchInferenceWorkflow})
	env.RegisterActivity(a)
	return env, c
}

func progressOf(t *testing.T, env *testsuite.TestWorkflowEnvironment) Progress {
	t.Helper()
	var p Progress
	v, err := env.QueryWorkflow(ProgressQuery)
	require.NoError(t, err)
	require.NoError(t, v.Get(&p))
	return p
}

func stepOf(p Progress, name string) Step {
	for _, s := range p.Steps {
		if s.Name == name {
			return s
		}
	}
	return Step{}
}

// TestRetrainSuppressedByRegistryGuard: the guard activity's answer (cooldown or cap) suppresses the retrain:
// no child runs, and the result, the progress, the metric say why.
func TestRetrainSuppressedByRegistryGuard(t *testing.T) {
	for _, rule := range []string{GuardCooldown, GuardCap} {
		t.Run(rule, func(t *testing.T) {
			env, c := newCountingEnv()
			mockInference(env, 0.6, "CheckRetrainGuard")
			why := "because " + rule
			env.OnActivity(a.CheckRetrainGuard, mock.Anything, activities.RetrainGuardInput{ModelName: "m"}).
				Return(activities.RetrainGuardOutput{Suppressed: why, Rule: rule, Now: time.Now()}, nil).Once()
			childRan := mockNoRetrain(env)
			env.ExecuteWorkflow(BatchInference, BatchInferenceInput{ModelName: "m", DataDate: "2019-11-01"})
			require.NoError(t, env.GetWorkflowError())
			var res BatchInferenceResult
			require.NoError(t, env.GetWorkflowResult(&res))
			require.Equal(t, DecisionRetrainSuppressed, res.Decision)
			require.Equal(t, SuppressedPrefix+why, res.RetrainSuppressed)
			require.Equal(t, rule, res.RetrainGuard)
			require.Nil(t, res.Retrain)
			require.Empty(t, res.RetrainWorkflowID)

			p := progressOf(t, env)
			require.Equal(t, DecisionRetrainSuppressed, p.Decision)
			require.Contains(t, stepOf(p, StepDecide).Detail, SuppressedPrefix+why)
			require.Equal(t, StepSkipped, stepOf(p, StepRetrain).State)
			require.Contains(t, stepOf(p, StepRetrain).Detail, why)
			require.Equal(t, map[string]int64{RetrainSuppressedMetric + "{model=m,rule=" + rule + "}": 1}, suppressedCounts(c))
			require.False(t, *childRan, "the retrain child ran")
			env.AssertExpectations(t)
		})
	}
}

func suppressedCounts(c *counted) map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int64{}
	for k, v := range c.counts {
		if strings.HasPrefix(k, RetrainSuppressedMetric) {
			out[k] = v
		}
	}
	return out
}

// TestRetrainSuppressedWhileAnotherRuns: a run whose retrain child cannot start because the model's retrain
// workflow ID is taken by an open run records the retrain as suppressed instead of failing. The test
// environment's own run holds that ID.
func TestRetrainSuppressedWhileAnotherRuns(t *testing.T) {
	env, c := newCountingEnv()
	mockInference(env, 0.6)
	childRan := mockNoRetrain(env)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: RetrainWorkflowID("m")})
	env.ExecuteWorkflow(BatchInference, BatchInferenceInput{ModelName: "m", DataDate: "2019-11-01"})
	require.NoError(t, env.GetWorkflowError())
	var res BatchInferenceResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, DecisionRetrainSuppressed, res.Decision)
	require.Equal(t, GuardRunning, res.RetrainGuard)
	require.Contains(t, res.RetrainSuppressed, "already running (workflow "+RetrainWorkflowID("m")+")")
	require.Empty(t, res.RetrainWorkflowID, "the running retrain is another run's")
	p := progressOf(t, env)
	require.Equal(t, DecisionRetrainSuppressed, p.Decision)
	require.Equal(t, StepSkipped, stepOf(p, StepRetrain).State)
	require.Equal(t, map[string]int64{RetrainSuppressedMetric + "{model=m,rule=running}": 1}, suppressedCounts(c))
	require.False(t, *childRan, "the retrain child ran")
}

// TestRetrainGuardNotAskedWhenKept: a run that keeps its model does not consult the guard.
func TestRetrainGuardNotAskedWhenKept(t *testing.T) {
	env, c := newCountingEnv()
	mockInference(env, 0.95, "CheckRetrainGuard")
	asked := false
	env.OnActivity(a.CheckRetrainGuard, mock.Anything, mock.Anything).Return(func(context.Context, activities.RetrainGuardInput) (activities.RetrainGuardOutput, error) {
		asked = true
		return activities.RetrainGuardOutput{}, nil
	}).Maybe()
	env.ExecuteWorkflow(BatchInference, BatchInferenceInput{ModelName: "m", DataDate: "2019-11-01"})
	require.NoError(t, env.GetWorkflowError())
	var res BatchInferenceResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, DecisionKeep, res.Decision)
	require.Empty(t, res.RetrainSuppressed)
	require.Empty(t, suppressedCounts(c))
	require.False(t, asked, "the guard was consulted")
}

// TestRetrainGuardFailureFailsDecision: a registry error the guard cannot get past fails the run at the
// decision step, rather than retraining unguarded.
func TestRetrainGuardFailureFailsDecision(t *testing.T) {
	env := newEnv(t)
	mockInference(env, 0.6, "CheckRetrainGuard")
	env.OnActivity(a.CheckRetrainGuard, mock.Anything, mock.Anything).Return(activities.RetrainGuardOutput{},
		temporal.NewNonRetryableApplicationError("access denied", "AccessDeniedException", nil))
	childRan := mockNoRetrain(env)
	env.ExecuteWorkflow(BatchInference, BatchInferenceInput{ModelName: "m", DataDate: "2019-11-01"})
	var app *temporal.ApplicationError
	require.ErrorAs(t, env.GetWorkflowError(), &app)
	require.Equal(t, "AccessDeniedException", app.Type())
	require.Contains(t, app.Error(), StepDecide)
	require.Equal(t, StepFailed, stepOf(progressOf(t, env), StepDecide).State)
	require.False(t, *childRan, "the retrain child ran")
}

// mockNoRetrain mocks the retrain child; the returned flag says whether it ran.
func mockNoRetrain(env *testsuite.TestWorkflowEnvironment) *bool {
	ran := false
	env.OnWorkflow(TrainingWorkflow, mock.Anything, mock.Anything).Return(func(workflow.Context, TrainingInput) (TrainingResult, error) {
		ran = true
		return TrainingResult{}, nil
	}).Maybe()
	return &ran
}

// TestDecisionSearchAttribute: a run sets its Decision search attribute to what it decided, when the worker
// found the attribute registered, and leaves it alone otherwise.
func TestDecisionSearchAttribute(t *testing.T) {
	for _, tc := range []struct {
		name       string
		auc        float64
		guard      activities.RetrainGuardOutput
		registered activities.DefaultsOutput
		want       string
	}{
		{"keep", 0.95, activities.RetrainGuardOutput{}, allRegistered(), DecisionKeep},
		{"retrain", 0.6, activities.RetrainGuardOutput{}, allRegistered(), DecisionRetrain},
		{"suppressed", 0.6, activities.RetrainGuardOutput{Rule: GuardCap, Suppressed: "cap"}, allRegistered(), DecisionRetrainSuppressed},
		{"recorded before Attributes", 0.6, activities.RetrainGuardOutput{}, activities.DefaultsOutput{DecisionAttribute: true}, DecisionRetrain},
		{"not registered", 0.6, activities.RetrainGuardOutput{Rule: GuardCap, Suppressed: "cap"}, activities.DefaultsOutput{Attributes: []string{"ModelName", "DataDate"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			def := tc.registered
			def.Threshold, def.ApprovalStatus = 0.8, "Approved"
			env.OnActivity(a.Defaults, mock.Anything, mock.Anything).Return(def, nil)
			mockInference(env, tc.auc, "CheckRetrainGuard")
			mockTraining(env)
			env.OnActivity(a.CheckRetrainGuard, mock.Anything, mock.Anything).Return(tc.guard, nil).Maybe()
			var set []string
			env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
				// The run's ModelName and DataDate, which it was started without, are set too.
				if v, ok := args.Get(0).(temporal.SearchAttributes).GetKeyword(DecisionAttribute); ok {
					set = append(set, v)
				}
			}).Return(nil).Maybe()
			env.ExecuteWorkflow(BatchInference, BatchInferenceInput{ModelName: "m", DataDate: "2019-11-01"})
			require.NoError(t, env.GetWorkflowError())
			var res BatchInferenceResult
			require.NoError(t, env.GetWorkflowResult(&res))
			if tc.want == "" {
				require.Empty(t, set)
				return
			}
			require.Equal(t, tc.want, res.Decision)
			require.Equal(t, []string{tc.want}, set)
		})
	}
}
