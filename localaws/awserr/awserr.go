// Package awserr renders AWS wire errors for localaws: one typed table of error codes and one writer per
// protocol, so that every service answers errors in the envelope the real SDKs decode.
//
// SageMaker speaks JSON 1.1 ({"__type": code, "message": ...}), Lambda speaks REST-JSON (an
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

// Code is one AWS error code with the HTTP status it travels with.
type Code struct {
	// Name is the error code as the SDKs match it (e.g. "ThrottlingException").
	Name string
	// Status is the HTTP status code.
	Status int
	// Fault is Client or Server.
	Fault Fault
}

// The error codes localaws answers with, per service.
var (
	// SageMakerThrottling is SageMaker's throttling error (the SDKs retry it).
	SageMakerThrottling = Code{"ThrottlingException", http.StatusBadRequest, Client}
	// SageMakerValidation is SageMaker's error for bad input and missing resources.
	SageMakerValidation = Code{"ValidationException", http.StatusBadRequest, Client}
	// SageMakerInternalFailure is the common AWS internal error.
	SageMakerInternalFailure = Code{"InternalFailure", http.StatusInternalServerError, Server}
	// SageMakerAccessDenied is the common AWS error for a request that is not allowed (HTTP 400 for the JSON
	// protocols).
	SageMakerAccessDenied = Code{"AccessDeniedException", http.StatusBadRequest, Client}
	// SageMakerUnknownOperation answers an X-Amz-Target SageMaker does not have.
	SageMakerUnknownOperation = Code{"UnknownOperationException", http.StatusBadRequest, Client}

	// LambdaResourceNotFound answers an unknown function.
	LambdaResourceNotFound = Code{"ResourceNotFoundException", http.StatusNotFound, Client}
	// LambdaInvalidRequestContent answers a payload that is not JSON.
	LambdaInvalidRequestContent = Code{"InvalidRequestContentException", http.StatusBadRequest, Client}
	// LambdaInvalidParameterValue answers a bad parameter (e.g. an unknown invocation type).
	LambdaInvalidParameterValue = Code{"InvalidParameterValueException", http.StatusBadRequest, Client}
	// LambdaValidation answers a parameter that fails its constraint (e.g. a malformed function name).
	LambdaValidation = Code{"ValidationException", http.StatusBadRequest, Client}
	// LambdaRequestTooLarge answers a payload over the invocation limit.
	LambdaRequestTooLarge = Code{"RequestTooLargeException", http.StatusRequestEntityTooLarge, Client}
	// LambdaTooManyRequests is Lambda's throttling error (the SDKs retry it).
	LambdaTooManyRequests = Code{"TooManyRequestsException", http.StatusTooManyRequests, Client}
	// LambdaInternalFailure is the common AWS internal error.
	LambdaInternalFailure = Code{"InternalFailure", http.StatusInternalServerError, Server}
	// LambdaAccessDenied answers a request that is not allowed.
	LambdaAccessDenied = Code{"AccessDeniedException", http.StatusForbidden, Client}
	// LambdaUnknownOperation answers a path or method Lambda does not serve.
	LambdaUnknownOperation = Code{"UnknownOperationException", http.StatusNotFound, Client}

	// S3SlowDown is S3's throttling error (the SDKs retry it).
	S3SlowDown = Code{"SlowDown", http.StatusServiceUnavailable, Server}
	// S3AccessDenied answers a request that is not allowed.
	S3AccessDenied = Code{"AccessDenied", http.StatusForbidden, Client}
	// S3AccessForbidden answers a CORS preflight that is not allowed.
	S3AccessForbidden = Code{"AccessForbidden", http.StatusForbidden, Client}
	// S3InternalError is S3's internal error.
	S3InternalError = Code{"InternalError", http.StatusInternalServerError, Server}

	// UnknownService answers a request signed for a service localaws does not serve.
	UnknownService = Code{"UnrecognizedServiceException", http.StatusBadRequest, Client}
)

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
func (e *Error) Error() string { return e.Code.Name + ": " + e.Message }

// Write renders err in protocol's envelope. An err that is not (and does not wrap) an *Error is rendered
// as the protocol's internal error, with its text as the message.
func Write(w http.ResponseWriter, protocol Protocol, requestID string, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: internal(protocol), Message: err.Error()}
	}
	h := w.Header()
	switch protocol {
	case RESTXML:
		body, _ := xml.Marshal(struct {
			XMLName   xml.Name `xml:"Error"`
			Code      string
			Message   string
			RequestID string `xml:"RequestId"`
		}{Code: e.Code.Name, Message: e.Message, RequestID: requestID})
		h.Set("Content-Type", "application/xml")
		h.Set("x-amz-request-id", requestID)
		h.Set("Content-Length", strconv.Itoa(len(xml.Header)+len(body)))
		w.WriteHeader(e.Code.Status)
		_, _ = w.Write([]byte(xml.Header))
		_, _ = w.Write(body)
		return
	case RESTJSON:
		h.Set("Content-Type", "application/json")
		h.Set("X-Amzn-Errortype", e.Code.Name)
		h.Set("X-Amzn-Requestid", requestID)
		writeJSON(w, e.Code.Status, jsonBody(e, map[string]string{"Type": string(e.Code.Fault), "message": e.Message}))
	default:
		h.Set("Content-Type", "application/x-amz-json-1.1")
		h.Set("X-Amzn-Requestid", requestID)
		writeJSON(w, e.Code.Status, jsonBody(e, map[string]string{"__type": e.Code.Name, "message": e.Message}))
	}
}

func jsonBody(e *Error, base map[string]string) map[string]string {
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

func internal(p Protocol) Code {
	switch p {
	case RESTXML:
		return S3InternalError
	case RESTJSON:
		return LambdaInternalFailure
	default:
		return SageMakerInternalFailure
	}
}
