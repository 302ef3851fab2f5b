package lambdas

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// Error types, reported as errorType. All but ErrorS3 and ErrorInternal are permanent: retrying the same
// event gives the same error.
const (
	// ErrorInvalidInput: the event is malformed — bad JSON, a WorkflowInput that breaks a rule of
	// RequestRules, an invalid bucket name or S3 URI, a RunTime that is not RFC 3339.
	ErrorInvalidInput = "InvalidInput"
	// ErrorDataNotFound: an S3 object, prefix or bucket the run needs does not exist.
	ErrorDataNotFound = "DataNotFound"
	// ErrorInvalidData: a prediction or target file cannot be scored — not one number per line, NaN or
	// Inf, a target not 0/1, an empty file, or prediction and target counts that differ.
	ErrorInvalidData = "InvalidData"
	// ErrorUndefinedMetric: the target holds a single class, so the ROC AUC does not exist.
	ErrorUndefinedMetric = "UndefinedMetric"
	// ErrorS3 is any other S3 failure (throttling, 5xx, access denied, network); worth retrying.
	ErrorS3 = "S3Error"
	// ErrorInternal is a bug in the function; it should never be seen.
	ErrorInternal = "InternalError"
)

// Error is a handler failure with its errorType. Handlers methods return *Error; Functions turns it into a
// messages.InvokeResponse_Error.
type Error struct {
	// Type is one of the Error* constants.
	Type string
	// Message is the errorMessage: what failed, naming the object (an S3 URI, a field, a line).
	Message string
	// Err is the cause, if any.
	Err error
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func invalidInput(format string, args ...any) error {
	return &Error{Type: ErrorInvalidInput, Message: fmt.Sprintf(format, args...)}
}

// s3Error classifies an S3 failure of op on uri: a missing bucket or object is DataNotFound, the rest S3Error.
func s3Error(op, uri string, err error) error {
	var (
		noBucket *types.NoSuchBucket
		noKey    *types.NoSuchKey
		notFound *types.NotFound
		api      smithy.APIError
	)
	missing := errors.As(err, &noBucket) || errors.As(err, &noKey) || errors.As(err, &notFound)
	if !missing && errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchBucket", "NoSuchKey", "NotFound":
			missing = true
		}
	}
	typ := ErrorS3
	if missing {
		typ = ErrorDataNotFound
	}
	return &Error{Type: typ, Message: fmt.Sprintf("%s %s: %v", op, uri, err), Err: err}
}
