package activities

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go"
	"go.temporal.io/sdk/temporal"
)

// Error types of the non-retryable application errors the activities return. Workflows and the starter match
// on them; they are stable.
const (
	// ErrInvalidInput: the request cannot succeed as written (bad model name, date, threshold, ...).
	ErrInvalidInput = "InvalidInput"
	// ErrModelNotFound: no Approved model package exists for the model name.
	ErrModelNotFound = "ModelNotFound"
	// ErrJobFailed: a SageMaker job ended Failed.
	ErrJobFailed = "JobFailed"
	// ErrJobStopped: a SageMaker job ended Stopped without this run asking for it.
	ErrJobStopped = "JobStopped"
	// ErrJobNameConflict: a job with the run's name exists but was not created by this run.
	ErrJobNameConflict = "JobNameConflict"
)

// nonRetryableAWSCodes are AWS error codes that no retry can fix: the request itself is wrong.
var nonRetryableAWSCodes = map[string]bool{
	"ValidationException":            true,
	"ResourceNotFound":               true,
	"ResourceNotFoundException":      true,
	"ResourceLimitExceeded":          true,
	"AccessDeniedException":          true,
	"UnrecognizedClientException":    true,
	"InvalidParameterValueException": true,
	"InvalidRequestContentException": true,
	"RequestTooLargeException":       true,
	"UnknownOperationException":      true,
	"SerializationException":         true,
}

// awsError wraps err, from an AWS call described by what, for Temporal: request errors (validation, access,
// missing resources) become non-retryable application errors typed with the AWS error code; throttling, 5xx
// and network errors stay retryable, so the activity's retry policy backs off and tries again.
func awsError(what string, err error) error {
	if err == nil {
		return nil
	}
	var api smithy.APIError
	if errors.As(err, &api) && nonRetryableAWSCodes[api.ErrorCode()] {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %s: %s", what, api.ErrorCode(), api.ErrorMessage()), api.ErrorCode(), err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// isAWSCode reports whether err is an AWS API error with one of codes.
func isAWSCode(err error, codes ...string) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	for _, c := range codes {
		if api.ErrorCode() == c {
			return true
		}
	}
	return false
}

// nonRetryable returns a non-retryable application error of type typ.
func nonRetryable(typ, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), typ, nil)
}
