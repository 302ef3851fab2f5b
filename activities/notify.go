package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/mdlc/mdlc/internal/quote"
	"github.com/mdlc/mdlc/internal/webui"
)

// Run statuses a Notification reports, named as Temporal names a closed run's status. A run sends the first
// three itself as it ends; a run that is terminated or times out runs no more workflow code, and the workers
// notify of it instead (package closewatch; see README, "Notifications").
const (
	StatusCompleted  = "COMPLETED"
	StatusFailed     = "FAILED"
	StatusCanceled   = "CANCELED"
	StatusTerminated = "TERMINATED"
	StatusTimedOut   = "TIMED_OUT"
)

// NotificationVersion is the version of the Notification JSON shape. Fields may be added within a version;
// none is removed or changes meaning without a new version.
const NotificationVersion = 1

// ErrNotificationRejected: the receiver answered with a 3xx (redirects are not followed) or a 4xx status
// other than 408 and 429, which says the request itself is wrong; sending it again would not help.
const ErrNotificationRejected = "NotificationRejected"

// NotifyTimeout bounds one POST to the receiver, connection and answer included.
const NotifyTimeout = 10 * time.Second

// Notification is the JSON body the worker POSTs to --notify-url when a run ends. Its shape is documented in
// the README ("Notifications") and versioned by Version; receivers should ignore fields they do not know.
type Notification struct {
	// Version is NotificationVersion.
	Version int
	// Namespace, WorkflowType ("Training" or "BatchInference"), WorkflowID and RunID identify the run;
	// ParentWorkflowID is set for the training run a batch-inference run started to retrain.
	Namespace        string
	WorkflowType     string
	WorkflowID       string
	RunID            string
	ParentWorkflowID string `json:",omitempty"`
	// ModelName and DataDate are the run's request.
	ModelName string
	DataDate  string
	// Status is StatusCompleted, StatusFailed, StatusCanceled, StatusTerminated or StatusTimedOut.
	Status string
	// FailedStep is the step that failed, or that was running when the run was canceled.
	FailedStep string `json:",omitempty"`
	// Failure is the run's failure message, at most MaxFailureBytes of it; for a terminated run, who
	// terminated it and why, as far as the close event says.
	Failure string `json:",omitempty"`
	// Decision ("Retrain" or "Keep"), AUC and Threshold are batch inference's, once measured.
	Decision  string   `json:",omitempty"`
	AUC       *float64 `json:",omitempty"`
	Threshold *float64 `json:",omitempty"`
	// TrainingJobName, ModelPackageArn and ModelPackageVersion are the registered version (training, or the
	// retrain of a batch-inference run); for batch inference without a retrain, ModelPackageArn is the version
	// that scored the data.
	TrainingJobName     string `json:",omitempty"`
	ModelPackageArn     string `json:",omitempty"`
	ModelPackageVersion int32  `json:",omitempty"`
	// StartTime and CloseTime bound the run (CloseTime: when its workflow code ended).
	StartTime time.Time
	CloseTime time.Time
	// URL is the run's page in the Temporal web UI; the worker fills it in from --ui-address.
	URL string
}

// MaxFailureBytes bounds Notification.Failure, so that a long error (a Lambda's stack trace) cannot make the
// notification large; the run's full failure is in its history.
const MaxFailureBytes = 1024

// CutFailure is msg as a Notification carries it: at most MaxFailureBytes, cut on a character boundary and
// marked with "…" when longer.
func CutFailure(msg string) string {
	if len(msg) > MaxFailureBytes {
		return quote.Prefix(msg, MaxFailureBytes-len("…")) + "…"
	}
	return msg
}

// NotifyInput is the notification a run sends as it ends; URL is filled in by the activity.
type NotifyInput struct {
	Notification Notification
}

// NotifyOutput says what the receiver answered.
type NotifyOutput struct {
	// Sent is false when this worker has no --notify-url (a run whose defaults came from a worker that had
	// one is picked up by one that has none); nothing was sent then.
	Sent       bool
	StatusCode int `json:",omitempty"`
}

// Notify POSTs the notification as JSON to Config.NotifyURL. The receiver URL stays on the worker (it is
// often a secret, e.g. a chat webhook) and never enters a workflow history. A 2xx answer is success; 408, 429,
// 5xx and connection errors are returned for the activity's retry policy; a 3xx or any other 4xx is the
// non-retryable ErrNotificationRejected. Every attempt carries the same Idempotency-Key header
// (<workflow ID>/<run ID>), so a receiver that saw an attempt whose answer was lost can drop the repeat:
// delivery is at least once.
func (a *Activities) Notify(ctx context.Context, in NotifyInput) (NotifyOutput, error) {
	logger := activity.GetLogger(ctx)
	n := in.Notification
	if a.cfg.NotifyURL == "" {
		logger.Warn("Notification not sent: this worker has no notify URL", "WorkflowID", n.WorkflowID, "Status", n.Status)
		return NotifyOutput{}, nil
	}
	n.Version = NotificationVersion
	n.URL = webui.RunURL(a.cfg.UIAddress, n.Namespace, n.WorkflowID, n.RunID)
	body, err := json.Marshal(n)
	if err != nil {
		return NotifyOutput{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("encode notification: %v", err), ErrInvalidInput, err)
	}
	ctx, cancel := context.WithTimeout(ctx, NotifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.NotifyURL, bytes.NewReader(body))
	if err != nil {
		return NotifyOutput{}, temporal.NewNonRetryableApplicationError("build notification request: "+err.Error(), ErrInvalidInput, nil)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "mdlc-worker")
	req.Header.Set("Idempotency-Key", n.WorkflowID+"/"+n.RunID)
	resp, err := a.http.Do(req)
	if err != nil {
		// The error names the URL, which may hold a secret: say only which receiver did not answer.
		return NotifyOutput{}, fmt.Errorf("post notification to %s: %w", redactURL(a.cfg.NotifyURL), unwrapURLError(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	out := NotifyOutput{Sent: true, StatusCode: resp.StatusCode}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		logger.Info("Notification sent", "WorkflowID", n.WorkflowID, "Status", n.Status, "StatusCode", code)
		return out, nil
	case code >= 300 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests:
		// A redirect is not followed (a POST would turn into a GET): give the worker the final URL.
		return out, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("notification receiver %s rejected the notification: %s", redactURL(a.cfg.NotifyURL), resp.Status), ErrNotificationRejected, nil)
	default:
		return out, fmt.Errorf("notification receiver %s answered %s", redactURL(a.cfg.NotifyURL), strconv.Quote(resp.Status))
	}
}

// redactURL is the part of a receiver URL that is safe to log: scheme and host, without the path, query or
// user info, where webhook secrets live.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Scheme + "://" + u.Host
}

// RedactedNotifyURL returns the part of the notify URL that is safe to log (scheme and host).
func (c Config) RedactedNotifyURL() string {
	if c.NotifyURL == "" {
		return ""
	}
	return redactURL(c.NotifyURL)
}

// unwrapURLError drops the *url.Error wrapper, whose message repeats the full URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// newNotifyClient is the HTTP client of Notify: bounded by NotifyTimeout, and not following redirects.
func newNotifyClient() *http.Client {
	return &http.Client{
		Timeout:       NotifyTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
