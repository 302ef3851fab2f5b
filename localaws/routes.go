package localaws

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/mdlc/mdlc/localaws/awserr"
	"github.com/mdlc/mdlc/localaws/faults"
	"github.com/mdlc/mdlc/localaws/lambdasvc"
	"github.com/mdlc/mdlc/localaws/logs"
	"github.com/mdlc/mdlc/localaws/s3disk"
)

// ControlPrefix is the path prefix of the control endpoints. No S3 bucket can be named like it.
const ControlPrefix = "/_localaws/"

const serviceControl = "localaws"

// routes builds the request router: control endpoints, then the AWS service the request addresses, with
// fault injection in front of the services and one log line per request around everything.
func (s *Server) routes() http.Handler {
	control := http.NewServeMux()
	control.HandleFunc("GET /_localaws/health", s.health)
	control.HandleFunc("POST /_localaws/reset", s.reset)
	control.HandleFunc("GET /_localaws/faults", s.getFaults)
	control.HandleFunc("POST /_localaws/faults", s.setFaults)
	control.HandleFunc("DELETE /_localaws/faults", s.clearFaults)
	control.HandleFunc("/_localaws/", func(w http.ResponseWriter, r *http.Request) {
		writeControlError(w, http.StatusNotFound, fmt.Errorf("no control endpoint %s %s", r.Method, r.URL.Path))
	})

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		service, op := serviceControl, r.URL.Path
		defer func() {
			s.opts.Logger.LogAttrs(r.Context(), levelFor(rec.status), "request",
				slog.String("service", service), slog.String("operation", op),
				slog.Int("status", rec.status), slog.Duration("duration", time.Since(start)))
		}()
		defer s.recoverPanic(rec, &service, &op)

		isControl := strings.HasPrefix(r.URL.Path, ControlPrefix)
		var serviceErr error
		if !isControl {
			service, serviceErr = ServiceOf(r)
			if serviceErr != nil {
				service, op = "unknown", ""
			} else {
				op = operationOf(service, r)
			}
		}
		if !s.door.hostAllowed(r.Host) {
			refuse(rec, service, awsDenied, fmt.Sprintf("localaws does not answer requests for host %q (only loopback names "+
				"and addresses, its listen address and hosts given with --allow-host), so that a web page cannot reach it "+
				"by rebinding its own name; start localaws with --allow-host %s if this is how clients reach it",
				quote(r.Host), quote(r.Host)))
			return
		}
		if isControl {
			if err := s.door.checkControl(r); err != nil {
				status := http.StatusForbidden
				if errors.Is(err, errNotJSON) {
					status = http.StatusUnsupportedMediaType
				}
				writeControlError(rec, status, err)
				return
			}
			control.ServeHTTP(rec, r)
			return
		}
		if isPreflight(r) {
			if !s.door.originGranted(r) {
				refuse(rec, service, corsDenied, fmt.Sprintf("CORSResponse: localaws grants no cross-origin access to %q; "+
					"start it with --cors-origin %s to allow a browser client there", quote(r.Header.Get("Origin")), quote(r.Header.Get("Origin"))))
				return
			}
			writePreflight(rec, r)
			return
		}
		if err := s.door.csrf.Check(r); err != nil {
			refuse(rec, service, awsDenied, fmt.Sprintf("localaws refuses cross-origin requests that change state from browser origin %q; "+
				"start it with --cors-origin to allow a browser client there", quote(r.Header.Get("Origin"))))
			return
		}
		cors := s.door.corsHeaders(r)
		rec.beforeHeader = cors
		if service == ServiceS3 {
			rec.beforeHeader = func(h http.Header) { cors(h); s3disk.FixETag(h) }
		}
		// A handler that writes nothing (gofakes3's HeadObject) has its headers sent after it returns.
		defer rec.fixHeader()
		if serviceErr != nil {
			awserr.Write(rec, awserr.JSON11, "", awserr.New(awserr.UnknownService, "%v", serviceErr))
			return
		}
		if kind := s.faults.Decide(service); kind != faults.None {
			writeFault(rec, service, kind)
			return
		}
		switch service {
		case ServiceSageMaker:
			s.sagemaker.ServeHTTP(rec, r)
		case ServiceLambda:
			s.lambda.ServeHTTP(rec, r)
		case ServiceLogs:
			s.logs.ServeHTTP(rec, r)
		default:
			if inm := r.Header.Get("If-None-Match"); inm != "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
				if bucket, key, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/"); ok && key != "" {
					r.Header.Set("If-None-Match", s.objects.ConditionETag(bucket, key, inm))
				}
			}
			s.s3.ServeHTTP(rec, r)
		}
	})
}

// Kinds of refusal, each answered with the service's own error code.
const (
	awsDenied = iota
	corsDenied
)

// refuse answers a request the front door turns away with 403 (SageMaker: 400, as its AccessDeniedException
// travels) in the envelope of the service it addresses.
func refuse(w http.ResponseWriter, service string, kind int, msg string) {
	if service == serviceControl {
		writeControlError(w, http.StatusForbidden, errors.New(msg))
		return
	}
	p := protocolOf(service)
	code := p.AccessDenied()
	if kind == corsDenied && p == awserr.RESTXML {
		code = awserr.S3AccessForbidden
	}
	awserr.Write(w, p, "", awserr.New(code, "%s", msg))
}

// protocolOf is the wire protocol of a service; requests for an unknown service are answered in JSON 1.1.
func protocolOf(service string) awserr.Protocol {
	switch service {
	case ServiceLambda:
		return awserr.RESTJSON
	case ServiceS3:
		return awserr.RESTXML
	default:
		return awserr.JSON11
	}
}

// recoverPanic turns a panic in a handler into the service's internal error (and a log line with the
// stack), instead of a dropped connection. When the handler had already started its answer, the connection
// is aborted: the client sees a truncated response and retries.
func (s *Server) recoverPanic(rec *statusRecorder, service, op *string) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	s.opts.Logger.Error("handler panicked", "service", *service, "operation", *op, "panic", fmt.Sprint(v),
		"stack", string(debug.Stack()))
	if rec.written {
		rec.status = http.StatusInternalServerError
		panic(http.ErrAbortHandler)
	}
	msg := "localaws failed while serving this request (a bug in localaws; its log has the details)"
	if *service == serviceControl {
		writeControlError(rec, http.StatusInternalServerError, errors.New(msg))
		return
	}
	p := protocolOf(*service)
	awserr.Write(rec, p, "", awserr.New(p.Internal(), "%s", msg))
}

// ServiceOf names the AWS service a request addresses, the way AWS front ends do: the service in the
// SigV4 credential scope (Authorization header, or X-Amz-Credential in a presigned URL); for unsigned
// requests an X-Amz-Target of "SageMaker.<Operation>" means SageMaker, "Logs_20140328.<Operation>" CloudWatch
// Logs, a path under
// /2015-03-31/functions means Lambda, anything else is S3 (path-style). A scope naming another service
// is an error.
func ServiceOf(r *http.Request) (string, error) {
	if svc := credentialService(r); svc != "" {
		switch svc {
		case ServiceS3, ServiceLambda, ServiceSageMaker, ServiceLogs:
			return svc, nil
		}
		return "", fmt.Errorf("localaws serves %s, %s, %s and %s; the request is signed for %q",
			ServiceSageMaker, ServiceLambda, ServiceS3, ServiceLogs, svc)
	}
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "SageMaker.") {
		return ServiceSageMaker, nil
	}
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), logs.TargetPrefix) {
		return ServiceLogs, nil
	}
	if p := r.URL.Path; p == lambdasvc.PathPrefix || strings.HasPrefix(p, lambdasvc.PathPrefix+"/") {
		return ServiceLambda, nil
	}
	return ServiceS3, nil
}

// credentialService returns the service of a SigV4 (or SigV4a) credential scope,
// "<key>/<date>[/<region>]/<service>/aws4_request", or "" when the request carries none.
func credentialService(r *http.Request) string {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if auth := r.Header.Get("Authorization"); auth != "" {
		if _, after, ok := strings.Cut(auth, "Credential="); ok {
			cred, _, _ = strings.Cut(after, ",")
		}
	}
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) < 4 || parts[len(parts)-1] != "aws4_request" {
		return ""
	}
	return parts[len(parts)-2]
}

// operationOf names the API operation of a request, for logs.
func operationOf(service string, r *http.Request) string {
	switch service {
	case ServiceSageMaker:
		return strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "SageMaker.")
	case ServiceLambda:
		return lambdasvc.Operation(r)
	case ServiceLogs:
		return logs.Operation(r)
	default:
		return s3Operation(r)
	}
}

// s3Operation names the S3 operation of a path-style request.
func s3Operation(r *http.Request) string {
	q := r.URL.Query()
	has := func(k string) bool { _, ok := q[k]; return ok }
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	switch {
	case bucket == "":
		return "ListBuckets"
	case key == "":
		switch r.Method {
		case http.MethodGet:
			switch {
			case has("location"):
				return "GetBucketLocation"
			case has("versioning"):
				return "GetBucketVersioning"
			case has("uploads"):
				return "ListMultipartUploads"
			case has("versions"):
				return "ListObjectVersions"
			case q.Get("list-type") == "2":
				return "ListObjectsV2"
			}
			return "ListObjects"
		case http.MethodPut:
			if has("versioning") {
				return "PutBucketVersioning"
			}
			return "CreateBucket"
		case http.MethodDelete:
			return "DeleteBucket"
		case http.MethodHead:
			return "HeadBucket"
		case http.MethodPost:
			if has("delete") {
				return "DeleteObjects"
			}
			return "PostObject"
		}
	default:
		switch r.Method {
		case http.MethodGet:
			if has("uploadId") {
				return "ListParts"
			}
			return "GetObject"
		case http.MethodHead:
			return "HeadObject"
		case http.MethodPut:
			switch {
			case has("uploadId"):
				return "UploadPart"
			case r.Header.Get("X-Amz-Copy-Source") != "":
				return "CopyObject"
			}
			return "PutObject"
		case http.MethodDelete:
			if has("uploadId") {
				return "AbortMultipartUpload"
			}
			return "DeleteObject"
		case http.MethodPost:
			if has("uploads") {
				return "CreateMultipartUpload"
			}
			if has("uploadId") {
				return "CompleteMultipartUpload"
			}
		}
	}
	return r.Method
}

// writeFault answers a request with an injected fault, in the service's envelope, with the message the
// service gives.
func writeFault(w http.ResponseWriter, service string, kind faults.Kind) {
	p := protocolOf(service)
	var e *awserr.Error
	switch {
	case kind == faults.ServerError && p == awserr.RESTXML:
		e = awserr.New(p.Internal(), "We encountered an internal error. Please try again. (injected by localaws)")
	case kind == faults.ServerError:
		e = awserr.New(p.Internal(), "An internal error occurred (injected by localaws).")
	case p == awserr.RESTXML:
		e = awserr.New(p.Throttling(), "Please reduce your request rate.")
	default:
		e = awserr.New(p.Throttling(), "Rate exceeded")
	}
	if e.Code == awserr.LambdaTooManyRequests {
		e.Extra = map[string]string{"Reason": "CallerRateLimitExceeded"}
	}
	awserr.Write(w, p, "", e)
}

// Health is the body of GET /_localaws/health.
type Health struct {
	Status    string
	Region    string
	AccountID string
	DataDir   string
	Services  []string
	Functions []string
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeControlJSON(w, http.StatusOK, Health{
		Status:    "ok",
		Region:    s.opts.Region,
		AccountID: s.opts.AccountID,
		DataDir:   s.opts.DataDir,
		Services:  []string{ServiceLambda, ServiceLogs, ServiceS3, ServiceSageMaker},
		Functions: s.lambda.Functions(),
	})
}

func (s *Server) reset(w http.ResponseWriter, r *http.Request) {
	if err := s.Reset(r.Context()); err != nil {
		writeControlError(w, http.StatusInternalServerError, err)
		return
	}
	writeControlJSON(w, http.StatusOK, map[string]string{"Status": "reset"})
}

func (s *Server) getFaults(w http.ResponseWriter, r *http.Request) {
	writeControlJSON(w, http.StatusOK, s.faults.State())
}

func (s *Server) setFaults(w http.ResponseWriter, r *http.Request) {
	var cfg faults.Config
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		writeControlError(w, http.StatusBadRequest, fmt.Errorf("decode fault setting: %w", err))
		return
	}
	if err := s.faults.Set(cfg); err != nil {
		writeControlError(w, http.StatusBadRequest, err)
		return
	}
	writeControlJSON(w, http.StatusOK, s.faults.State())
}

func (s *Server) clearFaults(w http.ResponseWriter, r *http.Request) {
	s.faults.Clear()
	writeControlJSON(w, http.StatusOK, s.faults.State())
}

// ControlError is the body of a failed control request.
type ControlError struct {
	Error string
}

func writeControlError(w http.ResponseWriter, status int, err error) {
	writeControlJSON(w, status, ControlError{Error: err.Error()})
}

func writeControlJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"Error":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// statusRecorder remembers the status a handler wrote, for the request log, and lets the front door
// adjust the headers just before they are sent.
type statusRecorder struct {
	http.ResponseWriter
	status  int
	written bool
	// beforeHeader, when set, is called once with the response headers before they are sent.
	beforeHeader func(http.Header)
}

func (r *statusRecorder) WriteHeader(status int) {
	if !r.written {
		r.status, r.written = status, true
		r.fixHeader()
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if !r.written {
		r.written = true
		r.fixHeader()
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) fixHeader() {
	if r.beforeHeader != nil {
		r.beforeHeader(r.ResponseWriter.Header())
		r.beforeHeader = nil
	}
}

// Unwrap lets http.ResponseController reach the underlying writer (flush, deadlines).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// levelFor logs server errors louder than the rest.
func levelFor(status int) slog.Level {
	if status >= http.StatusInternalServerError {
		return slog.LevelWarn
	}
	return slog.LevelInfo
}
