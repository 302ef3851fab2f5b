package cli

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/mdlc/mdlc/internal/quote"
	"github.com/mdlc/mdlc/workflows"
)

func watchCommand() *command {
	return &command{
		name:       "watch",
		args:       "WORKFLOW_ID [--run-id ID] [flags]",
		positional: "WORKFLOW_ID",
		summary:    "follow a run live until it ends, then print its summary",
		help: `Follows a run (the latest of the workflow ID unless --run-id is given) and its retrain child: one line per
step as it starts and as it ends, with the SageMaker job's status while it runs, then the run's summary. A run
that has already ended is replayed from its progress. Exits 3 when the run failed or was canceled.`,
		examples: []string{
			"starter watch training-churn-2019-10-01",
			"starter watch batch-inference-churn-2019-11-01 -o json",
		},
		setup: func(fs *flag.FlagSet, e *env) action {
			tf, out := addTemporalFlags(fs, e), addOutputFlag(fs)
			runID := fs.String("run-id", "", "`RUN_ID` (default: the latest run of the workflow ID)")
			logs := addLogsFlags(fs, e)
			return temporalAction(tf, out, func(ctx context.Context, e *env, c client.Client, args []string) error {
				id := args[0]
				live := out.live(e)
				lp, err := logs.printer(ctx, e, live)
				if err != nil {
					return err
				}
				s, err := follow(ctx, c, tf, live, e.stderr, id, *runID, lp)
				if err != nil {
					return err
				}
				return reportSummary(e, out, s, false)
			}, logs.validate)
		},
	}
}

func statusCommand() *command {
	return &command{
		name:       "status",
		args:       "WORKFLOW_ID [--run-id ID] [flags]",
		positional: "WORKFLOW_ID",
		summary:    "show a run's state, steps and result or error",
		help: `Shows one run (the latest of the workflow ID unless --run-id is given): its status, its steps (with the
status of a SageMaker job it waits on), and its result or error. Exits 3 when the run failed or was canceled.`,
		examples: []string{
			"starter status training-churn-2019-10-01",
			"starter status batch-inference-churn-2019-11-01 -o json",
		},
		setup: func(fs *flag.FlagSet, e *env) action {
			tf, out := addTemporalFlags(fs, e), addOutputFlag(fs)
			runID := fs.String("run-id", "", "`RUN_ID` (default: the latest run of the workflow ID)")
			return temporalAction(tf, out, func(ctx context.Context, e *env, c client.Client, args []string) error {
				id := args[0]
				w := newWatched(id, *runID, "")
				var err error
				if w.desc, err = c.DescribeWorkflowExecution(ctx, id, *runID); err != nil {
					return explainTemporal(err, tf, id)
				}
				w.runID = w.desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
				if w.progress, err = queryProgress(ctx, c, id, w.runID); err != nil {
					fmt.Fprintf(e.stderr, "warning: %s does not answer the progress query (%v); is the worker running? Showing the run without its steps\n", id, err)
				}
				s, err := summarize(ctx, c, tf, w)
				if err != nil {
					return err
				}
				return reportSummary(e, out, s, true)
			})
		},
	}
}

func cancelCommand() *command {
	return &command{
		name:       "cancel",
		args:       "WORKFLOW_ID [--run-id ID] [flags]",
		positional: "WORKFLOW_ID",
		summary:    "request cancellation of a run (its SageMaker job is stopped)",
		help: `Requests cancellation of a run (the latest of the workflow ID unless --run-id is given). The step that is
running is cancelled: a SageMaker training or transform job is stopped, and a retrain child is cancelled too.
The run then ends Canceled; follow it with ` + "`starter watch WORKFLOW_ID`" + `.`,
		examples: []string{
			"starter cancel training-churn-2019-10-01",
		},
		setup: func(fs *flag.FlagSet, e *env) action {
			tf, out := addTemporalFlags(fs, e), addOutputFlag(fs)
			runID := fs.String("run-id", "", "`RUN_ID` (default: the latest run of the workflow ID)")
			return temporalAction(tf, out, func(ctx context.Context, e *env, c client.Client, args []string) error {
				id := args[0]
				desc, err := c.DescribeWorkflowExecution(ctx, id, *runID)
				if err != nil {
					return explainTemporal(err, tf, id)
				}
				info := desc.GetWorkflowExecutionInfo()
				rid := info.GetExecution().GetRunId()
				if st := info.GetStatus().String(); st != "Running" {
					return fmt.Errorf("run %s of %s has already ended (%s): nothing to cancel", rid, id, st)
				}
				if err := c.CancelWorkflow(ctx, id, rid); err != nil {
					return explainTemporal(err, tf, id)
				}
				res := struct {
					WorkflowID, RunID, URL string
					CancelRequested        bool
				}{id, rid, tf.runURL(id, rid), true}
				if out.json() {
					return writeJSON(e.stdout, res)
				}
				fmt.Fprintf(e.stdout, "Cancellation requested for %s (run ID %s); its running SageMaker job will be stopped.\nFollow it with: starter watch %s\n", id, rid, id)
				return nil
			})
		},
	}
}

// listLimitMax bounds --limit: one page of the visibility API.
const listLimitMax = 1000

func listCommand() *command {
	return &command{
		name:    "list",
		args:    "[--model NAME] [--decision D] [--waiting] [--limit N] [flags]",
		summary: "list recent runs, optionally of one model or decision",
		help: `Lists recent Training and BatchInference runs, newest first, through Temporal's visibility API. --model
filters on the ModelName search attribute, as the web UI can (ModelName="churn"); --decision on the
Decision search attribute of batch-inference runs (Keep, Retrain, or RetrainSuppressed: a retrain a guard
held back). The table shows what each run measured and registered, from its search attributes: the AUC (a
batch-inference run's model on its data date, a retrain's new model on the same data), the decision, the
model version (the one that scored, or the one registered) and the approval status a training run registered
(Rejected when its model lost to the champion). A training run that waits for a person's decision on the
version it registered shows "Running (waiting for approval)"; --waiting lists only those (the
ApprovalStatus search attribute). The TRIGGER column says what started a run that no person started:
schedule:<schedule ID> or backfill (the Trigger search attribute; in the web UI, e.g. Trigger="backfill").`,
		examples: []string{
			"starter list",
			"starter list --model churn --limit 5",
			"starter list --model churn -o json",
			"starter list --decision RetrainSuppressed",
			"starter list --waiting",
		},
		setup: func(fs *flag.FlagSet, e *env) action {
			tf, out := addTemporalFlags(fs, e), addOutputFlag(fs)
			model := fs.String("model", "", "only runs of the model `NAME` (the ModelName search attribute)")
			decision := fs.String("decision", "", "only batch-inference runs that decided `D`: Keep, Retrain or RetrainSuppressed (the Decision search attribute)")
			limit := fs.Int("limit", 20, "at most this many runs")
			waiting := fs.Bool("waiting", false, "only training runs that wait for a decision on the version they registered (starter approve/reject)")
			checkLimit := func() error {
				if *limit < 1 || *limit > listLimitMax {
					return usagef("--limit %d must be between 1 and %d", *limit, listLimitMax)
				}
				return nil
			}
			checkModel := func() error {
				if *model == "" {
					return nil
				}
				return validateModelName(*model)
			}
			checkDecision := func() error {
				switch *decision {
				case "", workflows.DecisionKeep, workflows.DecisionRetrain, workflows.DecisionRetrainSuppressed:
					return nil
				}
				return usagef("--decision %s must be %s, %s or %s", quote.Value(*decision), workflows.DecisionKeep, workflows.DecisionRetrain, workflows.DecisionRetrainSuppressed)
			}
			return temporalAction(tf, out, func(ctx context.Context, e *env, c client.Client, _ []string) error {
				q := listQuery(*model, *decision)
				if *waiting {
					q = waitingOnly(q)
				}
				runs, err := listRuns(ctx, c.WorkflowService(), tf.namespace, q, *limit)
				if err != nil {
					return explainTemporal(err, tf, "")
				}
				if out.json() {
					return writeJSON(e.stdout, runs)
				}
				if len(runs) == 0 {
					fmt.Fprintln(e.stderr, "no runs found")
					return nil
				}
				fmt.Fprint(e.stdout, formatRuns(runs))
				return nil
			}, checkLimit, checkModel, checkDecision)
		},
	}
}

// RunListing is one run in `list`.
type RunListing struct {
	WorkflowID, RunID, Workflow, Status string
	ModelName, DataDate                 string `json:",omitempty"`
	// AUC, Decision, ModelVersion and ApprovalStatus are the run's search attributes of the same names, when
	// it set them (see workflows.SearchAttributes).
	AUC            *float64 `json:",omitempty"`
	Decision       string   `json:",omitempty"`
	ModelVersion   *int64   `json:",omitempty"`
	ApprovalStatus string   `json:",omitempty"`
	// Trigger is what started the run when it was not a person: "schedule:<schedule ID>" or "backfill".
	Trigger   string     `json:",omitempty"`
	StartTime time.Time  `json:",omitempty"`
	CloseTime *time.Time `json:",omitempty"`
}

// listQuery is the visibility query of `list`: the mdlc workflow types, of one model when model is set, that
// decided decision when it is set.
func listQuery(model, decision string) string {
	q := fmt.Sprintf("WorkflowType IN (%s, %s)", strconv.Quote(workflows.TrainingWorkflow), strconv.Quote(workflows.BatchInferenceWorkflow))
	if decision != "" {
		q = fmt.Sprintf("%s = %s AND %s", workflows.DecisionAttribute.GetName(), strconv.Quote(decision), q)
	}
	if model != "" {
		q = fmt.Sprintf("%s = %s AND %s", workflows.ModelNameAttribute.GetName(), strconv.Quote(model), q)
	}
	// No ORDER BY: the dev server's SQL visibility store does not support it; listRuns sorts the page.
	return q
}

func listRuns(ctx context.Context, svc workflowservice.WorkflowServiceClient, namespace, query string, limit int) ([]RunListing, error) {
	resp, err := svc.ListWorkflowExecutions(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: namespace, PageSize: int32(limit), Query: query,
	})
	if err != nil {
		return nil, fmt.Errorf("list workflow runs: %w", err)
	}
	var runs []RunListing
	for _, info := range resp.GetExecutions() {
		if len(runs) == limit {
			break
		}
		r := RunListing{
			WorkflowID: info.GetExecution().GetWorkflowId(), RunID: info.GetExecution().GetRunId(),
			Workflow: info.GetType().GetName(), Status: info.GetStatus().String(),
			ModelName:      keyword(info.GetSearchAttributes(), workflows.ModelNameAttribute.GetName()),
			DataDate:       keyword(info.GetSearchAttributes(), workflows.DataDateAttribute.GetName()),
			StartTime:      info.GetStartTime().AsTime(),
			Decision:       keyword(info.GetSearchAttributes(), workflows.DecisionAttribute.GetName()),
			AUC:            attribute[float64](info.GetSearchAttributes(), workflows.AUCAttribute.GetName()),
			ModelVersion:   attribute[int64](info.GetSearchAttributes(), workflows.ModelVersionAttribute.GetName()),
			ApprovalStatus: keyword(info.GetSearchAttributes(), workflows.ApprovalStatusAttribute.GetName()),
			Trigger:        keyword(info.GetSearchAttributes(), workflows.TriggerAttribute.GetName()),
		}
		if info.GetCloseTime() != nil {
			t := info.GetCloseTime().AsTime()
			r.CloseTime = &t
		}
		runs = append(runs, r)
	}
	// The server returns open runs first, then by close time; people read runs by when they started.
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].StartTime.After(runs[j].StartTime) })
	return runs, nil
}

// keyword decodes a Keyword search attribute ("" when absent).
func keyword(sa *commonpb.SearchAttributes, name string) string {
	p, ok := sa.GetIndexedFields()[name]
	if !ok {
		return ""
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
		return ""
	}
	return s
}

// attribute decodes a search attribute of type T (nil when absent or not a T).
func attribute[T any](sa *commonpb.SearchAttributes, name string) *T {
	p, ok := sa.GetIndexedFields()[name]
	if !ok {
		return nil
	}
	var v T
	if err := converter.GetDefaultDataConverter().FromPayload(p, &v); err != nil {
		return nil
	}
	return &v
}

// formatRuns renders runs as a table.
func formatRuns(runs []RunListing) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tWORKFLOW ID\tTYPE\tMODEL\tDATA DATE\tAUC\tDECISION\tVERSION\tAPPROVAL\tTRIGGER\tSTARTED\tDURATION\tRUN ID")
	for _, r := range runs {
		dur := "-"
		if r.CloseTime != nil {
			dur = formatDuration(r.CloseTime.Sub(r.StartTime))
		}
		auc, version := "-", "-"
		if r.AUC != nil {
			auc = strconv.FormatFloat(*r.AUC, 'f', 4, 64)
		}
		if r.ModelVersion != nil {
			version = strconv.FormatInt(*r.ModelVersion, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", listStatus(r), r.WorkflowID, r.Workflow, dash(r.ModelName), dash(r.DataDate),
			auc, dash(r.Decision), version, dash(r.ApprovalStatus), dash(r.Trigger), r.StartTime.Local().Format(time.DateTime), dur, r.RunID)
	}
	_ = tw.Flush() // writes to a strings.Builder cannot fail
	return b.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
