// Package lambdas holds the pipelines' Lambda functions — initialize-training, initialize-inference and
// monitor-performance — as aws-lambda-go handlers. The same handlers run as deployed functions (the commands
// under cmd/, built as `bootstrap` for the provided.al2023 runtime) and inside localaws behind the Lambda
// Invoke API (see Functions).
//
// The functions' names, events, outputs and error types are declared in package lambdas/contract, which
// callers (the Temporal activities, the Step Functions state machines) use without linking these handlers. A
// failed invocation returns a messages.InvokeResponse_Error whose errorType is one of contract's Error*
// constants, so callers can branch on it.
//
// Job names. TrainingJobName and InferenceJobName are
//
//	<ModelName, cut to 38 characters>-<run timestamp yyyymmddTHHMMSS, UTC>-<8 hex digits>
//
// at most 63 characters and valid SageMaker names (ModelName is itself checked against the SageMaker name
// pattern). The timestamp comes from the event's RunTime, or from the clock when RunTime is absent. The 8
// hex digits are the start of SHA-256 over the function kind ("training" or "inference"), the
// IdempotencyKey, ModelName and DataDate; without an IdempotencyKey they are random. So a retry of the same
// logical run (same key and RunTime) gets the same name, two runs in the same second get different names,
// and the training and inference names of one run differ. The output prefixes end in the same
// "<timestamp>-<hex>" run ID, so two runs in the same second never share an output folder either.
package lambdas

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mdlc/mdlc/lambdas/contract"
)

// S3API is the part of *s3.Client the functions use.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// Option configures Handlers.
type Option func(*Handlers)

// WithClock sets the clock that dates a run when its event has no RunTime (default time.Now).
func WithClock(now func() time.Time) Option { return func(h *Handlers) { h.now = now } }

// WithEntropy sets the source of the random job-name suffix used when an event has no IdempotencyKey
// (default crypto/rand).
func WithEntropy(r io.Reader) Option { return func(h *Handlers) { h.entropy = r } }

// Handlers implements the three functions as plain Go methods; Functions wraps them for the Lambda runtime.
type Handlers struct {
	s3      S3API
	now     func() time.Time
	entropy io.Reader
}

// New returns the handlers, reading and writing S3 through client.
func New(client S3API, opts ...Option) *Handlers {
	h := &Handlers{s3: client, now: time.Now, entropy: rand.Reader}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Functions returns the three functions keyed by name, as Lambda handlers (JSON payload in, JSON out; errors
// are messages.InvokeResponse_Error values with a stable errorType).
func Functions(client S3API, opts ...Option) map[string]lambda.Handler {
	h := New(client, opts...)
	return map[string]lambda.Handler{
		contract.InitializeTrainingFunction:  lambda.NewHandler(jsonFunction[contract.InitializeEvent, contract.InitializeTrainingOutput](h.InitializeTraining)),
		contract.InitializeInferenceFunction: lambda.NewHandler(jsonFunction[contract.InitializeEvent, contract.InitializeInferenceOutput](h.InitializeInference)),
		contract.MonitorPerformanceFunction:  lambda.NewHandler(jsonFunction[contract.MonitorEvent, contract.MonitorOutput](h.MonitorPerformance)),
	}
}

// jsonFunction adapts a typed handler to lambda.Handler. It decodes the event itself, rather than leaving it
// to aws-lambda-go, so that a malformed payload is reported as InvalidInput instead of a json error type.
type jsonFunction[In, Out any] func(context.Context, In) (Out, error)

// Invoke decodes payload, calls f and encodes its output.
func (f jsonFunction[In, Out]) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var in In
	if err := json.Unmarshal(payload, &in); err != nil {
		return nil, lambdaError(&Error{Type: contract.ErrorInvalidInput, Message: fmt.Sprintf("decode event: %v", err), Err: err})
	}
	out, err := f(ctx, in)
	if err != nil {
		return nil, lambdaError(err)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, lambdaError(fmt.Errorf("encode output: %w", err))
	}
	return b, nil
}

// lambdaError turns err into the value aws-lambda-go reports verbatim as errorType and errorMessage.
func lambdaError(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return messages.InvokeResponse_Error{Type: e.Type, Message: e.Message}
	}
	return messages.InvokeResponse_Error{Type: contract.ErrorInternal, Message: err.Error()}
}
