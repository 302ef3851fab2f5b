// Package lambdasvc serves the AWS Lambda API (REST-JSON, /2015-03-31/functions/...) for localaws: Invoke,
// GetFunction, GetFunctionConfiguration and ListFunctions over Go handlers registered in process.
//
// A handler is an aws-lambda-go lambda.Handler, the same value a Go Lambda function's main passes to
// lambda.Start, so the project's functions run here unchanged. Invocations behave as on AWS: the handler's
// context carries a deadline (the function timeout) and a lambdacontext.LambdaContext; a returned error or
// a panic becomes a function error (HTTP 200, X-Amz-Function-Error: Unhandled, {"errorMessage",
// "errorType"}), with errorType chosen by the aws-lambda-go runtime's rule.
//
// A synchronous Invoke with LogType=Tail returns the last 4 KB of the invocation's execution log, base64, in
// X-Amz-Log-Result: START, END and REPORT lines as Lambda writes them, a timeout line, and the function
// error's JSON. Handlers run inside localaws, so what they print to stdout or stderr is not in that log.
package lambdasvc

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/mdlc/mdlc/localaws/awserr"
)

// PathPrefix is the path under which the Lambda API lives.
const PathPrefix = "/2015-03-31/functions"

const (
	// DefaultTimeout is Lambda's maximum function timeout.
	DefaultTimeout = 15 * time.Minute
	// maxSyncPayload and maxAsyncPayload are Lambda's invocation payload limits.
	maxSyncPayload  = 6 * 1024 * 1024
	maxAsyncPayload = 1024 * 1024
	runtimeName     = "provided.al2023"
	// memorySize is what GetFunctionConfiguration and the REPORT log line say (Lambda's default).
	memorySize = 128
	// maxLogTail is how much of the end of the execution log LogType=Tail returns.
	maxLogTail = 4 * 1024
)

var (
	nameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	// functionRE matches a function name, a partial ARN or a full ARN, with an optional qualifier.
	functionRE = regexp.MustCompile(`^(?:arn:aws[a-zA-Z-]*:lambda:([a-z]{2}(?:-gov)?-[a-z]+-\d):)?(?:(\d{12}):)?(?:function:)?([a-zA-Z0-9_-]{1,64})(?::(\$LATEST|[a-zA-Z0-9_-]{1,128}))?$`)
)

// Options configure a Service.
type Options struct {
	// Region and AccountID appear in function ARNs.
	Region, AccountID string
	// Timeout is every function's timeout; DefaultTimeout when zero.
	Timeout time.Duration
	// Clock returns the current time; time.Now when nil.
	Clock func() time.Time
	// Logger receives asynchronous invocation results and recovered panics; slog.Default() when nil.
	Logger *slog.Logger
}

type function struct {
	name     string
	handler  lambda.Handler
	modified time.Time
}

// Service is the local Lambda. It is safe for concurrent use.
type Service struct {
	opts Options
	// base is the parent of every invocation's context; Close cancels it.
	base   context.Context
	cancel context.CancelFunc
	async  sync.WaitGroup

	mu  sync.RWMutex
	fns map[string]*function
}

// New returns a Service with no functions.
func New(opts Options) *Service {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	base, cancel := context.WithCancel(context.Background())
	return &Service{opts: opts, base: base, cancel: cancel, fns: map[string]*function{}}
}

// Register serves h as the function name. Names follow Lambda's rules (1 to 64 letters, digits, '-' and
// '_') and are registered once.
func (s *Service) Register(name string, h lambda.Handler) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("register function %q: name must be 1 to 64 letters, digits, '-' or '_'", name)
	}
	if h == nil {
		return fmt.Errorf("register function %q: nil handler", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.fns[name]; ok {
		return fmt.Errorf("register function %q: already registered", name)
	}
	s.fns[name] = &function{name: name, handler: h, modified: s.opts.Clock().UTC()}
	return nil
}

// Functions returns the registered function names, sorted.
func (s *Service) Functions() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, 0, len(s.fns))
	for n := range s.fns {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Close cancels running invocations' contexts and waits for asynchronous invocations to return.
func (s *Service) Close() error {
	s.cancel()
	s.async.Wait()
	return nil
}

// ARN returns the unqualified ARN of the function name.
func (s *Service) ARN(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", s.opts.Region, s.opts.AccountID, name)
}

// Operation names the API operation a request is for (for logs), or "" when it is none.
func Operation(r *http.Request) string {
	op, _, _ := route(r)
	return op
}

// route splits a request into its operation and the function-name path segment.
func route(r *http.Request) (op, name string, err error) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), PathPrefix)
	if !ok {
		return "", "", errors.New("not a lambda path")
	}
	rest = strings.TrimPrefix(rest, "/")
	segs := strings.Split(rest, "/")
	for i, seg := range segs {
		if segs[i], err = url.PathUnescape(seg); err != nil {
			return "", "", fmt.Errorf("bad path segment %q: %w", seg, err)
		}
	}
	switch {
	case rest == "" && r.Method == http.MethodGet:
		return "ListFunctions", "", nil
	case len(segs) == 1 && r.Method == http.MethodGet:
		return "GetFunction", segs[0], nil
	case len(segs) == 2 && segs[1] == "configuration" && r.Method == http.MethodGet:
		return "GetFunctionConfiguration", segs[0], nil
	case len(segs) == 2 && segs[1] == "invocations" && r.Method == http.MethodPost:
		return "Invoke", segs[0], nil
	}
	return "", "", errors.New("unknown operation")
}

// ServeHTTP answers one Lambda API request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := awserr.NewRequestID()
	w.Header().Set("X-Amzn-Requestid", reqID)
	op, name, err := route(r)
	if err != nil {
		awserr.Write(w, awserr.RESTJSON, reqID, awserr.New(awserr.LambdaUnknownOperation,
			"localaws does not serve %s %s", r.Method, r.URL.Path))
		return
	}
	switch op {
	case "ListFunctions":
		err = s.listFunctions(w, r)
	case "GetFunction", "GetFunctionConfiguration":
		err = s.getFunction(w, r, name, op == "GetFunction")
	case "Invoke":
		err = s.invoke(w, r, name, reqID)
	}
	if err != nil {
		awserr.Write(w, awserr.RESTJSON, reqID, err)
	}
}

// lookup resolves a function name, partial ARN or full ARN (with an optional qualifier, which may also
// come from the Qualifier query parameter) to a registered function.
func (s *Service) lookup(ref, queryQualifier string) (*function, string, error) {
	m := functionRE.FindStringSubmatch(ref)
	if m == nil || len(ref) > 170 {
		return nil, "", awserr.New(awserr.LambdaValidation,
			"1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: %s",
			ref, functionRE.String())
	}
	region, account, name, qualifier := m[1], m[2], m[3], m[4]
	if qualifier != "" && queryQualifier != "" && qualifier != queryQualifier {
		return nil, "", awserr.New(awserr.LambdaInvalidParameterValue,
			"The derived qualifier from the function name does not match the specified qualifier.")
	}
	if qualifier == "" {
		qualifier = queryQualifier
	}
	arn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", or(region, s.opts.Region), or(account, s.opts.AccountID), name)
	if qualifier != "" {
		arn += ":" + qualifier
	}
	s.mu.RLock()
	fn, ok := s.fns[name]
	s.mu.RUnlock()
	if !ok || (region != "" && region != s.opts.Region) || (account != "" && account != s.opts.AccountID) ||
		(qualifier != "" && qualifier != "$LATEST") {
		return nil, "", awserr.New(awserr.LambdaResourceNotFound, "Function not found: %s", arn)
	}
	return fn, arn, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// FunctionConfiguration is the subset of Lambda's FunctionConfiguration that localaws reports.
type FunctionConfiguration struct {
	FunctionName     string
	FunctionArn      string
	Runtime          string
	Handler          string
	Role             string
	Timeout          int
	MemorySize       int
	Version          string
	State            string
	LastUpdateStatus string
	PackageType      string
	Architectures    []string
	LastModified     string
	CodeSize         int64
	Description      string
}

func (s *Service) configuration(fn *function) FunctionConfiguration {
	return FunctionConfiguration{
		FunctionName:     fn.name,
		FunctionArn:      s.ARN(fn.name),
		Runtime:          runtimeName,
		Handler:          "bootstrap",
		Role:             fmt.Sprintf("arn:aws:iam::%s:role/localaws", s.opts.AccountID),
		Timeout:          int(s.opts.Timeout / time.Second),
		MemorySize:       memorySize,
		Version:          "$LATEST",
		State:            "Active",
		LastUpdateStatus: "Successful",
		PackageType:      "Zip",
		Architectures:    []string{"x86_64"},
		LastModified:     fn.modified.Format("2006-01-02T15:04:05.000-0700"),
		Description:      "served in process by localaws",
	}
}

func (s *Service) getFunction(w http.ResponseWriter, r *http.Request, ref string, withCode bool) error {
	fn, _, err := s.lookup(ref, r.URL.Query().Get("Qualifier"))
	if err != nil {
		return err
	}
	cfg := s.configuration(fn)
	if !withCode {
		return writeJSON(w, http.StatusOK, cfg)
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"Configuration": cfg,
		"Code":          map[string]string{"RepositoryType": "S3", "Location": ""},
	})
}

func (s *Service) listFunctions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	maxItems := 50
	if v := q.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return awserr.New(awserr.LambdaInvalidParameterValue, "MaxItems must be between 1 and 10000, got %q", v)
		}
		maxItems = n
	}
	marker := q.Get("Marker")
	names := s.Functions()
	out := struct {
		Functions  []FunctionConfiguration
		NextMarker *string `json:",omitempty"`
	}{Functions: []FunctionConfiguration{}}
	for _, n := range names {
		if marker != "" && n <= marker {
			continue
		}
		if len(out.Functions) == maxItems {
			last := out.Functions[len(out.Functions)-1].FunctionName
			out.NextMarker = &last
			break
		}
		s.mu.RLock()
		fn, ok := s.fns[n]
		s.mu.RUnlock()
		if ok {
			out.Functions = append(out.Functions, s.configuration(fn))
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Service) invoke(w http.ResponseWriter, r *http.Request, ref, reqID string) error {
	fn, arn, err := s.lookup(ref, r.URL.Query().Get("Qualifier"))
	if err != nil {
		return err
	}
	invocationType := r.Header.Get("X-Amz-Invocation-Type")
	logType := r.Header.Get("X-Amz-Log-Type")
	if logType != "" && logType != "None" && logType != "Tail" {
		return awserr.New(awserr.LambdaValidation,
			"1 validation error detected: Value '%s' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [Tail, None]",
			quote(logType))
	}
	limit := maxSyncPayload
	switch invocationType {
	case "", "RequestResponse", "DryRun":
	case "Event":
		limit = maxAsyncPayload
	default:
		return awserr.New(awserr.LambdaInvalidParameterValue,
			"Invalid InvocationType %q: must be RequestResponse, Event or DryRun", invocationType)
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		return fmt.Errorf("read payload of function %q: %w", fn.name, err)
	}
	if len(payload) > limit {
		return awserr.New(awserr.LambdaRequestTooLarge,
			"Request must be smaller than %d bytes for the InvokeFunction operation", limit)
	}
	if len(bytes.TrimSpace(payload)) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		var v any
		jerr := json.Unmarshal(payload, &v)
		return awserr.New(awserr.LambdaInvalidRequestContent, "Could not parse request body into json: %v", jerr)
	}
	lc := &lambdacontext.LambdaContext{AwsRequestID: reqID, InvokedFunctionArn: arn}
	if cc := r.Header.Get("X-Amz-Client-Context"); cc != "" {
		raw, err := base64.StdEncoding.DecodeString(cc)
		if err != nil || json.Unmarshal(raw, &lc.ClientContext) != nil {
			return awserr.New(awserr.LambdaInvalidParameterValue, "Client context must be base64-encoded JSON")
		}
	}
	h := w.Header()
	h.Set("X-Amz-Executed-Version", "$LATEST")
	switch invocationType {
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return nil
	case "Event":
		s.async.Go(func() {
			out, fnErr := s.run(fn, payload, lc)
			log := s.opts.Logger.With("function", fn.name, "requestId", reqID)
			if fnErr != nil {
				log.Warn("asynchronous invocation failed", "errorType", fnErr.Type, "errorMessage", fnErr.Message)
				return
			}
			log.Info("asynchronous invocation succeeded", "bytes", len(out))
		})
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	began := time.Now()
	out, fnErr := s.run(fn, payload, lc)
	if logType == "Tail" {
		h.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString(logTail(executionLog(reqID, time.Since(began), fnErr))))
	}
	h.Set("Content-Type", "application/json")
	if fnErr != nil {
		body, err := json.Marshal(fnErr)
		if err != nil {
			return fmt.Errorf("encode error of function %q: %w", fn.name, err)
		}
		h.Set("X-Amz-Function-Error", "Unhandled")
		out = body
	}
	h.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
	return nil
}

// run calls the handler under the function timeout and turns errors, panics and timeouts into the
// function error AWS Lambda would report.
func (s *Service) run(fn *function, payload []byte, lc *lambdacontext.LambdaContext) ([]byte, *messages.InvokeResponse_Error) {
	ctx, cancel := context.WithTimeout(s.base, s.opts.Timeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, lc)
	type result struct {
		out []byte
		err *messages.InvokeResponse_Error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				s.opts.Logger.Error("function panicked", "function", fn.name, "requestId", lc.AwsRequestID,
					"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				done <- result{err: PanicError(v)}
			}
		}()
		out, err := fn.handler.Invoke(ctx, payload)
		if err != nil {
			done <- result{err: FunctionError(err)}
			return
		}
		done <- result{out: out}
	}()
	select {
	case res := <-done:
		return res.out, res.err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, &messages.InvokeResponse_Error{
				Type: "Sandbox.Timedout",
				Message: fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds",
					lc.AwsRequestID, s.opts.Timeout.Seconds()),
			}
		}
		return nil, &messages.InvokeResponse_Error{
			Type:    "Runtime.ExitError",
			Message: fmt.Sprintf("RequestId: %s Error: localaws stopped while the function ran", lc.AwsRequestID),
		}
	}
}

// executionLog is the log of one invocation as Lambda writes it for a provided runtime: START, the lines the
// platform adds (a timeout; here also a function error, as its JSON), END and REPORT. Functions run in
// localaws's process, so what they print themselves is not in it.
func executionLog(reqID string, took time.Duration, fnErr *messages.InvokeResponse_Error) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "START RequestId: %s Version: $LATEST\n", reqID)
	if fnErr != nil {
		if fnErr.Type == "Sandbox.Timedout" {
			fmt.Fprintf(&b, "%s %s Task timed out after %s\n", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), reqID,
				strings.TrimPrefix(fnErr.Message, "RequestId: "+reqID+" Error: Task timed out after "))
		} else if line, err := json.Marshal(fnErr); err == nil {
			b.Write(line)
			b.WriteByte('\n')
		}
	}
	ms := float64(took.Microseconds()) / 1000
	fmt.Fprintf(&b, "END RequestId: %s\n", reqID)
	fmt.Fprintf(&b, "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\t\n",
		reqID, ms, max(1, int64(math.Ceil(ms))), memorySize)
	return b.Bytes()
}

// logTail is the last 4 KB of an execution log, what LogType=Tail returns.
func logTail(log []byte) []byte {
	if len(log) > maxLogTail {
		return log[len(log)-maxLogTail:]
	}
	return log
}

// quote shortens a value for an error message: at most its first 64 bytes.
func quote(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// FunctionError is the function error for a handler's err, by the aws-lambda-go runtime's rule: an
// InvokeResponse_Error in err's chain is reported as is; otherwise errorType is err's Go type name (the
// element's name for a pointer).
func FunctionError(err error) *messages.InvokeResponse_Error {
	var ive messages.InvokeResponse_Error
	if errors.As(err, &ive) {
		return &ive
	}
	var ivp *messages.InvokeResponse_Error
	if errors.As(err, &ivp) && ivp != nil {
		return ivp
	}
	return &messages.InvokeResponse_Error{Message: err.Error(), Type: typeName(err)}
}

// PanicError is the function error for a handler panic with value v, as the aws-lambda-go runtime reports
// it: the panic value's text and Go type name.
func PanicError(v any) *messages.InvokeResponse_Error {
	if ive, ok := v.(messages.InvokeResponse_Error); ok {
		return &ive
	}
	return &messages.InvokeResponse_Error{Message: fmt.Sprint(v), Type: typeName(v)}
}

func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return "nil"
	}
	if t.Kind() == reflect.Pointer {
		return t.Elem().Name()
	}
	return t.Name()
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return nil
}
