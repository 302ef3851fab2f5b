package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/mdlc/mdlc/internal/quote"
	"github.com/mdlc/mdlc/workflows"
)

func trainCommand() *command {
	return &command{
		name:    "train",
		args:    "--model NAME --data-date YYYY-MM-DD [--approval-status STATUS] [--wait] [flags]",
		summary: "start the Training workflow (train, create the model, register a version)",
		help: `Starts the Training workflow for a model on one data date: Initialize → Train Model (a SageMaker training
job on input-data/<date>/train and validation) → Create Model → Register Model (a new version in the model
package group named after the model).

The workflow ID is training-<model>-<date>. Starting the same request while its run is still open attaches to
that run instead of starting a second one; once it has closed, a new run starts. If the open run was started
with another --approval-status than the one given, nothing is started: it says so and exits 1 (a flag left
out matches whatever the open run uses).

It prints the workflow ID, run ID and web UI link. With --wait it follows the run live, one line per step as it
starts and ends, then prints a summary (model version, training job, metrics) and exits 3 if the run failed.`,
		examples: []string{
			"starter train --model churn --data-date 2019-10-01",
			"starter train --model churn --data-date 2019-10-01 --wait",
			"starter train --model churn --data-date 2019-10-01 --approval-status PendingManualApproval -o json",
		},
		setup: func(fs *flag.FlagSet, e *env) action {
			tf, out, req := addTemporalFlags(fs, e), addOutputFlag(fs), addRequestFlags(fs)
			approval := fs.String("approval-status", "", "`STATUS` of the registered version: Approved or PendingManualApproval (default: the worker's)")
			wait := fs.Bool("wait", false, "follow the run until it ends and print its summary")
			logs := addLogsFlags(fs, e)
			var in workflows.TrainingInput
			build := func() error {
				in = workflows.TrainingInput{ModelName: req.model, DataDate: req.dataDate, ApprovalStatus: *approval}
				return nil
			}
			return temporalAction(tf, out, func(ctx context.Context, e *env, c client.Client, _ []string) error {
				return startAndReport(ctx, e, c, tf, out, *wait, logs, startRequest{
					workflowType: workflows.TrainingWorkflow,
					workflowID:   workflows.TrainingWorkflowID(in.ModelName, in.DataDate),
					model:        in.ModelName, dataDate: in.DataDate, input: in,
					mismatches: decodeInput(in, trainingMismatches),
				})
			}, req.require, build, func() error { return invalidRequest(in.Validate()) }, logs.validate, func() error { return logsNeedWait(logs, *wait) })
		},
	}
}

func inferCommand() *command {
	return &command{
		name:    "infer",
		args:    "--model NAME --data-date YYYY-MM-DD [--threshold X] [--promotion-margin M] [--wait] [flags]",
		summary: "start the BatchInference workflow (score, measure AUC, retrain if below the threshold)",
		help: `Starts the BatchInference workflow for a model on one data date: Initialize → Find Model (the newest
Approved version) → Inference (a SageMaker batch transform of input-data/<date>/holdout_data) → Monitor Model
Performance (ROC AUC against holdout_target) → Is Re-training Needed? (AUC < threshold) → Re-train Model (a
child Training run, awaited).

The workflow ID is batch-inference-<model>-<date>; the retrain child is retrain-<model>, one per model: while
it runs, another run's retrain of the model is suppressed, as are retrains within the worker's
--retrain-cooldown or past its --max-retrains-per-day (decision RetrainSuppressed, with the reason). Starting the same
request while its run is open attaches to it; if that run uses another --threshold or --promotion-margin than
the one given, nothing is started: it says so and exits 1 (a flag left out matches whatever the open run
uses). A retrain is evaluated against the model the run scored, on the same holdout data: the new version is
promoted when its AUC reaches that model's AUC plus --promotion-margin (the worker's, default 0, when left
out), otherwise registered Rejected. With --wait it follows the run and its retrain child live, then prints the
AUC, the threshold and where it came from, the decision, the retrained version, both AUCs and the promotion.`,
		examples: []string{
			"starter infer --model churn --data-date 2019-11-01",
			"starter infer --model churn --data-date 2019-11-01 --threshold 0.8 --wait",
			"starter infer --model churn --data-date 2019-11-01 --promotion-margin 0.01 --wait",
		},
		setup: func(fs *flag.FlagSet, e *env) action {
			tf, out, req := addTemporalFlags(fs, e), addOutputFlag(fs), addRequestFlags(fs)
			threshold := fs.String("threshold", "", "AUC in [0, 1] below which the model is retrained, e.g. 0.8 (default: the worker's)")
			margin := fs.String("promotion-margin", "", "how much a retrained model's AUC must exceed the current model's to be promoted, in [0, 1] (default: the worker's)")
			wait := fs.Bool("wait", false, "follow the run (and its retrain child) until it ends and print its summary")
			logs := addLogsFlags(fs, e)
			var in workflows.BatchInferenceInput
			build := func() error {
				in = workflows.BatchInferenceInput{ModelName: req.model, DataDate: req.dataDate}
				if *threshold != "" {
					t, err := parseThreshold(*threshold)
					if err != nil {
						return err
					}
					in.Threshold = &t
				}
				if *margin != "" {
					m, err := strconv.ParseFloat(strings.TrimSpace(*margin), 64)
					if err != nil {
						return usagef("--promotion-margin %s must be a number in [0, 1], e.g. 0.01", quote.Value(*margin))
					}
					in.PromotionMargin = &m
				}
				return nil
			}
			return temporalAction(tf, out, func(ctx context.Context, e *env, c client.Client, _ []string) error {
				return startAndReport(ctx, e, c, tf, out, *wait, logs, startRequest{
					workflowType: workflows.BatchInferenceWorkflow,
					workflowID:   workflows.BatchInferenceWorkflowID(in.ModelName, in.DataDate),
					model:        in.ModelName, dataDate: in.DataDate, input: in,
					mismatches: decodeInput(in, batchInferenceMismatches),
				})
			}, req.require, build, func() error { return invalidRequest(in.Validate()) }, logs.validate, func() error { return logsNeedWait(logs, *wait) })
		},
	}
}

// logsNeedWait refuses --logs without --wait: the logs are printed while the run is followed.
func logsNeedWait(logs *logsFlags, wait bool) error {
	if logs.on && !wait {
		return usagef("--logs prints the job logs while the run is followed: add --wait (or use `starter logs ID` later)")
	}
	return nil
}

// parseThreshold reads --threshold; workflows' Validate checks the range.
func parseThreshold(s string) (float64, error) {
	t, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, usagef("--threshold %q must be a number in [0, 1], e.g. 0.8", s)
	}
	return t, nil
}

// invalidRequest turns the workflows' own Validate error (so the CLI and the workflow agree on what a valid
// request is) into a usage error.
func invalidRequest(err error) error {
	if err != nil {
		return usagef("invalid request: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return nil
}

// startRequest is a workflow to start.
type startRequest struct {
	workflowType, workflowID, model, dataDate string
	input                                     any
	// trigger, when set, is the run's Trigger search attribute (workflows.TriggerBackfill); only set when the
	// namespace has it (see triggerRegistered).
	trigger string
	// mismatches compares the input of an open run the start attached to with input; nil skips the check.
	mismatches func(open *commonpb.Payloads) ([]mismatch, error)
}

// Started is what train and infer print: the run they started or attached to.
type Started struct {
	WorkflowID string
	RunID      string
	Workflow   string
	// Attached is true when a run of the same request was already open and the command attached to it.
	Attached bool
	URL      string
}

func startAndReport(ctx context.Context, e *env, c client.Client, tf *temporalFlags, out *outputFlag, wait bool, logs *logsFlags, req startRequest) error {
	runID, started, err := startWorkflow(ctx, c, tf.namespace, req)
	if err != nil {
		return explainTemporal(err, tf, req.workflowID)
	}
	if !started {
		if err := checkAttached(ctx, c, tf.namespace, req, runID); err != nil {
			return err
		}
	}
	s := Started{WorkflowID: req.workflowID, RunID: runID, Workflow: req.workflowType, Attached: !started, URL: tf.runURL(req.workflowID, runID)}
	if !wait {
		if out.json() {
			return writeJSON(e.stdout, s)
		}
		fmt.Fprint(e.stdout, formatStarted(s))
		return nil
	}
	live := out.live(e)
	fmt.Fprint(live, formatStarted(s))
	lp, err := logs.printer(ctx, e, live)
	if err != nil {
		return err
	}
	sum, err := follow(ctx, c, tf, live, e.stderr, s.WorkflowID, s.RunID, lp)
	if err != nil {
		return err
	}
	sum.Attached = s.Attached
	return reportSummary(e, out, sum, false)
}

// startWorkflow starts the request's workflow with its deterministic ID, or attaches to the open run of that
// ID (conflict policy USE_EXISTING; a closed run's ID may be reused). It calls the service directly because the
// SDK's ExecuteWorkflow does not say whether it started a run or found one: started is false when it attached.
func startWorkflow(ctx context.Context, c client.Client, namespace string, req startRequest) (runID string, started bool, err error) {
	dc := converter.GetDefaultDataConverter()
	input, err := dc.ToPayloads(req.input)
	if err != nil {
		return "", false, fmt.Errorf("encode %s input: %w", req.workflowType, err)
	}
	attrs := &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{}}
	keywords := map[temporal.SearchAttributeKeyKeyword]string{
		workflows.ModelNameAttribute: req.model,
		workflows.DataDateAttribute:  req.dataDate,
	}
	if req.trigger != "" {
		keywords[workflows.TriggerAttribute] = req.trigger
	}
	for key, value := range keywords {
		p, err := dc.ToPayload(value)
		if err != nil {
			return "", false, fmt.Errorf("encode search attribute %s: %w", key.GetName(), err)
		}
		// The type lets the server check the value against the attribute's registered type, as the SDK does.
		p.Metadata["type"] = []byte(key.GetValueType().String())
		attrs.IndexedFields[key.GetName()] = p
	}
	resp, err := c.WorkflowService().StartWorkflowExecution(ctx, &workflowservice.StartWorkflowExecutionRequest{
		Namespace:                namespace,
		WorkflowId:               req.workflowID,
		WorkflowType:             &commonpb.WorkflowType{Name: req.workflowType},
		TaskQueue:                &taskqueuepb.TaskQueue{Name: workflows.TaskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		Input:                    input,
		Identity:                 identity(),
		RequestId:                requestID(),
		WorkflowIdReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIdConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		SearchAttributes:         attrs,
	})
	if err != nil {
		return "", false, fmt.Errorf("start %s workflow %q: %w", req.workflowType, req.workflowID, err)
	}
	return resp.GetRunId(), resp.GetStarted(), nil
}

func identity() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%d@%s@starter", os.Getpid(), host)
}

// requestID makes each start a distinct request (the server deduplicates retries of one request by it).
func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it panics on a broken system instead)
	return hex.EncodeToString(b)
}
