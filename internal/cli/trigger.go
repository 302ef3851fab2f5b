package cli

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/mdlc/mdlc/workflows"
)

// triggerRegistered reports whether the namespace has the Trigger search attribute (Keyword), which
// `schedule create` and `backfill` set on the runs they start. A start with an attribute the namespace lacks
// fails (for a schedule: every run it starts, long after the create), so without it the runs go unmarked,
// with a warning saying how to register it. When the attributes cannot be listed, the warning says so too.
func triggerRegistered(ctx context.Context, e *env, c client.Client, namespace string) bool {
	name := workflows.TriggerAttribute.GetName()
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		fmt.Fprintf(e.stderr, "warning: cannot list the search attributes of namespace %q (%v); the runs are not marked with %s\n", namespace, err, name)
		return false
	}
	if resp.GetCustomAttributes()[name] != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
		fmt.Fprintf(e.stderr, "warning: namespace %q has no %s search attribute of type Keyword, so the runs are not marked with it: register it with `temporal operator search-attribute create --name %s --type Keyword`\n", namespace, name, name)
		return false
	}
	return true
}
