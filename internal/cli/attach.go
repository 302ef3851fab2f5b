package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/mdlc/mdlc/workflows"
)

// Attaching to an open run is only right when that run does what the request asks. A field the request sets
// must have the same value in the open run's input; a field the request leaves unset (the worker's default)
// matches whatever the open run has, since the request asked for nothing in particular. An open run that
// left a field unset does not match a request that sets it, even to the value that is the worker's default:
// the starter cannot know the worker's configuration.

// mismatch is a field of the open run's input that differs from the request.
type mismatch struct {
	field, open, requested string
}

// trainingMismatches compares the open run's TrainingInput with the request.
func trainingMismatches(open, req workflows.TrainingInput) []mismatch {
	ms := identityMismatches(open.ModelName, open.DataDate, req.ModelName, req.DataDate)
	if req.ApprovalStatus != "" && open.ApprovalStatus != req.ApprovalStatus {
		ms = append(ms, mismatch{"ApprovalStatus", orDefault(open.ApprovalStatus), req.ApprovalStatus})
	}
	return ms
}

// batchInferenceMismatches compares the open run's BatchInferenceInput with the request.
func batchInferenceMismatches(open, req workflows.BatchInferenceInput) []mismatch {
	ms := identityMismatches(open.ModelName, open.DataDate, req.ModelName, req.DataDate)
	if req.Threshold != nil && (open.Threshold == nil || *open.Threshold != *req.Threshold) {
		o := "(the worker's default)"
		if open.Threshold != nil {
			o = strconv.FormatFloat(*open.Threshold, 'g', -1, 64)
		}
		ms = append(ms, mismatch{"Threshold", o, strconv.FormatFloat(*req.Threshold, 'g', -1, 64)})
	}
	if req.PromotionMargin != nil && (open.PromotionMargin == nil || *open.PromotionMargin != *req.PromotionMargin) {
		o := "(the worker's default)"
		if open.PromotionMargin != nil {
			o = strconv.FormatFloat(*open.PromotionMargin, 'g', -1, 64)
		}
		ms = append(ms, mismatch{"PromotionMargin", o, strconv.FormatFloat(*req.PromotionMargin, 'g', -1, 64)})
	}
	return ms
}

// identityMismatches compares ModelName and DataDate, which the workflow ID is built from but a run started
// by another client under that ID may not carry.
func identityMismatches(openModel, openDate, model, date string) []mismatch {
	var ms []mismatch
	if openModel != model {
		ms = append(ms, mismatch{"ModelName", strconv.Quote(openModel), strconv.Quote(model)})
	}
	if openDate != date {
		ms = append(ms, mismatch{"DataDate", strconv.Quote(openDate), strconv.Quote(date)})
	}
	return ms
}

func orDefault(s string) string {
	if s == "" {
		return "(the worker's default)"
	}
	return s
}

// decodeInput returns a comparer of a start request's input with an open run's, for startRequest.mismatches.
func decodeInput[T any](req T, compare func(open, req T) []mismatch) func(*commonpb.Payloads) ([]mismatch, error) {
	return func(p *commonpb.Payloads) ([]mismatch, error) {
		var open T
		if err := converter.GetDefaultDataConverter().FromPayloads(p, &open); err != nil {
			return nil, err
		}
		return compare(open, req), nil
	}
}

// checkAttached fails when the open run that a start attached to was started with other input than the
// request's: reporting success would promise something that will not happen.
func checkAttached(ctx context.Context, c client.Client, namespace string, req startRequest, runID string) error {
	if req.mismatches == nil {
		return nil
	}
	resp, err := c.WorkflowService().GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
		Namespace:              namespace,
		Execution:              &commonpb.WorkflowExecution{WorkflowId: req.workflowID, RunId: runID},
		MaximumPageSize:        1,
		HistoryEventFilterType: enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT,
	})
	if err != nil {
		return fmt.Errorf("read the input of the open run %q (run %s): %w", req.workflowID, runID, err)
	}
	events := resp.GetHistory().GetEvents()
	if len(events) == 0 || events[0].GetWorkflowExecutionStartedEventAttributes() == nil {
		return fmt.Errorf("read the input of the open run %q (run %s): its history does not begin with its start", req.workflowID, runID)
	}
	ms, err := req.mismatches(events[0].GetWorkflowExecutionStartedEventAttributes().GetInput())
	if err != nil {
		return fmt.Errorf("decode the input of the open run %q (run %s): %w", req.workflowID, runID, err)
	}
	if len(ms) == 0 {
		return nil
	}
	diffs := make([]string, len(ms))
	for i, m := range ms {
		diffs[i] = fmt.Sprintf("%s is %s there, you asked for %s", m.field, m.open, m.requested)
	}
	return fmt.Errorf("a %s run for this request is already in progress with other input (%s), so this request was not started and nothing it asks for will happen: "+
		"wait for that run to end (`starter watch %s`) or cancel it (`starter cancel %s`), then start again; workflow IDs are one per model and date, so one run of it can be open at a time",
		req.workflowType, strings.Join(diffs, "; "), req.workflowID, req.workflowID)
}
