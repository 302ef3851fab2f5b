package lambdasvc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"
)

type ptrErr struct{}

func (*ptrErr) Error() string { return "pointer" }

type valErr struct{}

func (valErr) Error() string { return "value" }

func TestFunctionError(t *testing.T) {
	ive := messages.InvokeResponse_Error{Type: "Custom", Message: "custom"}
	tests := []struct {
		name              string
		err               error
		wantType, wantMsg string
	}{
		{"invoke error value", ive, "Custom", "custom"},
		{"invoke error wrapped", fmt.Errorf("ctx: %w", ive), "Custom", "custom"},
		{"invoke error pointer wrapped", fmt.Errorf("ctx: %w", &ive), "Custom", "custom"},
		{"pointer type", &ptrErr{}, "ptrErr", "pointer"},
		{"value type", valErr{}, "valErr", "value"},
		{"errors.New", errors.New("plain"), "errorString", "plain"},
		{"wrapped plain", fmt.Errorf("outer: %w", valErr{}), "wrapError", "outer: value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FunctionError(tt.err)
			if got.Type != tt.wantType || got.Message != tt.wantMsg {
				t.Errorf("got %q %q, want %q %q", got.Type, got.Message, tt.wantType, tt.wantMsg)
			}
		})
	}
	if got := PanicError(errors.New("x")); got.Type != "errorString" || got.Message != "x" {
		t.Errorf("panic with error: %+v", got)
	}
}

type handlerFunc func(context.Context, []byte) ([]byte, error)

func (f handlerFunc) Invoke(ctx context.Context, p []byte) ([]byte, error) { return f(ctx, p) }

func TestRequests(t *testing.T) {
	s := New(Options{Region: "us-east-1", AccountID: "000000000000"})
	defer s.Close()
	if err := s.Register("f", handlerFunc(func(_ context.Context, p []byte) ([]byte, error) { return p, nil })); err != nil {
		t.Fatal(err)
	}
	if err := s.Register("nil", nil); err == nil {
		t.Error("registered a nil handler")
	}
	tests := []struct {
		method, path, invocationType, body string
		wantStatus                         int
		wantBody                           string
	}{
		{"POST", "/2015-03-31/functions/f/invocations", "", `{"a":1}`, 200, `{"a":1}`},
		{"POST", "/2015-03-31/functions/f/invocations", "", ``, 200, `{}`},
		{"POST", "/2015-03-31/functions/f/invocations", "Bogus", `{}`, 400, `InvalidParameterValueException`},
		{"POST", "/2015-03-31/functions/bad%20name/invocations", "", `{}`, 400, `ValidationException`},
		{"POST", "/2015-03-31/functions/f:v1/invocations", "", `{}`, 404, `Function not found: arn:aws:lambda:us-east-1:000000000000:function:f:v1`},
		{"POST", "/2015-03-31/functions/f/invocations?Qualifier=v2", "", `{}`, 404, `function:f:v2`},
		{"POST", "/2015-03-31/functions/f%3Av1/invocations?Qualifier=v2", "", `{}`, 400, `does not match`},
		{"POST", "/2015-03-31/functions/f/invocations", "", `{"a":`, 400, `InvalidRequestContentException`},
		{"DELETE", "/2015-03-31/functions/f", "", ``, 404, `UnknownOperationException`},
		{"GET", "/2015-03-31/functions/f/configuration", "", ``, 200, `"FunctionName":"f"`},
		{"GET", "/2015-03-31/functions/?MaxItems=0", "", ``, 400, `MaxItems`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.invocationType, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.invocationType != "" {
				r.Header.Set("X-Amz-Invocation-Type", tt.invocationType)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			got := w.Header().Get("X-Amzn-Errortype") + " " + w.Body.String()
			if w.Code != tt.wantStatus || !strings.Contains(got, tt.wantBody) {
				t.Errorf("got %d %s, want %d containing %s", w.Code, got, tt.wantStatus, tt.wantBody)
			}
			if w.Code >= 400 && w.Header().Get("X-Amzn-Errortype") == "" {
				t.Error("error without X-Amzn-Errortype")
			}
			if w.Header().Get("X-Amzn-Requestid") == "" {
				t.Error("no request ID")
			}
		})
	}
	if w := httptest.NewRecorder(); true {
		s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/2015-03-31/functions/f/invocations", strings.NewReader("{}")))
		if w.Header().Get("X-Amz-Executed-Version") != "$LATEST" {
			t.Errorf("executed version %q", w.Header().Get("X-Amz-Executed-Version"))
		}
	}
}
