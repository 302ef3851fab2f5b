package localaws_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/mdlc/mdlc/localaws"
	"github.com/mdlc/mdlc/localaws/faults"
)

func authFor(service string) string {
	return fmt.Sprintf("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/%s/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", service)
}

func TestServiceOf(t *testing.T) {
	tests := []struct {
		name, method, target, auth, want string
		wantErr                          bool
	}{
		{name: "s3 by scope", method: "GET", target: "/bucket/key", auth: authFor("s3"), want: "s3"},
		{name: "lambda by scope", method: "POST", target: "/2015-03-31/functions/f/invocations", auth: authFor("lambda"), want: "lambda"},
		{name: "sagemaker by scope", method: "POST", target: "/", auth: authFor("sagemaker"), want: "sagemaker"},
		{name: "scope wins over path", method: "GET", target: "/2015-03-31/functions/", auth: authFor("s3"), want: "s3"},
		{name: "scope wins over target", method: "POST", target: "/", auth: authFor("lambda"), want: "lambda"},
		{name: "sigv4a scope", method: "GET", target: "/b", auth: "AWS4-ECDSA-P256-SHA256 Credential=test/20260101/s3/aws4_request, SignedHeaders=host, Signature=00", want: "s3"},
		{name: "presigned", method: "GET", target: "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20260101%2Fus-east-1%2Fs3%2Faws4_request", want: "s3"},
		{name: "presigned lambda", method: "GET", target: "/2015-03-31/functions/?X-Amz-Credential=test%2F20260101%2Fus-east-1%2Flambda%2Faws4_request", want: "lambda"},
		{name: "unsigned target", method: "POST", target: "/", want: "sagemaker"},
		{name: "logs by scope", method: "POST", target: "/", auth: authFor("logs"), want: "logs"},
		{name: "unsigned logs target", method: "POST", target: "/", want: "logs"},
		{name: "unsigned lambda path", method: "POST", target: "/2015-03-31/functions/f/invocations", want: "lambda"},
		{name: "unsigned lambda list", method: "GET", target: "/2015-03-31/functions", want: "lambda"},
		{name: "unsigned s3", method: "GET", target: "/bucket", want: "s3"},
		{name: "lookalike path is s3", method: "GET", target: "/2015-03-31/functionsx", want: "s3"},
		{name: "sigv2 is s3", method: "GET", target: "/bucket", auth: "AWS test:signature", want: "s3"},
		{name: "other service", method: "POST", target: "/", auth: authFor("sts"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			if tt.want == "sagemaker" && tt.auth == "" {
				r.Header.Set("X-Amz-Target", "SageMaker.ListTrainingJobs")
			}
			if tt.want == "logs" && tt.auth == "" {
				r.Header.Set("X-Amz-Target", "Logs_20140328.GetLogEvents")
			}
			got, err := localaws.ServiceOf(r)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ServiceOf = %q, %v; want %q (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRoutingWithSDKs(t *testing.T) {
	e, _ := startWithEcho(t)
	ctx := context.Background()
	if _, err := e.s3(1).ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		t.Fatalf("s3 list buckets: %v", err)
	}
	if _, err := e.lambda(1).ListFunctions(ctx, &awslambda.ListFunctionsInput{}); err != nil {
		t.Fatalf("lambda list functions: %v", err)
	}
	// Whatever SageMaker answers, the request must have reached it.
	_, _ = sagemaker.NewFromConfig(e.config(1)).ListTrainingJobs(ctx, &sagemaker.ListTrainingJobsInput{})
	// Without UsePathStyle: the SDK addresses an IP endpoint path-style on its own.
	if _, err := s3.NewFromConfig(e.config(1)).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("no-path-style")}); err != nil {
		t.Fatalf("s3 without UsePathStyle: %v", err)
	}
	// Signed for a service localaws does not serve.
	status, body := do(t, http.MethodPost, e.http.URL+"/", strings.NewReader("{}"), map[string]string{"Authorization": authFor("sts")})
	if status != http.StatusBadRequest || !strings.Contains(body, "UnrecognizedServiceException") {
		t.Errorf("sts request: %d %s", status, body)
	}

	got := e.logs.requests()
	want := [][2]string{
		{"s3", "ListBuckets"}, {"lambda", "ListFunctions"}, {"sagemaker", "ListTrainingJobs"}, {"s3", "CreateBucket"}, {"unknown", ""},
	}
	if !slices.Equal(got, want) {
		t.Errorf("routed requests: got %v, want %v", got, want)
	}
}

func TestHealthAndReset(t *testing.T) {
	e, _ := startWithEcho(t)
	ctx := context.Background()
	status, body := do(t, http.MethodGet, e.http.URL+"/_localaws/health", nil, nil)
	var h localaws.Health
	if err := json.Unmarshal([]byte(body), &h); err != nil || status != http.StatusOK {
		t.Fatalf("health: %d %s (%v)", status, body, err)
	}
	if h.Status != "ok" || !slices.Equal(h.Functions, []string{"echo"}) || !slices.Equal(h.Services, []string{"lambda", "logs", "s3", "sagemaker"}) {
		t.Errorf("health: %+v", h)
	}

	c := e.s3(1)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("to-reset")}); err != nil {
		t.Fatal(err)
	}
	putObject(t, c, "to-reset", "a/b.csv", "1\n")
	if status, body := do(t, http.MethodPost, e.http.URL+"/_localaws/reset", nil, jsonType); status != http.StatusOK {
		t.Fatalf("reset: %d %s", status, body)
	}
	out, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(out.Buckets) != 0 {
		t.Errorf("after reset: %+v, %v", out, err)
	}
	// Functions survive a reset.
	if _, err := e.lambda(1).GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("echo")}); err != nil {
		t.Errorf("function after reset: %v", err)
	}

	for _, bad := range []struct{ method, path string }{{"GET", "/_localaws/reset"}, {"GET", "/_localaws/nothing"}, {"PUT", "/_localaws/faults"}} {
		if status, _ := do(t, bad.method, e.http.URL+bad.path, nil, nil); status < 400 {
			t.Errorf("%s %s: status %d", bad.method, bad.path, status)
		}
	}
}

// jsonType is the header control requests that change state need.
var jsonType = map[string]string{"Content-Type": "application/json"}

func setFaults(t *testing.T, e *env, body string) (int, string) {
	t.Helper()
	return do(t, http.MethodPost, e.http.URL+"/_localaws/faults", strings.NewReader(body), jsonType)
}

func faultState(t *testing.T, e *env) faults.State {
	t.Helper()
	_, body := do(t, http.MethodGet, e.http.URL+"/_localaws/faults", nil, nil)
	var st faults.State
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("fault state %s: %v", body, err)
	}
	return st
}

// TestFaultsAreRetried shows the real SDK retryer getting through injected throttling and server errors.
func TestFaultsAreRetried(t *testing.T) {
	e, _ := startWithEcho(t)
	ctx := context.Background()
	if status, body := setFaults(t, e, `{"Throttle": 0.3, "ServerError": 0.2, "Services": ["s3", "lambda"], "Seed": 7}`); status != http.StatusOK {
		t.Fatalf("set faults: %d %s", status, body)
	}
	c := e.s3(25)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("flaky")}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	for i := range 10 {
		key := fmt.Sprintf("k/%d", i)
		putObject(t, c, "flaky", key, key)
		if got, _ := getObject(t, c, "flaky", key); got != key {
			t.Errorf("get %s: %q", key, got)
		}
	}
	l := e.lambda(25)
	for i := range 10 {
		out, err := l.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(fmt.Sprintf(`{"Value": %d}`, i))})
		if err != nil || out.FunctionError != nil {
			t.Fatalf("invoke %d: %v", i, err)
		}
	}
	st := faultState(t, e)
	for _, svc := range []string{"s3", "lambda"} {
		if n := st.Injected[svc]; n.Throttle == 0 || n.ServerError == 0 {
			t.Errorf("%s: injected %+v, want both kinds", svc, n)
		}
	}
	if n, ok := st.Injected["sagemaker"]; ok {
		t.Errorf("sagemaker was not selected but got %+v", n)
	}
}

func TestFaultsHaveNoSideEffects(t *testing.T) {
	e, _ := startWithEcho(t)
	ctx := context.Background()
	if status, body := setFaults(t, e, `{"Throttle": 1, "Services": ["s3"]}`); status != http.StatusOK {
		t.Fatalf("set faults: %d %s", status, body)
	}
	_, err := e.s3(1).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("never")})
	if errorCode(err) != "SlowDown" {
		t.Errorf("throttled create bucket: got %v, want SlowDown", err)
	}
	_, err = e.s3(3).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("never")})
	if errorCode(err) != "SlowDown" {
		t.Errorf("throttled create bucket with retries: got %v, want SlowDown", err)
	}
	if n := faultState(t, e).Injected["s3"].Throttle; n != 4 {
		t.Errorf("injected %d throttles, want 4 (1 + 3 attempts)", n)
	}
	if status, _ := do(t, http.MethodDelete, e.http.URL+"/_localaws/faults", nil, nil); status != http.StatusOK {
		t.Fatalf("clear faults: %d", status)
	}
	out, err := e.s3(1).ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(out.Buckets) != 0 {
		t.Errorf("faulted create bucket created something: %+v, %v", out, err)
	}
}

func TestFaultEnvelopes(t *testing.T) {
	e, _ := startWithEcho(t)
	ctx := context.Background()
	tests := []struct {
		setting    string
		method     string
		path       string
		header     map[string]string
		wantStatus int
		wantBody   []string
	}{
		{`{"Throttle": 1, "Services": ["sagemaker"]}`, "POST", "/", map[string]string{"X-Amz-Target": "SageMaker.ListTrainingJobs"},
			400, []string{`"__type":"ThrottlingException"`, `"message":"Rate exceeded"`}},
		{`{"ServerError": 1, "Services": ["sagemaker"]}`, "POST", "/", map[string]string{"X-Amz-Target": "SageMaker.ListTrainingJobs"},
			500, []string{`"__type":"InternalFailure"`}},
		{`{"Throttle": 1, "Services": ["lambda"]}`, "GET", "/2015-03-31/functions/", nil,
			429, []string{`"Type":"User"`, `"Reason":"CallerRateLimitExceeded"`}},
		{`{"ServerError": 1}`, "GET", "/2015-03-31/functions/", nil, 500, []string{`"message"`}},
		{`{"Throttle": 1}`, "GET", "/", nil, 503, []string{"<Code>SlowDown</Code>"}},
		{`{"ServerError": 1}`, "GET", "/", nil, 500, []string{"<Code>InternalError</Code>"}},
	}
	for _, tt := range tests {
		t.Run(tt.setting+" "+tt.path, func(t *testing.T) {
			if status, body := setFaults(t, e, tt.setting); status != http.StatusOK {
				t.Fatalf("set faults: %d %s", status, body)
			}
			status, body := do(t, tt.method, e.http.URL+tt.path, nil, tt.header)
			if status != tt.wantStatus {
				t.Errorf("status %d, want %d (%s)", status, tt.wantStatus, body)
			}
			for _, w := range tt.wantBody {
				if !strings.Contains(body, w) {
					t.Errorf("body %s lacks %s", body, w)
				}
			}
		})
	}
	// The SDK decodes Lambda's throttling error as its modeled type.
	if status, _ := setFaults(t, e, `{"Throttle": 1, "Services": ["lambda"]}`); status != http.StatusOK {
		t.Fatal("set faults")
	}
	_, err := e.lambda(1).Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo")})
	var tooMany *types.TooManyRequestsException
	if !errors.As(err, &tooMany) {
		t.Errorf("throttled invoke: got %v, want TooManyRequestsException", err)
	}
	// Control endpoints are never faulted.
	if status, _ := do(t, http.MethodGet, e.http.URL+"/_localaws/health", nil, nil); status != http.StatusOK {
		t.Errorf("health while faulting: %d", status)
	}

	for _, bad := range []string{`{"Throttle": 2}`, `{"Throttle": 0.6, "ServerError": 0.6}`, `{"Services": ["ec2"], "Throttle": 0.1}`, `{"Throtle": 0.1}`, `not json`} {
		if status, _ := setFaults(t, e, bad); status != http.StatusBadRequest {
			t.Errorf("set faults %s: status %d, want 400", bad, status)
		}
	}
}
