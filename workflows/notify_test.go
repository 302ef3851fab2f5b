package workflows

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/quote"
)

// notifications records the Notify activity's calls; answer decides what each attempt returns (success
// when nil).
type notifications struct {
	mu     sync.Mutex
	got    []activities.Notification
	answer func(attempt int) error
}

func (n *notifications) all() []activities.Notification {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]activities.Notification(nil), n.got...)
}

// withNotify makes the worker's defaults say notifications are on (notify true) or off, and records Notify.
// Call it before mockTraining/mockInference: the first matching mock answers.
func withNotify(env *testsuite.TestWorkflowEnvironment, notify bool) *notifications {
	n := &notifications{}
	env.OnActivity(a.Defaults, mock.Anything, mock.Anything).Return(activities.DefaultsOutput{Threshold: 0.8, ApprovalStatus: "Approved", Notify: notify}, nil)
	env.OnActivity(a.Notify, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.NotifyInput) (activities.NotifyOutput, error) {
		n.mu.Lock()
		n.got = append(n.got, in.Notification)
		attempt := len(n.got)
		n.mu.Unlock()
		if n.answer != nil {
			if err := n.answer(attempt); err != nil {
				return activities.NotifyOutput{}, err
			}
		}
		return activities.NotifyOutput{Sent: true, StatusCode: 200}, nil
	}).Maybe()
	return n
}

func TestNotifyWhenTrainingCompletes(t *testing.T) {
	env := newEnv(t)
	n := withNotify(env, true)
	mockTraining(env)
	env.ExecuteWorkflow(Training, TrainingInput{ModelName: "m", DataDate: "2019-10-01"})
	require.NoError(t, env.GetWorkflowError())
	got := n.all()
	require.Len(t, got, 1)
	g := got[0]
	require.Equal(t, activities.StatusCompleted, g.Status)
	require.Equal(t, TrainingWorkflow, g.WorkflowType)
	require.NotEmpty(t, g.Namespace)
	require.NotEmpty(t, g.WorkflowID)
	require.NotEmpty(t, g.RunID)
	require.Empty(t, g.ParentWorkflowID)
	require.Equal(t, "m", g.ModelName)
	require.Equal(t, "2019-10-01", g.DataDate)
	require.Equal(t, trained.TrainingJobName, g.TrainingJobName)
	require.Equal(t, "arn:pkg/m/2", g.ModelPackageArn)
	require.Equal(t, int32(2), g.ModelPackageVersion)
	require.Empty(t, g.FailedStep)
	require.Empty(t, g.Failure)
	require.False(t, g.CloseTime.Before(g.StartTime))
}

// TestNotifyWhenBatchInferenceFails: the notification names the step that failed and the failure, and
// carries no decision (none was taken). The request names its threshold, so the run needed no defaults
// until it ended: notify fetches them then.
func TestNotifyWhenBatchInferenceFails(t *testing.T) {
	env := newEnv(t)
	n := withNotify(env, true)
	mockInference(env, 0.9, "FindModel")
	env.OnActivity(a.FindModel, mock.Anything, mock.Anything).Return(activities.FindModelOutput{},
		temporal.NewNonRetryableApplicationError("no Approved model package in group m", activities.ErrModelNotFound, nil))
	threshold := 0.75
	env.ExecuteWorkflow(BatchInference, BatchInferenceInput{ModelName: "m", DataDate: "2019-11-01", Threshold: &threshold})
	var app *temporal.ApplicationError
	require.ErrorAs(t, env.GetWorkflowError(), &app)
	require.Equal(t, activities.ErrModelNotFound, app.Type(), "the run's failure is unchanged by the notification")

	got := n.all()
	require.Len(t, got, 1)
	g := got[0]
	require.Equal(t, activities.StatusFailed, g.Status)
	require.Equal(t, BatchInferenceWorkflow, g.WorkflowType)
	require.Equal(t, StepFindModel, g.FailedStep)
	require.Equal(t, "Find Model: no Approved model package in group m", g.Failure)
	require.Empty(t, g.Decision)
	require.Nil(t, g.AUC)
	require.Equal(t, &threshold, g.Threshold)
}

// TestNotifyWhenInvalidRequestFails: a request that fails validation, before any step runs, is notified too.
func TestNotifyWhenInvalidRequestFails(t *testing.T) {
	env := newEnv(t)
	n := withNotify(env, true)
	env.ExecuteWorkflow(Training, TrainingInput{ModelName: "bad name!", DataDate: "2019-10-01"})
	require.Error(t, env.GetWorkflowError())
	got := n.all()
	require.Len(t, got, 1)
	require.Equal(t, activities.StatusFailed, got[0].Status)
	require.Equal(t, StepInitialize, got[0].FailedStep)
	require.Contains(t, got[0].Failure, "invalid request")
}

// TestNotifyOversizedRequest: a 1.5 MB model name fails the run with InvalidInput, and its notification carries
// only a prefix of it: carried whole, the Notify activity's input would exceed Temporal's payload size limit
// and the server would end the run on that instead.
func TestNotifyOversizedRequest(t *testing.T) {
	huge := strings.Repeat("m", 1536*1024)
	for name, run := range map[string]func(*testsuite.TestWorkflowEnvironment){
		"training": func(e *testsuite.TestWorkflowEnvironment) {
			e.ExecuteWorkflow(Training, TrainingInput{ModelName: huge, DataDate: huge})
		},
		"batch inference": func(e *testsuite.TestWorkflowEnvironment) {
			e.ExecuteWorkflow(BatchInference, BatchInferenceInput{ModelName: huge, DataDate: huge})
		},
	} {
		t.Run(name, func(t *testing.T) {
			env := newEnv(t)
			// As in TestOversizedInputIsNotEchoed: the race detector slows decoding megabytes of JSON.
			env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: 5 * time.Minute})
			n := withNotify(env, true)
			run(env)
			var app *temporal.ApplicationError
			require.ErrorAs(t, env.GetWorkflowError(), &app)
			require.Equal(t, activities.ErrInvalidInput, app.Type())
			got := n.all()
			require.Len(t, got, 1)
			require.Len(t, got[0].ModelName, quote.MaxValueBytes)
			require.Len(t, got[0].DataDate, quote.MaxValueBytes)
			require.LessOrEqual(t, len(got[0].Failure), activities.MaxFailureBytes)
		})
	}
}

// TestNotifyWhenCanceled: a person cancels the run while its job runs; the notification still goes out (on a
// disconnected context) and the run still ends canceled.
func TestNotifyWhenCanceled(t *testing.T) {
	for _, notifyFails := range []bool{false, true} {
		t.Run(map[bool]string{false: "delivered", true: "not delivered"}[notifyFails], func(t *testing.T) {
			env := newEnv(t)
			n := withNotify(env, true)
			if notifyFails {
				// Rejected (not retried): the test environment does not skip retry backoff while the
				// canceled job activity's mock is still returning.
				n.answer = func(int) error {
					return temporal.NewNonRetryableApplicationError("rejected: 400 Bad Request", activities.ErrNotificationRejected, nil)
				}
			}
			mockTraining(env, "TrainModel")
			env.OnActivity(a.TrainModel, mock.Anything, mock.Anything).Return(func(ctx context.Context, _ activities.TrainModelInput) (activities.TrainModelOutput, error) {
				<-ctx.Done()
				return activities.TrainModelOutput{}, temporal.NewCanceledError("job stopped")
			})
			env.RegisterDelayedCallback(env.CancelWorkflow, 100*time.Millisecond)
			env.ExecuteWorkflow(Training, TrainingInput{ModelName: "m", DataDate: "2019-10-01"})
			require.True(t, temporal.IsCanceledError(env.GetWorkflowError()), "got %v", env.GetWorkflowError())
			got := n.all()
			require.NotEmpty(t, got)
			require.Equal(t, activities.StatusCanceled, got[0].Status)
			require.Equal(t, StepTrainModel, got[0].FailedStep)
			require.Empty(t, got[0].Failure)
		})
	}
}

// TestNotificationNeverFailsTheRun: a receiver that never accepts is tried notifyOptions' attempts, then
// given up; the run's result is what it would have been without notifications.
func TestNotificationNeverFailsTheRun(t *testing.T) {
	env := newEnv(t)
	n := withNotify(env, true)
	n.answer = func(int) error { return errors.New("receiver answered 500") }
	mockInference(env, 0.9)
	env.ExecuteWorkflow(BatchInference, BatchInferenceInput{ModelName: "m", DataDate: "2019-11-01"})
	require.NoError(t, env.GetWorkflowError())
	var res BatchInferenceResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, DecisionKeep, res.Decision)
	require.Len(t, n.all(), int(notifyOptions.RetryPolicy.MaximumAttempts), "retried, with a bound")
}

// TestNotificationRetriedUntilDelivered: a receiver that fails twice and then accepts gets the same
// notification three times.
func TestNotificationRetriedUntilDelivered(t *testing.T) {
	env := newEnv(t)
	n := withNotify(env, true)
	n.answer = func(attempt int) error {
		if attempt <= 2 {
			return errors.New("receiver answered 500")
		}
		return nil
	}
	mockInference(env, 0.9)
	env.ExecuteWorkflow(BatchInference, BatchInferenceInput{ModelName: "m", DataDate: "2019-11-01"})
	require.NoError(t, env.GetWorkflowError())
	got := n.all()
	require.Len(t, got, 3)
	require.Equal(t, got[0], got[2])
	require.Equal(t, DecisionKeep, got[2].Decision)
	require.Equal(t, 0.9, *got[2].AUC)
	require.Equal(t, 0.8, *got[2].Threshold)
	require.Equal(t, found.ModelPackageArn, got[2].ModelPackageArn, "the version that scored the data")
}

// TestNotifyRetrainParentAndChild: the retrain child is a Training run of its own and notifies as one,
// naming its parent; the parent reports the retrained version.
func TestNotifyRetrainParentAndChild(t *testing.T) {
	env := newEnv(t)
	n := withNotify(env, true)
	mockInference(env, 0.6)
	mockTraining(env)
	env.ExecuteWorkflow(BatchInference, BatchInferenceInput{ModelName: "m", DataDate: "2019-11-01"})
	require.NoError(t, env.GetWorkflowError())
	got := n.all()
	require.Len(t, got, 2)
	child, parent := got[0], got[1]
	require.Equal(t, TrainingWorkflow, child.WorkflowType)
	require.Equal(t, RetrainWorkflowID("m"), child.WorkflowID)
	require.Equal(t, parent.WorkflowID, child.ParentWorkflowID)
	require.Equal(t, BatchInferenceWorkflow, parent.WorkflowType)
	require.Equal(t, DecisionRetrain, parent.Decision)
	require.Equal(t, "arn:pkg/m/2", parent.ModelPackageArn)
	require.Equal(t, int32(2), parent.ModelPackageVersion)
}

// TestNoNotificationWhenOff: without a notify URL on the worker, no Notify activity is scheduled.
func TestNoNotificationWhenOff(t *testing.T) {
	env := newEnv(t)
	n := withNotify(env, false)
	mockInference(env, 0.6)
	mockTraining(env)
	env.ExecuteWorkflow(BatchInference, BatchInferenceInput{ModelName: "m", DataDate: "2019-11-01"})
	require.NoError(t, env.GetWorkflowError())
	require.Empty(t, n.all())
}

func TestFailureMessageIsBounded(t *testing.T) {
	long := strings.Repeat("é", activities.MaxFailureBytes)
	msg := failureMessage(temporal.NewApplicationError(long, "X"))
	require.LessOrEqual(t, len(msg), activities.MaxFailureBytes)
	require.True(t, strings.HasSuffix(msg, "…"))
	require.Equal(t, "short", failureMessage(temporal.NewApplicationError("short", "X")), "the message without the error type")
}
