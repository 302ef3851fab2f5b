// Package awserr renders AWS wire errors for localaws: one typed table of error codes and one writer per
// protocol, so that every service answers errors in the envelope the real SDKs decode.
//
// SageMaker and CloudWatch Logs speak JSON 1.1 ({"__type": code, "message": ...}), Lambda speaks REST-JSON (an
// X-Amzn-Errortype header and {"Type": "User"|"Service", "message": ...}), S3 speaks REST-XML
// (<Error><Code>...</Code><Message>...</Message></Error>).
package awserr

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// Protocol is an AWS wire protocol.
type Protocol int

// The protocols localaws speaks.
const (
	// JSON11 is awsJson1_1 (SageMaker).
	JSON11 Protocol = iota + 1
	// RESTJSON is restJson1 (Lambda).
	RESTJSON
	// RESTXML is restXml (S3).
	RESTXML
)

// Fault says who is to blame for an error, as AWS models it.
type Fault string

// Faults.
const (
	// Client errors are the caller's; retrying the same request does not help unless it is throttling.
	Client Fault = "User"
	// Server errors are the service's; the SDKs retry them.
	Server Fault = "Service"
)

// Code is one AWS error code of one service. The codes are the constants below, and what goes with each
// (its name on the wire, HTTP status and fault) is the one table, table: a code localaws answers with is in
// it by construction, and TestEveryCodeIsUsed keeps it free of codes nothing answers with.
type Code uint8

// The error codes localaws answers with, per service.
const (
	// noCode is the zero Code; Write renders it as the protocol's internal error.
	noCode Code = iota

	// SageMakerValidation is SageMaker's error for bad input, missing resources and a wrong state.
	SageMakerValidation
	// SageMakerResourceInUse answers a name already taken by a resource that cannot be replaced.
	SageMakerResourceInUse
	// SageMakerUnknownOperation answers an X-Amz-Target SageMaker does not have.
	SageMakerUnknownOperation
	// SageMakerSerialization answers a body that is not the JSON the operation expects.
	SageMakerSerialization
	// SageMakerServiceUnavailable answers a request that arrives while the service shuts down.
	SageMakerServiceUnavailable
	// SageMakerThrottling is SageMaker's throttling error (the SDKs retry it).
	SageMakerThrottling
	// SageMakerInternalFailure is the common AWS internal error.
	SageMakerInternalFailure
	// SageMakerAccessDenied is the common AWS error for a request that is not allowed (HTTP 400 for the JSON
	// protocols).
	SageMakerAccessDenied

	// LambdaResourceNotFound answers an unknown function.
	LambdaResourceNotFound
	// LambdaInvalidRequestContent answers a payload that is not JSON.
	LambdaInvalidRequestContent
	// LambdaInvalidParameterValue answers a bad parameter (e.g. an unknown invocation type).
	LambdaInvalidParameterValue
	// LambdaValidation answers a parameter that fails its constraint (e.g. a malformed function name).
	LambdaValidation
	// LambdaRequestTooLarge answers a payload over the invocation limit.
	LambdaRequestTooLarge
	// LambdaTooManyRequests is Lambda's throttling error (the SDKs retry it).
	LambdaTooManyRequests
	// LambdaInternalFailure is the common AWS internal error.
	LambdaInternalFailure
	// LambdaAccessDenied answers a request that is not allowed.
	LambdaAccessDenied
	// LambdaUnknownOperation answers a path or method Lambda does not serve.
	LambdaUnknownOperation

	// S3SlowDown is S3's throttling error (the SDKs retry it).
	S3SlowDown
	// S3AccessDenied answers a request that is not allowed.
	S3AccessDenied
	// S3AccessForbidden answers a CORS preflight that is not allowed.
	S3AccessForbidden
	// S3InternalError is S3's internal error.
	S3InternalError

	// LogsResourceNotFound answers an unknown log group or stream.
	LogsResourceNotFound
	// LogsInvalidParameter answers a bad parameter (a limit out of range, a bad token).
	LogsInvalidParameter
	// LogsUnknownOperation answers an X-Amz-Target CloudWatch Logs does not have (or localaws does not serve).
	LogsUnknownOperation
	// LogsSerialization answers a body that is not the JSON the operation expects.
	LogsSerialization

	// UnknownService answers a request signed for a service localaws does not serve.
	UnknownService

	numCodes
)

// entry is what travels with a code.
type entry struct {
	// name is the error code as the SDKs match it (e.g. "ThrottlingException").
	name string
	// status is the HTTP status code.
	status int
	// fault is Client or Server.
	fault Fault
	// messageMember: the service's model gives the error a "Message" member, which the SDK fills from that
	// key, so the JSON body carries the message under it too.
	messageMember bool
}

// table is the one table of error codes.
var table = [numCodes]entry{
	SageMakerValidation:         {"ValidationException", http.StatusBadRequest, Client, false},
	SageMakerResourceInUse:      {"ResourceInUse", http.StatusBadRequest, Client, true},
	SageMakerUnknownOperation:   {"UnknownOperationException", http.StatusBadRequest, Client, false},
	SageMakerSerialization:      {"SerializationException", http.StatusBadRequest, Client, false},
	SageMakerServiceUnavailable: {"ServiceUnavailable", http.StatusServiceUnavailable, Server, false},
	SageMakerThrottling:         {"ThrottlingException", http.StatusBadRequest, Client, false},
	SageMakerInternalFailure:    {"InternalFailure", http.StatusInternalServerError, Server, false},
	SageMakerAccessDenied:       {"AccessDeniedException", http.StatusBadRequest, Client, false},

	LambdaResourceNotFound:      {"ResourceNotFoundException", http.StatusNotFound, Client, false},
	LambdaInvalidRequestContent: {"InvalidRequestContentException", http.StatusBadRequest, Client, false},
	LambdaInvalidParameterValue: {"InvalidParameterValueException", http.StatusBadRequest, Client, false},
	LambdaValidation:            {"ValidationException", http.StatusBadRequest, Client, false},
	LambdaRequestTooLarge:       {"RequestTooLargeException", http.StatusRequestEntityTooLarge, Client, false},
	LambdaTooManyRequests:       {"TooManyRequestsException", http.StatusTooManyRequests, Client, false},
	LambdaInternalFailure:       {"InternalFailure", http.StatusInternalServerError, Server, false},
	LambdaAccessDenied:          {"AccessDeniedException", http.StatusForbidden, Client, false},
	LambdaUnknownOperation:      {"UnknownOperationException", http.StatusNotFound, Client, false},

	S3SlowDown:        {"SlowDown", http.StatusServiceUnavailable, Server, false},
	S3AccessDenied:    {"AccessDenied", http.StatusForbidden, Client, false},
	S3AccessForbidden: {"AccessForbidden", http.StatusForbidden, Client, false},
	S3InternalError:   {"InternalError", http.StatusInternalServerError, Server, false},

	LogsResourceNotFound: {"ResourceNotFoundException", http.StatusBadRequest, Client, false},
	LogsInvalidParameter: {"InvalidParameterException", http.StatusBadRequest, Client, false},
	LogsUnknownOperation: {"UnknownOperationException", http.StatusBadRequest, Client, false},
	LogsSerialization:    {"SerializationException", http.StatusBadRequest, Client, false},

	UnknownService: {"UnrecognizedServiceException", http.StatusBadRequest, Client, false},
}

// Name is the error code as the SDKs match it (e.g. "ThrottlingException").
func (c Code) Name() string { return c.entry().name }

// Status is the HTTP status the code travels with.
func (c Code) Status() int { return c.entry().status }

// Fault says whether the code is the caller's or the service's.
func (c Code) Fault() Fault { return c.entry().fault }

// entry returns the code's row of the table; a value that is no code has the zero entry.
func (c Code) entry() entry {
	if c >= numCodes {
		return entry{}
	}
	return table[c]
}

// known reports whether c is one of the codes of the table.
func (c Code) known() bool { return c.entry().name != "" }

// Internal returns the internal error of the service that speaks p: what a plain error, a panic or an
// injected server error is answered with.
func (p Protocol) Internal() Code {
	switch p {
	case RESTXML:
		return S3InternalError
	case RESTJSON:
		return LambdaInternalFailure
	default:
		return SageMakerInternalFailure
	}
}

// Throttling returns the throttling error of the service that speaks p.
func (p Protocol) Throttling() Code {
	switch p {
	case RESTXML:
		return S3SlowDown
	case RESTJSON:
		return LambdaTooManyRequests
	default:
		return SageMakerThrottling
	}
}

// AccessDenied returns the error of the service that speaks p for a request that is not allowed.
func (p Protocol) AccessDenied() Code {
	switch p {
	case RESTXML:
		return S3AccessDenied
	case RESTJSON:
		return LambdaAccessDenied
	default:
		return SageMakerAccessDenied
	}
}

// Error is an AWS error: a code and a message. Handlers return it; Write renders it.
type Error struct {
	Code    Code
	Message string
	// Extra holds additional members of a JSON error body (e.g. Lambda's "Reason").
	Extra map[string]string
}

// New returns an Error with code and a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Error implements error.
func (e *Error) Error() string { return e.Code.Name() + ": " + e.Message }

// Write renders err in protocol's envelope: the one writer of AWS errors in localaws. An err that is not
// (and does not wrap) an *Error with a code of the table is rendered as the protocol's internal error, with
// its text as the message.
func Write(w http.ResponseWriter, protocol Protocol, requestID string, err error) {
	var e *Error
	if !errors.As(err, &e) || !e.Code.known() {
		e = &Error{Code: protocol.Internal(), Message: err.Error()}
	}
	name, status := e.Code.Name(), e.Code.Status()
	h := w.Header()
	switch protocol {
	case RESTXML:
		body, _ := xml.Marshal(struct {
			XMLName   xml.Name `xml:"Error"`
			Code      string
			Message   string
			RequestID string `xml:"RequestId"`
		}{Code: name, Message: e.Message, RequestID: requestID})
		h.Set("Content-Type", "application/xml")
		h.Set("x-amz-request-id", requestID)
		h.Set("Content-Length", strconv.Itoa(len(xml.Header)+len(body)))
		w.WriteHeader(status)
		_, _ = w.Write([]byte(xml.Header))
		_, _ = w.Write(body)
		return
	case RESTJSON:
		h.Set("Content-Type", "application/json")
		h.Set("X-Amzn-Errortype", name)
		h.Set("X-Amzn-Requestid", requestID)
		writeJSON(w, status, jsonBody(e, map[string]string{"Type": string(e.Code.Fault()), "message": e.Message}))
	default:
		h.Set("Content-Type", "application/x-amz-json-1.1")
		h.Set("X-Amzn-Errortype", name)
		h.Set("X-Amzn-Requestid", requestID)
		writeJSON(w, status, jsonBody(e, map[string]string{"__type": name, "message": e.Message}))
	}
}

func jsonBody(e *Error, base map[string]string) map[string]string {
	if e.Code.entry().messageMember {
		base["Message"] = e.Message
	}
	for k, v := range e.Extra {
		if _, taken := base[k]; !taken {
			base[k] = v
		}
	}
	return base
}

func writeJSON(w http.ResponseWriter, status int, body map[string]string) {
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
