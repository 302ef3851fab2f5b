package localaws_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	golambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/mdlc/mdlc/localaws"
)

type echoIn struct {
	Mode  string
	Value int
}

type echoOut struct {
	Value       int
	FunctionArn string
	HasDeadline bool
	HasRequest  bool
}

// notReady is a custom error type returned by pointer.
type notReady struct{ what string }

func (e *notReady) Error() string { return e.what + " is not ready" }

// badInput is a custom error type returned by value.
type badInput string

func (e badInput) Error() string { return "bad input: " + string(e) }

// echo is the test function: it answers by Mode, and reports what its context carries.
func echo(ctx context.Context, in echoIn) (echoOut, error) {
	switch in.Mode {
	case "invoke-error":
		return echoOut{}, fmt.Errorf("find model: %w", messages.InvokeResponse_Error{Type: "ModelNotFound", Message: "Unable to find model"})
	case "pointer-error":
		return echoOut{}, &notReady{what: "model"}
	case "wrapped-error":
		return echoOut{}, fmt.Errorf("wrapped: %w", &notReady{what: "model"})
	case "value-error":
		return echoOut{}, badInput("Value")
	case "panic":
		panic("boom")
	case "sleep":
		<-ctx.Done()
		return echoOut{}, ctx.Err()
	}
	lc, ok := lambdacontext.FromContext(ctx)
	_, hasDeadline := ctx.Deadline()
	out := echoOut{Value: in.Value * 2, HasDeadline: hasDeadline, HasRequest: ok && lc.AwsRequestID != ""}
	if ok {
		out.FunctionArn = lc.InvokedFunctionArn
	}
	return out, nil
}

func startWithEcho(t *testing.T, mutate ...func(*localaws.Options)) (*env, golambda.Handler) {
	t.Helper()
	e := start(t, "", mutate...)
	h := golambda.NewHandler(echo)
	if err := e.server.RegisterFunction("echo", h); err != nil {
		t.Fatal(err)
	}
	return e, h
}

func TestLambdaInvoke(t *testing.T) {
	e, h := startWithEcho(t)
	c := e.lambda(1)
	arn := "arn:aws:lambda:us-east-1:000000000000:function:echo"
	tests := []struct {
		name, function, qualifier, wantArn string
	}{
		{"name", "echo", "", arn},
		{"full arn", arn, "", arn},
		{"full arn with $LATEST", arn + ":$LATEST", "", arn + ":$LATEST"},
		{"partial arn", "000000000000:function:echo", "", arn},
		{"function: prefix", "function:echo", "", arn},
		{"qualifier parameter", "echo", "$LATEST", arn + ":$LATEST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := []byte(`{"Value": 21}`)
			out, err := c.Invoke(context.Background(), &awslambda.InvokeInput{
				FunctionName: aws.String(tt.function), Payload: payload, Qualifier: optional(tt.qualifier),
			})
			if err != nil {
				t.Fatalf("invoke %s: %v", tt.function, err)
			}
			if out.FunctionError != nil {
				t.Fatalf("invoke %s: function error %s: %s", tt.function, *out.FunctionError, out.Payload)
			}
			if aws.ToString(out.ExecutedVersion) != "$LATEST" || out.StatusCode != http.StatusOK {
				t.Errorf("invoke %s: version %q status %d", tt.function, aws.ToString(out.ExecutedVersion), out.StatusCode)
			}
			// The response is what the handler itself returns for the same context.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "direct", InvokedFunctionArn: tt.wantArn})
			direct, err := h.Invoke(ctx, payload)
			if err != nil {
				t.Fatal(err)
			}
			if string(out.Payload) != string(direct) {
				t.Errorf("invoke %s: got %s, want %s", tt.function, out.Payload, direct)
			}
			var got echoOut
			if err := json.Unmarshal(out.Payload, &got); err != nil || got.Value != 42 || !got.HasDeadline || !got.HasRequest || got.FunctionArn != tt.wantArn {
				t.Errorf("invoke %s: payload %s (%v)", tt.function, out.Payload, err)
			}
		})
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func TestLambdaFunctionErrors(t *testing.T) {
	e, _ := startWithEcho(t, func(o *localaws.Options) { o.FunctionTimeout = 200 * time.Millisecond })
	c := e.lambda(1)
	tests := []struct {
		mode, wantType, wantMessage string
	}{
		{"invoke-error", "ModelNotFound", "Unable to find model"},
		{"pointer-error", "notReady", "model is not ready"},
		// As the aws-lambda-go runtime does, the type is the returned error's own, not a wrapped one's.
		{"wrapped-error", "wrapError", "wrapped: model is not ready"},
		{"value-error", "badInput", "bad input: Value"},
		{"panic", "string", "boom"},
		{"sleep", "Sandbox.Timedout", "Task timed out after 0.20 seconds"},
		{"", "", ""}, // still serving after all of the above
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			out, err := c.Invoke(context.Background(), &awslambda.InvokeInput{
				FunctionName: aws.String("echo"), Payload: []byte(fmt.Sprintf(`{"Mode": %q, "Value": 1}`, tt.mode)),
			})
			if err != nil {
				t.Fatalf("invoke: %v", err)
			}
			if out.StatusCode != http.StatusOK {
				t.Errorf("status %d, want 200", out.StatusCode)
			}
			if tt.wantType == "" {
				if out.FunctionError != nil {
					t.Errorf("function error %s: %s", *out.FunctionError, out.Payload)
				}
				return
			}
			if aws.ToString(out.FunctionError) != "Unhandled" {
				t.Errorf("FunctionError %q, want Unhandled", aws.ToString(out.FunctionError))
			}
			var body struct{ ErrorMessage, ErrorType string }
			if err := json.Unmarshal(out.Payload, &body); err != nil {
				t.Fatalf("error body %s: %v", out.Payload, err)
			}
			if body.ErrorType != tt.wantType || !strings.Contains(body.ErrorMessage, tt.wantMessage) {
				t.Errorf("got %s, want errorType %q errorMessage containing %q", out.Payload, tt.wantType, tt.wantMessage)
			}
		})
	}
}

func TestLambdaRequestErrors(t *testing.T) {
	e, _ := startWithEcho(t)
	c := e.lambda(1)
	ctx := context.Background()

	_, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("nope")})
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) || !strings.Contains(notFound.ErrorMessage(), "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope") {
		t.Errorf("unknown function: got %v", err)
	}
	for _, ref := range []string{"arn:aws:lambda:eu-west-1:000000000000:function:echo", "111111111111:function:echo", "echo:prod"} {
		if _, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String(ref)}); !errors.As(err, &notFound) {
			t.Errorf("invoke %s: got %v, want ResourceNotFoundException", ref, err)
		}
	}
	_, err = c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"Value": `)})
	var badJSON *types.InvalidRequestContentException
	if !errors.As(err, &badJSON) {
		t.Errorf("invalid JSON: got %v, want InvalidRequestContentException", err)
	}
	_, err = c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(strings.Repeat(" ", 6*1024*1024+1))})
	var tooLarge *types.RequestTooLargeException
	if !errors.As(err, &tooLarge) {
		t.Errorf("oversized payload: got %v, want RequestTooLargeException", err)
	}

	// Raw: the error header and body shape.
	status, body := do(t, http.MethodPost, e.http.URL+"/2015-03-31/functions/nope/invocations", strings.NewReader("{}"), nil)
	if status != http.StatusNotFound || !strings.Contains(body, `"Type":"User"`) || !strings.Contains(body, `"message":"Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope"`) {
		t.Errorf("raw unknown function: %d %s", status, body)
	}
}

func TestLambdaInvocationTypes(t *testing.T) {
	e := start(t, "")
	called := make(chan string, 1)
	err := e.server.RegisterFunction("async", golambda.NewHandler(func(ctx context.Context, in map[string]string) (string, error) {
		called <- in["Name"]
		return "done", nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	c := e.lambda(1)
	ctx := context.Background()

	out, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("async"), InvocationType: types.InvocationTypeDryRun})
	if err != nil || out.StatusCode != http.StatusNoContent {
		t.Fatalf("dry run: %+v, %v", out, err)
	}
	select {
	case <-called:
		t.Fatal("dry run called the function")
	default:
	}

	out, err = c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("async"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"Name":"event"}`)})
	if err != nil || out.StatusCode != http.StatusAccepted {
		t.Fatalf("event: %+v, %v", out, err)
	}
	select {
	case got := <-called:
		if got != "event" {
			t.Errorf("event payload: got %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("event invocation did not run")
	}
}

func TestLambdaFunctionsAPI(t *testing.T) {
	e, _ := startWithEcho(t)
	if err := e.server.RegisterFunction("echo", golambda.NewHandler(echo)); err == nil {
		t.Error("registering a name twice succeeded")
	}
	for _, bad := range []string{"", "has space", "a:b", strings.Repeat("x", 65)} {
		if err := e.server.RegisterFunction(bad, golambda.NewHandler(echo)); err == nil {
			t.Errorf("registering %q succeeded", bad)
		}
	}
	if err := e.server.RegisterFunction("another", golambda.NewHandler(echo)); err != nil {
		t.Fatal(err)
	}
	c := e.lambda(1)
	ctx := context.Background()
	fn, err := c.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("echo")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(fn.Configuration.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:echo" || fn.Configuration.State != types.StateActive {
		t.Errorf("get function: %+v", fn.Configuration)
	}
	var names []string
	p := awslambda.NewListFunctionsPaginator(c, &awslambda.ListFunctionsInput{MaxItems: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range page.Functions {
			names = append(names, aws.ToString(f.FunctionName))
		}
	}
	if strings.Join(names, ",") != "another,echo" {
		t.Errorf("list functions: %q", names)
	}
	if _, err := c.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("nope")}); errorCode(err) != "ResourceNotFoundException" {
		t.Errorf("get unknown function: %v", err)
	}
}

// TestLambdaLogTail: LogType=Tail returns the end of the invocation's execution log, base64-encoded in
// X-Amz-Log-Result, for successes, function errors and timeouts alike; without it there is none.
func TestLambdaLogTail(t *testing.T) {
	e, _ := startWithEcho(t, func(o *localaws.Options) { o.FunctionTimeout = 200 * time.Millisecond })
	c := e.lambda(1)
	ctx := context.Background()
	for _, tt := range []struct{ mode, want string }{
		{"", "REPORT RequestId: "},
		{"invoke-error", `"errorType":"ModelNotFound"`},
		{"sleep", "Task timed out after 0.20 seconds"},
	} {
		out, err := c.Invoke(ctx, &awslambda.InvokeInput{
			FunctionName: aws.String("echo"), LogType: types.LogTypeTail,
			Payload: []byte(fmt.Sprintf(`{"Mode": %q, "Value": 1}`, tt.mode)),
		})
		if err != nil {
			t.Fatalf("invoke %q: %v", tt.mode, err)
		}
		raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		if err != nil || out.LogResult == nil {
			t.Fatalf("invoke %q: LogResult %v: %v", tt.mode, out.LogResult, err)
		}
		reqID, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
		log := string(raw)
		for _, want := range []string{"START RequestId: " + reqID + " Version: $LATEST\n", "END RequestId: " + reqID + "\n", tt.want} {
			if reqID == "" || !strings.Contains(log, want) {
				t.Errorf("invoke %q (request %s): log %q does not contain %q", tt.mode, reqID, log, want)
			}
		}
	}
	out, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo")})
	if err != nil || out.LogResult != nil {
		t.Errorf("invoke without LogType: LogResult %v, %v; want none", out.LogResult, err)
	}
	_, err = c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), LogType: "Everything"})
	if errorCode(err) != "ValidationException" || !strings.Contains(err.Error(), "logType") {
		t.Errorf("invoke with LogType Everything: %v, want ValidationException about logType", err)
	}
}
