package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/mdlc/mdlc/activities"
)

// TestScheduledRunDerivesItsDataDate: a scheduled request (DataDateOffset, no DataDate) started by a
// Temporal schedule processes the day of the schedule's nominal time (TemporalScheduledStartTime) plus the
// offset, not the day it runs on: Initialize is asked for that date. A ScheduledTime in the request wins
// over the attribute; without either the run fails InvalidInput before any activity.
func TestScheduledRunDerivesItsDataDate(t *testing.T) {
	nominal := time.Date(2024, 10, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		in       any
		training bool
		want     string
	}{
		{"training, offset -1d", TrainingInput{ModelName: "m", DataDateOffset: "-1d"}, true, "2024-09-30"},
		{"inference, offset 0d", BatchInferenceInput{ModelName: "m", DataDateOffset: "0d"}, false, "2024-10-01"},
		{"inference, ScheduledTime wins", BatchInferenceInput{ModelName: "m", DataDateOffset: "0d", ScheduledTime: "2024-08-01T06:00:00Z"}, false, "2024-08-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			env.SetSearchAttributesOnStart(map[string]any{ScheduledStartTimeAttribute: nominal})
			env.OnActivity(a.Defaults, mock.Anything, mock.Anything).Return(activities.DefaultsOutput{Threshold: 0.8, ApprovalStatus: "Approved"}, nil).Maybe()
			var got string
			stop := errors.New("stop after Initialize")
			record := func(_ context.Context, in activities.InitializeInput) error { got = in.DataDate; return stop }
			if tc.training {
				env.OnActivity(a.InitializeTraining, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.InitializeInput) (activities.TrainingPlan, error) {
					return activities.TrainingPlan{}, record(ctx, in)
				})
				env.ExecuteWorkflow(Training, tc.in)
			} else {
				env.OnActivity(a.InitializeInference, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.InitializeInput) (activities.InferencePlan, error) {
					return activities.InferencePlan{}, record(ctx, in)
				})
				env.ExecuteWorkflow(BatchInference, tc.in)
			}
			require.Error(t, env.GetWorkflowError())
			require.Equal(t, tc.want, got)
		})
	}
	t.Run("no schedule", func(t *testing.T) {
		env := newEnv(t)
		env.ExecuteWorkflow(BatchInference, BatchInferenceInput{ModelName: "m", DataDateOffset: "-1d"})
		requireInvalidInput(t, env)
		require.ErrorContains(t, env.GetWorkflowError(), "needs the schedule's time")
	})
}
