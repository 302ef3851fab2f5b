package workflows_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/mdlc/mdlc/workflows"
)

// TestStepWorkMatchesRecordedHistories: the activities and child workflows the recorded runs scheduled are
// those StepWorkOf lists for their workflow, in its order, and every listed step occurs in some history, so
// `starter retry` finds each step of a real run; and each step's work carries a summary that names the step.
func TestStepWorkMatchesRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	seen := map[string]map[string]bool{workflows.TrainingWorkflow: {}, workflows.BatchInferenceWorkflow: {}}
	for _, f := range files {
		file, err := os.Open(f)
		require.NoError(t, err)
		h, err := client.HistoryFromJSON(file, client.HistoryJSONOptions{})
		file.Close()
		require.NoError(t, err, f)
		events := h.GetEvents()
		typ := events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName()
		steps := workflows.StepWorkOf(typ)
		require.NotNil(t, steps, "%s: workflow type %q", f, typ)
		last, lastStepEvent := -1, int64(0)
		for _, ev := range events {
			var i int
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, enumspb.EVENT_TYPE_MARKER_RECORDED:
				name, ok := workflows.ActivityOf(ev)
				if !ok || slices.Contains(workflows.RunWork, name) {
					continue
				}
				if slices.Contains(workflows.CloseWork, name) {
					require.Greater(t, ev.GetEventId(), lastStepEvent, "%s: %q runs after the steps", f, name)
					continue
				}
				i = index(steps, func(s workflows.StepWork) bool { return s.Does(name) })
				require.GreaterOrEqual(t, i, 0, "%s: activity %q is no step's work", f, name)
				// The web UI shows each step's work by its summary, local activities' markers included.
				var summary string
				require.NoError(t, converter.GetDefaultDataConverter().FromPayload(ev.GetUserMetadata().GetSummary(), &summary))
				require.True(t, strings.HasPrefix(summary, steps[i].Step+": "), "%s: event %d (%s) has summary %q, want one that begins with its step %q",
					f, ev.GetEventId(), name, summary, steps[i].Step)
				if i == last && slices.Contains(steps[i].HandlerActivityTypes, name) {
					continue // run by an Update's handler while its step waits
				}
			case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
				name := ev.GetStartChildWorkflowExecutionInitiatedEventAttributes().GetWorkflowType().GetName()
				i = index(steps, func(s workflows.StepWork) bool { return s.ChildWorkflowType == name })
				require.GreaterOrEqual(t, i, 0, "%s: child workflow %q is no step's work", f, name)
			default:
				continue
			}
			require.Greater(t, i, last, "%s: step %q out of order", f, steps[i].Step)
			last, lastStepEvent = i, ev.GetEventId()
			seen[typ][steps[i].Step] = true
		}
	}
	for typ, got := range seen {
		for _, s := range workflows.StepWorkOf(typ) {
			require.True(t, got[s.Step], "no recorded %s history runs step %q", typ, s.Step)
		}
	}
}

func index(steps []workflows.StepWork, match func(workflows.StepWork) bool) int {
	for i, s := range steps {
		if match(s) {
			return i
		}
	}
	return -1
}
