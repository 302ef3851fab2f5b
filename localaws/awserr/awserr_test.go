package awserr

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name       string
		protocol   Protocol
		err        error
		wantStatus int
		wantHeader map[string]string
		wantBody   string
	}{
		{"json 1.1", JSON11, New(SageMakerValidation, "Requested resource not found."), 400,
			map[string]string{"Content-Type": "application/x-amz-json-1.1"},
			`{"__type":"ValidationException","message":"Requested resource not found."}`},
		{"rest-json", RESTJSON, fmt.Errorf("lookup: %w", New(LambdaResourceNotFound, "Function not found: %s", "arn")), 404,
			map[string]string{"X-Amzn-Errortype": "ResourceNotFoundException"},
			`{"Type":"User","message":"Function not found: arn"}`},
		{"rest-json extra", RESTJSON, &Error{Code: LambdaTooManyRequests, Message: "Rate exceeded", Extra: map[string]string{"Reason": "CallerRateLimitExceeded", "Type": "ignored"}}, 429,
			nil, `{"Reason":"CallerRateLimitExceeded","Type":"User","message":"Rate exceeded"}`},
		{"rest-xml", RESTXML, New(S3SlowDown, "Please reduce your request rate."), 503,
			map[string]string{"Content-Type": "application/xml"},
			`<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>req</RequestId></Error>`},
		{"json 1.1 modelled Message member", JSON11, New(SageMakerResourceInUse, "taken"), 400,
			map[string]string{"X-Amzn-Errortype": "ResourceInUse"},
			`{"Message":"taken","__type":"ResourceInUse","message":"taken"}`},
		{"plain error is internal", JSON11, errors.New("disk full"), 500, nil, `{"__type":"InternalFailure","message":"disk full"}`},
		{"plain error is internal in xml", RESTXML, errors.New("disk full"), 500, nil, `<Code>InternalError</Code>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			Write(w, tt.protocol, "req", tt.err)
			if w.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", w.Code, tt.wantStatus)
			}
			for k, v := range tt.wantHeader {
				if got := w.Header().Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if body := w.Body.String(); !strings.Contains(body, tt.wantBody) {
				t.Errorf("body %s, want %s", body, tt.wantBody)
			}
		})
	}
}

// TestRequestIDsAreUUIDs: AWS request IDs are version 4 UUIDs, and no two are alike.
func TestRequestIDsAreUUIDs(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b := NewRequestID(), NewRequestID()
	if !uuid.MatchString(a) || !uuid.MatchString(b) || a == b {
		t.Errorf("request IDs %q and %q: want two different version 4 UUIDs", a, b)
	}
}
