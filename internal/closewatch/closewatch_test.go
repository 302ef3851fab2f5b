package closewatch

import (
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/mdlc/mdlc/activities"
)

func payload(t *testing.T, v any) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNotification: a terminated or timed-out run's visibility record becomes its notification, with what
// its search attributes had recorded; attributes it never set stay empty.
func TestNotification(t *testing.T) {
	start, end := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC), time.Date(2026, 12, 7, 10, 5, 0, 0, time.UTC)
	run := &workflow.WorkflowExecutionInfo{
		Execution:       &commonpb.WorkflowExecution{WorkflowId: "batch-inference-churn-2019-11-01", RunId: "r1"},
		Type:            &commonpb.WorkflowType{Name: "BatchInference"},
		StartTime:       timestamppb.New(start),
		CloseTime:       timestamppb.New(end),
		Status:          enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED,
		ParentExecution: &commonpb.WorkflowExecution{WorkflowId: "parent"},
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
			"ModelName": payload(t, "churn"), "DataDate": payload(t, "2019-11-01"), "Decision": payload(t, "Retrain"),
			"AUC": payload(t, 0.71), "ModelVersion": payload(t, int64(3)),
		}},
	}
	n := Notification("default", run)
	if n.Status != activities.StatusTerminated || n.WorkflowID != "batch-inference-churn-2019-11-01" || n.RunID != "r1" ||
		n.WorkflowType != "BatchInference" || n.Namespace != "default" || n.ParentWorkflowID != "parent" ||
		!n.StartTime.Equal(start) || !n.CloseTime.Equal(end) {
		t.Errorf("run fields: %+v", n)
	}
	if n.ModelName != "churn" || n.DataDate != "2019-11-01" || n.Decision != "Retrain" || n.AUC == nil || *n.AUC != 0.71 || n.ModelPackageVersion != 3 {
		t.Errorf("search attributes: %+v", n)
	}

	run.Status, run.SearchAttributes, run.ParentExecution = enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, nil, nil
	n = Notification("default", run)
	if n.Status != activities.StatusTimedOut || n.ModelName != "" || n.AUC != nil || n.ParentWorkflowID != "" {
		t.Errorf("timed out, no attributes: %+v", n)
	}
}

// TestQuery: the scan asks for the pipelines' runs only, terminated or timed out, closed since the time given.
func TestQuery(t *testing.T) {
	q := Query(time.Date(2026, 12, 7, 10, 0, 0, 0, time.FixedZone("x", 3600)))
	for _, want := range []string{`WorkflowType = "Training"`, `WorkflowType = "BatchInference"`, `ExecutionStatus = "Terminated"`,
		`ExecutionStatus = "TimedOut"`, `CloseTime >= "2026-12-07T09:00:00Z"`} {
		if !strings.Contains(q, want) {
			t.Errorf("query %s lacks %s", q, want)
		}
	}
}
