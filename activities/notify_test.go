package activities

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
)

// receiver is a notification receiver that answers status and records what it received.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	status   int
	requests []*http.Request
	bodies   [][]byte
}

func newReceiver(t *testing.T, status int) *receiver {
	r := &receiver{status: status}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.requests, r.bodies = append(r.requests, req), append(r.bodies, b)
		r.mu.Unlock()
		if r.status/100 == 3 {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(r.status)
	}))
	t.Cleanup(r.Close)
	return r
}

func notifyActivities(t *testing.T, notifyURL string) *Activities {
	t.Helper()
	cfg := testConfig()
	cfg.NotifyURL, cfg.UIAddress = notifyURL, "https://temporal.example.com/"
	a, err := New(newFakeSageMaker(), &fakeLambda{}, cfg)
	require.NoError(t, err)
	return a
}

var sampleNotification = Notification{
	Namespace: "default", WorkflowType: "BatchInference", WorkflowID: "batch-inference-churn-2019-11-01", RunID: "r-1",
	ModelName: "churn", DataDate: "2019-11-01", Status: StatusCompleted,
	Decision: "Keep", AUC: ptr(0.91), Threshold: ptr(0.8), ModelPackageArn: "arn:aws:sagemaker:us-east-1:000000000000:model-package/churn/1",
	StartTime: time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC), CloseTime: time.Date(2026, 12, 7, 20, 1, 0, 0, time.UTC),
}

func ptr[T any](v T) *T { return &v }

// TestNotifyPostsTheNotification: one POST of the documented JSON shape, with the run's web UI link and an
// idempotency key that is the same on every attempt.
func TestNotifyPostsTheNotification(t *testing.T) {
	r := newReceiver(t, http.StatusOK)
	a := notifyActivities(t, r.URL+"/hooks/mdlc")
	out, err := execute[NotifyOutput](t, a.Notify, NotifyInput{Notification: sampleNotification})
	require.NoError(t, err)
	require.Equal(t, NotifyOutput{Sent: true, StatusCode: http.StatusOK}, out)

	require.Len(t, r.requests, 1)
	req := r.requests[0]
	require.Equal(t, http.MethodPost, req.Method)
	require.Equal(t, "/hooks/mdlc", req.URL.Path)
	require.Equal(t, "application/json", req.Header.Get("Content-Type"))
	require.Equal(t, "batch-inference-churn-2019-11-01/r-1", req.Header.Get("Idempotency-Key"))

	var got map[string]any
	require.NoError(t, json.Unmarshal(r.bodies[0], &got))
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	// The shape the README documents; omitted here: ParentWorkflowID, FailedStep, Failure, TrainingJobName and
	// ModelPackageVersion, which are empty for this run.
	require.Equal(t, []string{"AUC", "CloseTime", "DataDate", "Decision", "ModelName", "ModelPackageArn", "Namespace",
		"RunID", "StartTime", "Status", "Threshold", "URL", "Version", "WorkflowID", "WorkflowType"}, keys)
	require.Equal(t, float64(NotificationVersion), got["Version"])
	require.Equal(t, "COMPLETED", got["Status"])
	require.Equal(t, 0.91, got["AUC"])
	require.Equal(t, "2026-12-07T20:01:00Z", got["CloseTime"])
	require.Equal(t, "https://temporal.example.com/namespaces/default/workflows/batch-inference-churn-2019-11-01/r-1/history", got["URL"])
}

// TestNotifyReceiverAnswers: what the receiver answers decides whether the activity's retry policy tries
// again: 2xx is delivered; 408, 429 and 5xx are retried; a redirect or another 4xx says the request is wrong.
func TestNotifyReceiverAnswers(t *testing.T) {
	for _, tc := range []struct {
		status    int
		delivered bool
		retryable bool
	}{
		{http.StatusOK, true, false},
		{http.StatusAccepted, true, false},
		{http.StatusNoContent, true, false},
		{http.StatusInternalServerError, false, true},
		{http.StatusBadGateway, false, true},
		{http.StatusServiceUnavailable, false, true},
		{http.StatusTooManyRequests, false, true},
		{http.StatusRequestTimeout, false, true},
		{http.StatusBadRequest, false, false},
		{http.StatusUnauthorized, false, false},
		{http.StatusNotFound, false, false},
		{http.StatusFound, false, false},
		{http.StatusPermanentRedirect, false, false},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			r := newReceiver(t, tc.status)
			_, err := execute[NotifyOutput](t, notifyActivities(t, r.URL).Notify, NotifyInput{Notification: sampleNotification})
			require.Len(t, r.requests, 1, "one POST per attempt; a redirect is not followed")
			if tc.delivered {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			if tc.retryable {
				var app *temporal.ApplicationError
				require.ErrorAs(t, err, &app)
				require.False(t, app.NonRetryable(), "%d must be retried: %v", tc.status, err)
				require.Contains(t, err.Error(), "answered")
				return
			}
			requireAppError(t, err, ErrNotificationRejected, true)
		})
	}
}

// TestNotifyWithoutURLSendsNothing: a worker without --notify-url that picks up a run whose defaults said
// notifications are on sends nothing and does not fail.
func TestNotifyWithoutURLSendsNothing(t *testing.T) {
	out, err := execute[NotifyOutput](t, notifyActivities(t, "").Notify, NotifyInput{Notification: sampleNotification})
	require.NoError(t, err)
	require.False(t, out.Sent)
}

// TestNotifyErrorsHideTheURLPath: webhook URLs carry their secret in the path or query, so errors (recorded
// in the history, shown in the web UI) name only the receiver's scheme and host.
func TestNotifyErrorsHideTheURLPath(t *testing.T) {
	r := newReceiver(t, http.StatusOK)
	secretURL := r.URL + "/hooks/T000/B000/s3cr3t-token?key=also-secret"
	r.Close() // nothing answers: a connection error

	_, err := execute[NotifyOutput](t, notifyActivities(t, secretURL).Notify, NotifyInput{Notification: sampleNotification})
	require.Error(t, err)
	require.Contains(t, err.Error(), "post notification to "+r.URL)
	require.NotContains(t, err.Error(), "s3cr3t")
	require.NotContains(t, err.Error(), "also-secret")

	r2 := newReceiver(t, http.StatusServiceUnavailable)
	_, err = execute[NotifyOutput](t, notifyActivities(t, r2.URL+"/s3cr3t-token").Notify, NotifyInput{Notification: sampleNotification})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "s3cr3t")
}

func TestNotifyConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name, notifyURL, uiAddress, want string
	}{
		{"no notify URL", "", "", ""},
		{"https receiver", "https://hooks.example.com/mdlc?token=x", "http://127.0.0.1:8233", ""},
		{"no scheme", "hooks.example.com/mdlc", "", `notify URL "hooks.example.com/mdlc" is not an http(s) URL`},
		{"other scheme", "mailto:ops@example.com", "", `scheme "mailto" is not http or https`},
		{"no host", "http:///x", "", "(no host)"},
		{"bad web UI address", "", "127.0.0.1:8233", `web UI address "127.0.0.1:8233" is not an http(s) URL`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.NotifyURL, cfg.UIAddress = tc.notifyURL, tc.uiAddress
			err := cfg.WithDefaults().Validate()
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
}
