package lambdas

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/mdlc/mdlc/lambdas/contract"
)

// Error is a handler failure with its errorType. Handlers methods return *Error; Functions turns it into a
// messages.InvokeResponse_Error.
type Error struct {
	// Type is one of contract's Error* constants.
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
	return &Error{Type: contract.ErrorInvalidInput, Message: fmt.Sprintf(format, args...)}
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
	typ := contract.ErrorS3
	if missing {
		typ = contract.ErrorDataNotFound
	}
	return &Error{Type: typ, Message: fmt.Sprintf("%s %s: %v", op, uri, err), Err: err}
}
