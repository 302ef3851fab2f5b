package main

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mdlc/mdlc/workflows"
)

func noEnv(string) string { return "" }

func TestLocalDefaults(t *testing.T) {
	c, err := parseConfig(nil, noEnv, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "local", c.target)
	require.Equal(t, "mdlc-local", c.pipeline.Bucket)
	require.Equal(t, time.Second, c.pipeline.PollInterval)
	require.Equal(t, 0.8, c.pipeline.DefaultThreshold)
	require.Equal(t, "200", c.pipeline.Hyperparameters["num_round"])
	require.Equal(t, int32(10), c.pipeline.TransformInstanceCount)
	require.Zero(t, c.pipeline.RetrainCooldown, "the cooldown is off unless asked for")
	require.Zero(t, c.pipeline.MaxRetrainsPerDay, "no cap unless asked for")
	require.Zero(t, c.pipeline.PromotionMargin, "equal AUCs promote unless asked otherwise")
}

func TestPromotionMarginFlag(t *testing.T) {
	c, err := parseConfig([]string{"--promotion-margin", "0.02"}, noEnv, io.Discard)
	require.NoError(t, err)
	require.Equal(t, 0.02, c.pipeline.PromotionMargin)
	c, err = parseConfig(nil, func(k string) string { return map[string]string{"MDLC_PROMOTION_MARGIN": "0.1"}[k] }, io.Discard)
	require.NoError(t, err)
	require.Equal(t, 0.1, c.pipeline.PromotionMargin)
}

func TestRetrainGuardFlags(t *testing.T) {
	c, err := parseConfig([]string{"--retrain-cooldown", "24h", "--max-retrains-per-day", "2"}, noEnv, io.Discard)
	require.NoError(t, err)
	require.Equal(t, 24*time.Hour, c.pipeline.RetrainCooldown)
	require.Equal(t, 2, c.pipeline.MaxRetrainsPerDay)
	env := map[string]string{"MDLC_RETRAIN_COOLDOWN": "90m", "MDLC_MAX_RETRAINS_PER_DAY": "3"}
	c, err = parseConfig(nil, func(k string) string { return env[k] }, io.Discard)
	require.NoError(t, err)
	require.Equal(t, 90*time.Minute, c.pipeline.RetrainCooldown)
	require.Equal(t, 3, c.pipeline.MaxRetrainsPerDay)
}

func TestAWSTargetNeedsBucketAndRole(t *testing.T) {
	_, err := parseConfig([]string{"--target", "aws"}, noEnv, io.Discard)
	require.ErrorContains(t, err, "--bucket (MDLC_BUCKET) is required")
	require.ErrorContains(t, err, "--role-arn (MDLC_ROLE_ARN) is required")

	env := map[string]string{"MDLC_TARGET": "aws", "MDLC_BUCKET": "my-ml-bucket", "MDLC_ROLE_ARN": "arn:aws:iam::123456789012:role/sm", "MDLC_THRESHOLD": "0.75"}
	c, err := parseConfig(nil, func(k string) string { return env[k] }, io.Discard)
	require.NoError(t, err)
	require.Equal(t, 30*time.Second, c.pipeline.PollInterval)
	require.Equal(t, 0.75, c.pipeline.DefaultThreshold)
	c, err = parseConfig([]string{"--poll-interval", "45s", "--hyperparameters", "max_depth=6, num_round=50"}, func(k string) string { return env[k] }, io.Discard)
	require.NoError(t, err)
	require.Equal(t, 45*time.Second, c.pipeline.PollInterval)
	require.Equal(t, "6", c.pipeline.Hyperparameters["max_depth"])
	require.Equal(t, "50", c.pipeline.Hyperparameters["num_round"])
	require.Equal(t, "0.7", c.pipeline.Hyperparameters["subsample"])
}

func TestBadConfiguration(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--threshold", "1.5"}, "--threshold \"1.5\" must be a number in [0, 1]"},
		{[]string{"--threshold", "abc"}, "must be a number in [0, 1]"},
		{[]string{"--target", "gcp"}, "--target \"gcp\" must be local or aws"},
		{[]string{"--hyperparameters", "max_depth"}, "is not key=value"},
		{[]string{"--max-runtime", "forever"}, "--max-runtime \"forever\" is not a duration"},
		{[]string{"--poll-interval", "often"}, "--poll-interval \"often\" is not a duration"},
		{[]string{"--bucket", "Not_A_Bucket"}, "is not a valid S3 bucket name"},
		{[]string{"--role-arn", "admin"}, "is not an IAM role ARN"},
		{[]string{"--approval-status", "Maybe"}, "must be Approved or PendingManualApproval"},
		{[]string{"--approval-timeout", "a week"}, `--approval-timeout "a week" must be a duration from 1s to 8760h0m0s`},
		{[]string{"--approval-timeout", "0s"}, `--approval-timeout "0s" must be a duration from 1s`},
		{[]string{"--approval-timeout", "9000h"}, `--approval-timeout "9000h" must be a duration from 1s`},
		{[]string{"--transform-instance-count", "0"}, "must be at least 1"},
		{[]string{"--log-format", "xml"}, "must be text or json"},
		{[]string{"--retrain-cooldown", "a day"}, "--retrain-cooldown \"a day\" is not a duration of 0 or more"},
		{[]string{"--retrain-cooldown", "-1h"}, "--retrain-cooldown \"-1h\" is not a duration of 0 or more"},
		{[]string{"--max-retrains-per-day", "-2"}, "--max-retrains-per-day -2 must be 0 (no cap) or more"},
		{[]string{"--promotion-margin", "-0.1"}, "--promotion-margin \"-0.1\" must be a number in [0, 1]"},
		{[]string{"--promotion-margin", "NaN"}, "--promotion-margin \"NaN\" must be a number in [0, 1]"},
		{[]string{"--promotion-margin", "a bit"}, "--promotion-margin \"a bit\" must be a number in [0, 1]"},
		{[]string{"--max-retrains-per-day", "many"}, "invalid value \"many\" for flag -max-retrains-per-day"},
		{[]string{"--pollers", "0"}, "--pollers 0 must be between 1 and 100"},
		{[]string{"--log-level", "loud"}, "must be debug, info, warn or error"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"--no-such-flag"}, "flag provided but not defined"},
		{[]string{"--notify-url", "hooks.example.com/mdlc"}, `--notify-url "hooks.example.com/mdlc" is not an http(s) URL (scheme "" is not http or https)`},
		{[]string{"--notify-url", "ftp://example.com/x"}, `--notify-url "ftp://example.com/x" is not an http(s) URL (scheme "ftp" is not http or https)`},
		{[]string{"--notify-url", "https:///path"}, "is not an http(s) URL (no host)"},
		{[]string{"--notify-url", "ftp://" + strings.Repeat("x", 200)}, `xx"… (206 bytes) is not an http(s) URL`},
		{[]string{"--ui-address", "localhost:8233"}, "--ui-address \"localhost:8233\" is not an http(s) URL"},
		{[]string{"--notify-watch-interval", "100ms"}, "--notify-watch-interval 100ms must be between 1s and 1h"},
		{[]string{"--notify-watch-interval", "2h"}, "--notify-watch-interval 2h0m0s must be between 1s and 1h"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := parseConfig(tc.args, noEnv, io.Discard)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestNotifyURL: notifications are off unless --notify-url or MDLC_NOTIFY_URL names a receiver; the flag wins
// over the environment, and the web UI address for the links defaults to the dev server's.
func TestNotifyURL(t *testing.T) {
	c, err := parseConfig(nil, noEnv, io.Discard)
	require.NoError(t, err)
	require.Empty(t, c.pipeline.NotifyURL)
	require.Equal(t, "http://127.0.0.1:8233", c.pipeline.UIAddress)

	env := map[string]string{"MDLC_NOTIFY_URL": "https://hooks.example.com/env", "MDLC_UI_ADDRESS": "https://temporal.example.com"}
	c, err = parseConfig(nil, func(k string) string { return env[k] }, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "https://hooks.example.com/env", c.pipeline.NotifyURL)
	require.Equal(t, "https://temporal.example.com", c.pipeline.UIAddress)
	require.Equal(t, "https://hooks.example.com", c.pipeline.RedactedNotifyURL(), "logged without the path, where webhook secrets live")

	c, err = parseConfig([]string{"--notify-url", "http://127.0.0.1:9999/hook"}, func(k string) string { return env[k] }, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:9999/hook", c.pipeline.NotifyURL)
}

// TestHeartbeatsReachTheServerWellWithinTheirTimeout: the SDK sends a heartbeat at most every
// min(80 % of the heartbeat timeout, MaxHeartbeatThrottleInterval — 60 s when unset). Left at that, a
// waiting activity's heartbeats arrive every 16 s against a 20 s timeout, and a job that outlasts the
// timeout on a busy machine is timed out although the activity heartbeats every 5 s.
func TestHeartbeatsReachTheServerWellWithinTheirTimeout(t *testing.T) {
	c, err := parseConfig(nil, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	opts := workerOptions(c)
	throttle := opts.MaxHeartbeatThrottleInterval
	if throttle == 0 {
		throttle = time.Minute // the SDK's default cap
	}
	sent := min(time.Duration(0.8*float64(workflows.HeartbeatTimeout)), throttle)
	if sent > workflows.HeartbeatTimeout/2 {
		t.Errorf("heartbeats reach the server every %v against a timeout of %v; cap the worker's heartbeat throttle", sent, workflows.HeartbeatTimeout)
	}
	if sent > c.pipeline.HeartbeatInterval {
		t.Errorf("heartbeats reach the server every %v, less often than the activities send them (%v)", sent, c.pipeline.HeartbeatInterval)
	}
}

// TestMetricsOnAPortOfItsOwn: with port 0 the worker listens on a port the system picks and reports it, so
// whoever starts it (the local stack) never has to guess a free port that another process may take first.
func TestMetricsOnAPortOfItsOwn(t *testing.T) {
	_, addr, stop, err := serveMetrics("127.0.0.1:0", slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	defer stop()
	require.NotRegexp(t, `:0$`, addr)
	resp, err := http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}
