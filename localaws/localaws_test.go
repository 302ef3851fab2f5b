package localaws_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/mdlc/mdlc/localaws"
	"github.com/mdlc/mdlc/localaws/algorithm"
)

// noAlgorithms is a resolver for tests that train nothing.
type noAlgorithms struct{}

func (noAlgorithms) Resolve(image string) (algorithm.Algorithm, error) {
	return nil, errors.New("no algorithms in this test")
}

// records collects log records, to see where requests were routed.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

// requests returns the service and operation of each logged request.
func (r *records) requests() [][2]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out [][2]string
	for _, rec := range r.recs {
		if rec.Message != "request" {
			continue
		}
		var svc, op string
		rec.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "service":
				svc = a.Value.String()
			case "operation":
				op = a.Value.String()
			}
			return true
		})
		out = append(out, [2]string{svc, op})
	}
	return out
}

type env struct {
	server  *localaws.Server
	http    *httptest.Server
	dataDir string
	logs    *records
}

// start serves a new localaws on dataDir (a fresh directory when empty) on a loopback listener.
func start(t *testing.T, dataDir string, mutate ...func(*localaws.Options)) *env {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	logs := &records{}
	opts := localaws.Options{DataDir: dataDir, Algorithms: noAlgorithms{}, Logger: slog.New(logs)}
	for _, m := range mutate {
		m(&opts)
	}
	srv, err := localaws.New(context.Background(), opts)
	if err != nil {
		t.Fatalf("new localaws: %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("close localaws: %v", err)
		}
	})
	return &env{server: srv, http: hs, dataDir: dataDir, logs: logs}
}

// stop closes the listener and the server before the test ends (e.g. to restart on the same DataDir).
func (e *env) stop(t *testing.T) {
	t.Helper()
	e.http.Close()
	if err := e.server.Close(); err != nil {
		t.Fatalf("close localaws: %v", err)
	}
}

// fastRetries keeps the SDK's standard retry rules (what is retryable, max attempts) with short backoffs.
func fastRetries(attempts int) func() aws.Retryer {
	return func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.Backoff = retry.NewExponentialJitterBackoff(20 * time.Millisecond)
		})
	}
}

func (e *env) config(attempts int) aws.Config {
	return aws.Config{
		Region: "us-east-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", Source: "test"}, nil
		}),
		BaseEndpoint: aws.String(e.http.URL),
		Retryer:      fastRetries(attempts),
	}
}

func (e *env) s3(attempts int) *s3.Client {
	return s3.NewFromConfig(e.config(attempts), func(o *s3.Options) { o.UsePathStyle = true })
}

func (e *env) lambda(attempts int) *lambda.Client {
	return lambda.NewFromConfig(e.config(attempts))
}

// errorCode returns the AWS error code of err, or "" when it has none.
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// do sends a raw request and returns the status and body.
func do(t *testing.T, method, url string, body io.Reader, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, url, err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s %s: %v", method, url, err)
	}
	return resp.StatusCode, string(b)
}
