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
	// lambdaOptions: the Lambda functions finish in seconds; Lambda's own limit is 15 minutes. The activity
	// heartbeats while the call runs, so a worker that dies mid-call is noticed after HeartbeatTimeout, not
	// StartToClose. Function errors that say the input is wrong are non-retryable (see activities); S3
	// trouble and throttling are retried.
	lambdaOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 16 * time.Minute,
		HeartbeatTimeout:    HeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			MaximumAttempts:    8,
		},
	}

	// apiOptions: single SageMaker API calls (create model, registry), heartbeating like lambdaOptions.
	// Throttling and 5xx are retried with backoff; validation errors are non-retryable.
	apiOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		HeartbeatTimeout:    HeartbeatTimeout,
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

// LambdaOptions returns a copy of the options of the activities that invoke a Lambda function. parity
// derives its Lambda Task states' TimeoutSeconds and Retry from them, so that both engines time out and retry
// alike; changing the copy changes no workflow.
func LambdaOptions() workflow.ActivityOptions { return copyOptions(lambdaOptions) }

// APIOptions returns a copy of the options of the activities that make single SageMaker API calls, for
// parity as LambdaOptions.
func APIOptions() workflow.ActivityOptions { return copyOptions(apiOptions) }

// JobOptions returns a copy of the options of the activities that run a SageMaker job and wait for it, for
// parity as LambdaOptions.
func JobOptions() workflow.ActivityOptions { return copyOptions(jobOptions) }

// copyOptions returns o with its own retry policy, so that a caller cannot change the workflows' options.
func copyOptions(o workflow.ActivityOptions) workflow.ActivityOptions {
	if o.RetryPolicy != nil {
		p := *o.RetryPolicy
		p.NonRetryableErrorTypes = slices.Clone(p.NonRetryableErrorTypes)
		o.RetryPolicy = &p
	}
	return o
}
