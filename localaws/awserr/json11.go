package awserr

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/mdlc/mdlc/internal/quote"
)

// NewRequestID returns a fresh request ID: a random UUID (version 4), the shape of the IDs AWS services put
// in their x-amzn-requestid header.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// JSON11Service says how a service that speaks AWS JSON 1.1 (SageMaker, CloudWatch Logs) is addressed and
// answers what it does not serve.
type JSON11Service struct {
	// TargetPrefix precedes the operation's name in the X-Amz-Target header, e.g. "SageMaker.".
	TargetPrefix string
	// UnknownOperation answers a request for an operation the service does not serve, Serialization a body
	// it cannot read; UnknownMessage says what it serves.
	UnknownOperation, Serialization Code
	UnknownMessage                  string
	// MaxBody bounds a request body.
	MaxBody int64
	// Logger records the failures that are not AWS errors (internal ones).
	Logger *slog.Logger
}

// ServeJSON11 answers one JSON 1.1 request to svc: it calls the operation the X-Amz-Target header names in
// ops with the request body and writes its answer as JSON, or its error in the JSON 1.1 envelope (one that is
// no *Error is logged and answered as an internal failure).
func ServeJSON11[S any, H ~func(S, []byte) (any, error)](w http.ResponseWriter, r *http.Request, svc S, ops map[string]H, how JSON11Service) {
	requestID := NewRequestID()
	w.Header().Set("X-Amzn-Requestid", requestID)
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, how.TargetPrefix)
	h := ops[op]
	if !ok || h == nil || r.Method != http.MethodPost {
		Write(w, JSON11, requestID, New(how.UnknownOperation, "Operation %s is not supported by localaws %s", quote.Value(target), how.UnknownMessage))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, how.MaxBody+1))
	if err != nil {
		Write(w, JSON11, requestID, New(how.Serialization, "The request body could not be read: %v", err))
		return
	}
	if int64(len(body)) > how.MaxBody {
		Write(w, JSON11, requestID, New(how.Serialization, "The request body is larger than %d bytes", how.MaxBody))
		return
	}
	out, err := h(svc, body)
	if err != nil {
		if !errors.As(err, new(*Error)) {
			how.Logger.Error("request failed", "operation", op, "request_id", requestID, "error", err)
		}
		Write(w, JSON11, requestID, err)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		Write(w, JSON11, requestID, fmt.Errorf("encode %s answer: %w", op, err))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
