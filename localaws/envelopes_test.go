package localaws_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestErrorEnvelopesThroughTheListener: every error localaws answers, from the listener (unknown service,
// refused Host, injected fault) or from a service, is in its protocol's envelope with its code where the
// SDKs look: JSON 1.1 in the body's __type and X-Amzn-Errortype alike, REST-JSON in X-Amzn-Errortype,
// REST-XML in <Code>.
func TestErrorEnvelopesThroughTheListener(t *testing.T) {
	e := start(t, "")
	sm := func(op string) map[string]string {
		return map[string]string{"X-Amz-Target": "SageMaker." + op, "Content-Type": "application/x-amz-json-1.1"}
	}
	tests := []struct {
		name, method, path, host, body string
		header                         map[string]string
		fault                          string
		wantStatus                     int
		wantCode                       string
	}{
		{name: "sagemaker validation", method: "POST", path: "/", header: sm("DescribeTrainingJob"), body: `{"TrainingJobName": "none"}`,
			wantStatus: 400, wantCode: "ValidationException"},
		{name: "lambda unknown function", method: "POST", path: "/2015-03-31/functions/none/invocations", body: `{}`,
			wantStatus: 404, wantCode: "ResourceNotFoundException"},
		{name: "sagemaker unknown operation", method: "POST", path: "/", header: sm("CreateEndpoint"), body: `{}`,
			wantStatus: 400, wantCode: "UnknownOperationException"},
		{name: "unknown service", method: "POST", path: "/", body: `{}`,
			header:     map[string]string{"Authorization": authFor("dynamodb")},
			wantStatus: 400, wantCode: "UnrecognizedServiceException"},
		{name: "sagemaker refused host", method: "POST", path: "/", host: "attacker.example", header: sm("ListTrainingJobs"), body: `{}`,
			wantStatus: 400, wantCode: "AccessDeniedException"},
		{name: "lambda refused host", method: "GET", path: "/2015-03-31/functions/", host: "attacker.example",
			wantStatus: 403, wantCode: "AccessDeniedException"},
		{name: "s3 refused host", method: "GET", path: "/", host: "attacker.example", wantStatus: 403, wantCode: "AccessDenied"},
		{name: "sagemaker injected throttling", method: "POST", path: "/", header: sm("ListTrainingJobs"), body: `{}`,
			fault: `{"Throttle": 1}`, wantStatus: 400, wantCode: "ThrottlingException"},
		{name: "lambda injected server error", method: "GET", path: "/2015-03-31/functions/",
			fault: `{"ServerError": 1}`, wantStatus: 500, wantCode: "InternalFailure"},
		{name: "s3 injected throttling", method: "GET", path: "/", fault: `{"Throttle": 1}`, wantStatus: 503, wantCode: "SlowDown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fault != "" {
				if status, body := setFaults(t, e, tt.fault); status != http.StatusOK {
					t.Fatalf("set faults: %d %s", status, body)
				}
				defer do(t, http.MethodDelete, e.http.URL+"/_localaws/faults", nil, jsonType)
			}
			status, body, h := send(t, tt.method, e.http.URL+tt.path, tt.host, tt.header, tt.body)
			if status != tt.wantStatus {
				t.Errorf("status %d, want %d: %s", status, tt.wantStatus, body)
			}
			switch ct := h.Get("Content-Type"); {
			case strings.Contains(ct, "xml"):
				if !strings.Contains(body, "<Code>"+tt.wantCode+"</Code>") {
					t.Errorf("body %s, want <Code>%s</Code>", body, tt.wantCode)
				}
			default:
				if got := h.Get("X-Amzn-Errortype"); got != tt.wantCode {
					t.Errorf("X-Amzn-Errortype %q, want %q", got, tt.wantCode)
				}
				var m map[string]string
				if err := json.Unmarshal([]byte(body), &m); err != nil {
					t.Fatalf("body %s: %v", body, err)
				}
				if typ, ok := m["__type"]; ct == "application/x-amz-json-1.1" && (!ok || typ != tt.wantCode) {
					t.Errorf("__type %q, want %q", typ, tt.wantCode)
				}
				if m["message"] == "" {
					t.Errorf("no message in %s", body)
				}
			}
		})
	}
}

// send makes one request (with Host host when not empty) and returns the status, body and headers.
func send(t *testing.T, method, url, host string, header map[string]string, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}
