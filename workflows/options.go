package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mdlc/mdlc/activities"
)

// HeartbeatTimeout is how long every activity may go without a heartbeat reaching the server before it
// is retried elsewhere: how soon a dead worker is noticed. The SDK holds heartbeats back for up to 80 % of
// this timeout unless the worker caps that throttle (the worker caps it at the activities' heartbeat
// interval), so the timeout alone does not say how often heartbeats really arrive.
const HeartbeatTimeout = 20 * time.Second

// Activity options, declared once. No retry policy here is unbounded: a step that keeps failing fails the run
// with its last error instead of retrying forever.
var (
	// lambdaOptions: the Lambda functions finish in seconds; Lambda's own limit is 15 minutes. A step that
	// invokes one runs it as a local activity (see localStepsChange): no activity task, and a worker that dies
	// during the call is noticed by the workflow task's timeout (10 s), after which another worker runs the
	// workflow task, and the call, again. Function errors that say the input is wrong are
	// non-retryable (see activities); S3 trouble and throttling are retried. The SDK retries a local activity
	// in the worker while the backoff is short and through a workflow timer once it is longer, so the
	// schedule below holds either way.
	lambdaOptions = workflow.LocalActivityOptions{
		StartToCloseTimeout: 16 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			MaximumAttempts:    8,
		},
	}

	// apiOptions: single SageMaker API calls (create model, registry), local activities like lambdaOptions.
	// Throttling and 5xx are retried with backoff; validation errors are non-retryable.
	apiOptions = workflow.LocalActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			MaximumAttempts:    10,
		},
	}

	// jobOptions: a SageMaker job created (or attached to) and waited on. The activity heartbeats every few
	// seconds whatever its poll interval, so a dead worker is noticed after HeartbeatTimeout and the next
	// attempt attaches to the same job. WaitForCancellation lets the activity stop the job before the run
	// ends canceled. StartToClose bounds one attempt by the longest job we start (SageMaker allows up to
	// 28 days; the default MaxRuntime is one hour).
	jobOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 48 * time.Hour,
		HeartbeatTimeout:    HeartbeatTimeout,
		WaitForCancellation: true,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			MaximumAttempts:    10,
		},
	}

	// notifyOptions: one POST of a run's notification. The run waits for it before it closes (a run that
	// closes abandons its pending activities), so the retries are bounded and short: five attempts, 1, 2, 4
	// and 8 s apart — a receiver restarting or briefly overloaded is ridden out, one that is down delays the
	// run's close by about 15 s (at most about 90 s when every attempt times out), and the notification is
	// then dropped with a warning in the worker's log. A longer retry would hold every run open for as long
	// as the receiver is down; the run's outcome stays in Temporal either way.
	notifyOptions = workflow.ActivityOptions{
		StartToCloseTimeout: activities.NotifyTimeout + 5*time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Second,
			MaximumAttempts:    5,
		},
	}

	// approvalWaitOptions: the wait for a person's decision on a Pending version, one activity that polls the
	// registry inside (activities.WaitForApproval). Its StartToClose is set per run to the approval timeout
	// plus approvalWaitSlack (the run's timer ends the wait first); the heartbeat timeout notices a dead
	// worker, and the next attempt resumes the wait. WaitForCancellation: the run ends its wait (a decision
	// by Update, the timeout, a cancel) only once the activity stopped polling.
	approvalWaitOptions = workflow.ActivityOptions{
		HeartbeatTimeout:    HeartbeatTimeout,
		WaitForCancellation: true,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			MaximumAttempts:    20,
		},
	}

	// defaultsOptions: reading the worker's defaults is local and cannot fail but for a bug.
	defaultsOptions = workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	}
)

// approvalWaitSlack is how much longer than the approval timeout one attempt of the wait may run: the run's
// timer, not the activity's timeout, ends a wait nobody answered.
const approvalWaitSlack = time.Minute

// asActivity returns the options the Lambda and API steps of a run recorded before localStepsChange run
// their activity tasks with: o's timeout and retries, and HeartbeatTimeout (those activities heartbeat while
// the call runs, so that a worker that dies mid-call is noticed then, not at StartToClose).
func asActivity(o workflow.LocalActivityOptions) workflow.ActivityOptions {
	return workflow.ActivityOptions{StartToCloseTimeout: o.StartToCloseTimeout, HeartbeatTimeout: HeartbeatTimeout, RetryPolicy: o.RetryPolicy}
}

// Timing is how one kind of step times out and retries: one attempt's StartToClose timeout and the retry
// policy. parity derives its Task states' TimeoutSeconds and Retry from it, so that both engines time out and
// retry alike.
type Timing struct {
	StartToCloseTimeout time.Duration
	RetryPolicy         *temporal.RetryPolicy
}

// LambdaTiming returns a copy of the timing of the steps that invoke a Lambda function (changing the copy
// changes no workflow).
func LambdaTiming() Timing {
	return timingOf(lambdaOptions.StartToCloseTimeout, lambdaOptions.RetryPolicy)
}

// APITiming returns a copy of the timing of the steps that make single SageMaker API calls.
func APITiming() Timing { return timingOf(apiOptions.StartToCloseTimeout, apiOptions.RetryPolicy) }

// JobTiming returns a copy of the timing of the steps that run a SageMaker job and wait for it.
func JobTiming() Timing { return timingOf(jobOptions.StartToCloseTimeout, jobOptions.RetryPolicy) }

// timingOf returns a Timing with its own copy of the retry policy p.
func timingOf(startToClose time.Duration, p *temporal.RetryPolicy) Timing {
	t := Timing{StartToCloseTimeout: startToClose}
	if p != nil {
		c := *p
		c.NonRetryableErrorTypes = slices.Clone(p.NonRetryableErrorTypes)
		t.RetryPolicy = &c
	}
	return t
}
