package cli

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aws/smithy-go"
	"go.temporal.io/api/serviceerror"
)

// registerHint says how to register the search attributes the starter sets and filters on.
const registerHint = "register it with `temporal operator search-attribute create --name ModelName --type Keyword` " +
	"(and `--name DataDate --type Keyword`), or start the dev server with `--search-attribute ModelName=Keyword --search-attribute DataDate=Keyword`"

// explainTemporal turns a Temporal error about workflow id into a sentence saying what to do.
func explainTemporal(err error, tf *temporalFlags, id string) error {
	var invalid *serviceerror.InvalidArgument
	var nsNotFound *serviceerror.NamespaceNotFound
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	switch {
	case err == nil:
		return nil
	case isNotFound(err):
		return fmt.Errorf("no workflow run %q in namespace %q: check the ID with `starter list`", id, tf.namespace)
	case errors.As(err, &nsNotFound):
		return fmt.Errorf("namespace %q does not exist on %s: create it (`temporal operator namespace create %s`) or set --namespace", tf.namespace, tf.address, tf.namespace)
	case errors.As(err, &invalid) && missingSearchAttribute(invalid.Message):
		return fmt.Errorf("the Temporal server at %s has no ModelName/DataDate search attribute in namespace %q: %s", tf.address, tf.namespace, registerHint)
	case errors.As(err, &unavailable), errors.As(err, &deadline):
		return fmt.Errorf("temporal at %s did not answer (%v): start it (make up, or temporal server start-dev) or set --temporal-address", tf.address, err)
	default:
		return err
	}
}

// missingSearchAttribute reports whether a server's InvalidArgument message says that ModelName or DataDate
// is not a registered search attribute (the wording differs between server versions and visibility stores).
func missingSearchAttribute(msg string) bool {
	m := strings.ToLower(msg)
	return (strings.Contains(m, "modelname") || strings.Contains(m, "datadate")) &&
		(strings.Contains(m, "search attribute") || strings.Contains(m, "not defined") || strings.Contains(m, "unknown") ||
			strings.Contains(m, "invalid"))
}

// explainAWS turns an AWS error into a sentence saying what to do, naming the endpoint when it cannot be
// reached.
func explainAWS(err error, a *awsFlags, what string) error {
	var op *net.OpError
	var api smithy.APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &op) || strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "no such host"):
		if a.target == "local" {
			return fmt.Errorf("cannot reach localaws at %s to %s: start it (make up) or set --endpoint-url / AWS_ENDPOINT_URL", a.endpointName(), what)
		}
		return fmt.Errorf("cannot reach %s to %s: check the network, AWS_REGION and --endpoint-url", a.endpointName(), what)
	case errors.As(err, &api) && (api.ErrorCode() == "UnrecognizedClientException" || api.ErrorCode() == "InvalidClientTokenId" ||
		api.ErrorCode() == "ExpiredToken" || api.ErrorCode() == "AccessDeniedException" || api.ErrorCode() == "AccessDenied"):
		return fmt.Errorf("%s: %s: %s; check your AWS credentials (aws sts get-caller-identity) and permissions", what, api.ErrorCode(), api.ErrorMessage())
	default:
		return fmt.Errorf("%s: %w", what, err)
	}
}
