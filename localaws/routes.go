package localaws

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mdlc/mdlc/localaws/awserr"
	"github.com/mdlc/mdlc/localaws/faults"
	"github.com/mdlc/mdlc/localaws/lambdasvc"
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
		if strings.HasPrefix(r.URL.Path, ControlPrefix) {
			control.ServeHTTP(rec, r)
			return
		}
		var err error
		service, err = ServiceOf(r)
		if err != nil {
			service, op = "unknown", ""
			awserr.Write(rec, awserr.JSON11, "", awserr.New(awserr.UnknownService, "%v", err))
			return
		}
		op = operationOf(service, r)
		if kind := s.faults.Decide(service); kind != faults.None {
			writeFault(rec, service, kind)
			return
		}
		switch service {
		case ServiceSageMaker:
			s.sagemaker.ServeHTTP(rec, r)
		case ServiceLambda:
			s.lambda.ServeHTTP(rec, r)
		default:
			s.s3.ServeHTTP(rec, r)
		}
	})
}

// ServiceOf names the AWS service a request addresses, the way AWS front ends do: the service in the
// SigV4 credential scope (Authorization header, or X-Amz-Credential in a presigned URL); for unsigned
// requests an X-Amz-Target of "SageMaker.<Operation>" means SageMaker, a path under
// /2015-03-31/functions means Lambda, anything else is S3 (path-style). A scope naming another service
// is an error.
func ServiceOf(r *http.Request) (string, error) {
	if svc := credentialService(r); svc != "" {
		switch svc {
		case ServiceS3, ServiceLambda, ServiceSageMaker:
			return svc, nil
		}
		return "", fmt.Errorf("localaws serves %s, %s and %s; the request is signed for %q",
			ServiceSageMaker, ServiceLambda, ServiceS3, svc)
	}
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "SageMaker.") {
		return ServiceSageMaker, nil
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

// writeFault answers a request with an injected fault, in the service's envelope.
func writeFault(w http.ResponseWriter, service string, kind faults.Kind) {
	var (
		protocol awserr.Protocol
		code     awserr.Code
		msg      string
	)
	switch service {
	case ServiceSageMaker:
		protocol, code, msg = awserr.JSON11, awserr.SageMakerThrottling, "Rate exceeded"
		if kind == faults.ServerError {
			code, msg = awserr.SageMakerInternalFailure, "An internal error occurred (injected by localaws)."
		}
	case ServiceLambda:
		protocol, code, msg = awserr.RESTJSON, awserr.LambdaTooManyRequests, "Rate exceeded"
		if kind == faults.ServerError {
			code, msg = awserr.LambdaInternalFailure, "An internal error occurred (injected by localaws)."
		}
	default:
		protocol, code, msg = awserr.RESTXML, awserr.S3SlowDown, "Please reduce your request rate."
		if kind == faults.ServerError {
			code, msg = awserr.S3InternalError, "We encountered an internal error. Please try again. (injected by localaws)"
		}
	}
	e := awserr.New(code, "%s", msg)
	if code == awserr.LambdaTooManyRequests {
		e.Extra = map[string]string{"Reason": "CallerRateLimitExceeded"}
	}
	awserr.Write(w, protocol, "", e)
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
		Services:  []string{ServiceLambda, ServiceS3, ServiceSageMaker},
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

// statusRecorder remembers the status a handler wrote, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status  int
	written bool
}

func (r *statusRecorder) WriteHeader(status int) {
	if !r.written {
		r.status, r.written = status, true
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.written = true
	return r.ResponseWriter.Write(b)
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
