package workflows_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/mdlc/mdlc/workflows"
)

// TestReplayRecordedHistories replays histories of real runs (recorded by the end-to-end test with
// -update-histories) against the current workflow code: a change that would break running workflows
// (non-determinism) fails here.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 4, "recorded histories missing: run go test ./workflows -run TestPipelinesEndToEnd -update-histories")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(workflows.Training, workflow.RegisterOptions{Name: workflows.TrainingWorkflow})
			r.RegisterWorkflowWithOptions(workflows.BatchInference, workflow.RegisterOptions{Name: workflows.BatchInferenceWorkflow})
			_, id, ok := strings.Cut(strings.TrimSuffix(filepath.Base(f), ".json"), "__")
			require.True(t, ok, "history file names are <name>__<workflow ID>.json")
			file, err := os.Open(f)
			require.NoError(t, err)
			defer file.Close()
			h, err := client.HistoryFromJSON(file, client.HistoryJSONOptions{})
			require.NoError(t, err)
			require.NoError(t, r.ReplayWorkflowHistoryWithOptions(nil, h, worker.ReplayWorkflowHistoryOptions{
				OriginalExecution: workflow.Execution{ID: id, RunID: "replay"},
			}))
		})
	}
}
