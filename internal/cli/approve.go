package cli

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/awsconf"
	"github.com/mdlc/mdlc/internal/localdefaults"
	"github.com/mdlc/mdlc/internal/quote"
	"github.com/mdlc/mdlc/lambdas/contract"
	"github.com/mdlc/mdlc/workflows"
)

// DecisionAPI is the part of the SageMaker client `approve` and `reject` call.
type DecisionAPI interface {
	ListModelPackages(ctx context.Context, in *sagemaker.ListModelPackagesInput, optFns ...func(*sagemaker.Options)) (*sagemaker.ListModelPackagesOutput, error)
	DescribeModelPackage(ctx context.Context, in *sagemaker.DescribeModelPackageInput, optFns ...func(*sagemaker.Options)) (*sagemaker.DescribeModelPackageOutput, error)
	UpdateModelPackage(ctx context.Context, in *sagemaker.UpdateModelPackageInput, optFns ...func(*sagemaker.Options)) (*sagemaker.UpdateModelPackageOutput, error)
}

func approveCommand() *command { return decisionCommand(string(smtypes.ModelApprovalStatusApproved)) }

func rejectCommand() *command { return decisionCommand(string(smtypes.ModelApprovalStatusRejected)) }

// decisionCommand is `approve` (status Approved) or `reject` (status Rejected).
func decisionCommand(status string) *command {
	name, verb := "approve", "Approves"
	reasonHelp := "`TEXT`: why, recorded in the version's ApprovalDescription"
	if status == string(smtypes.ModelApprovalStatusRejected) {
		name, verb = "reject", "Rejects"
		reasonHelp += " (required)"
	}
	return &command{
		name:       name,
		args:       "MODEL VERSION [--reason TEXT] [flags]",
		positional: "MODEL VERSION",
		summary:    strings.ToLower(verb[:1]) + verb[1:len(verb)-1] + " a registered model version: a person's decision in the registry",
		help: verb + ` a version of a model in the SageMaker Model Registry (UpdateModelPackage), recording who decided and
why in the version's ApprovalDescription ("` + status + ` by <who> at <time>: <reason>"). Batch inference scores
with the newest Approved version, so approving a version makes it the live model if it is the newest Approved
one, and rejecting the live version puts the previous Approved one back in service.

A rejection needs a reason. A version that already has the status is refused (nothing changed).

When a Training run waits for a decision on the version (it registered it PendingManualApproval: the
"Wait for Approval" step), the decision is sent to that run as its "approval" Update: the run checks it
(right version, not already decided, a reason for a rejection), records it in the registry, ends its wait and
reports the decision in its result. Otherwise — no run waits, or Temporal cannot be reached (a warning says so)
— the decision goes straight to the registry, as a decision in the SageMaker console or with
` + "`aws sagemaker update-model-package`" + ` would; a waiting run sees it there too. Straight in the registry there
is no conditional update: two people deciding on the same version at once both succeed, and the later one's
decision stands; through the run, the second decision is refused.

When the pipeline runs on Step Functions, a training state machine that registered the version
PendingManualApproval waits in its Wait for Approval state, with its task token in the pipeline's bucket
(--bucket) at approval-tokens/<package ARN>: after the registry update, approve completes it with
SendTaskSuccess and reject with SendTaskFailure (error mdlc.Rejected), and the token is deleted.`,
		examples: []string{
			"starter " + name + " churn 2 --reason 'AUC 0.93 on the 2019-11-01 holdout'",
			"starter " + name + " churn 2 --reason 'checked by hand' --by alice -o json",
		},
		setup: func(fs *flag.FlagSet, e *env) action {
			af, tf, out := addAWSFlags(fs, e), addTemporalFlags(fs, e), addOutputFlag(fs)
			reason := fs.String("reason", "", reasonHelp)
			by := fs.String("by", envOr(e, "USER", "unknown"), "`NAME` of who decides [USER]")
			bucket := fs.String("bucket", e.getenv("MDLC_BUCKET"), "`NAME` of the pipeline's bucket, where a training state machine (Step Functions) keeps the task token of its wait for a decision; "+localdefaults.Bucket+" for local [MDLC_BUCKET]")
			return awsAction(af, out, func(ctx context.Context, e *env, cfg aws.Config, args []string) error {
				d, err := parseDecision(args, status, *reason, *by)
				if err != nil {
					return err
				}
				runs := &temporalRuns{tf: tf}
				defer runs.close()
				var machines *stateMachineWaits
				if b := *bucket; b != "" || af.target == awsconf.TargetLocal {
					if b == "" {
						b = localdefaults.Bucket
					}
					machines = &stateMachineWaits{bucket: b, sfn: sfn.NewFromConfig(cfg), s3: s3.NewFromConfig(cfg, func(o *s3.Options) {
						o.UsePathStyle = af.target == awsconf.TargetLocal // localaws serves S3 path-style
					})}
				}
				return decide(ctx, e, sagemaker.NewFromConfig(cfg), runs, machines, af, out, d, time.Now())
			}, tf.validate)
		},
	}
}

// decision is a person's decision on one model version.
type decision struct {
	model   string
	version int32
	status  string
	reason  string
	by      string
}

// parseDecision checks the arguments of approve/reject.
func parseDecision(args []string, status, reason, by string) (decision, error) {
	model, ver := args[0], args[1]
	if err := validateModelName(model); err != nil {
		return decision{}, err
	}
	v, err := strconv.ParseInt(ver, 10, 32)
	if err != nil || v < 1 {
		return decision{}, usagef("VERSION %s must be a version number (1, 2, …) as `starter models --model %s` lists them", quote.Value(ver), model)
	}
	reason, by = strings.TrimSpace(reason), strings.TrimSpace(by)
	if status == string(smtypes.ModelApprovalStatusRejected) && reason == "" {
		return decision{}, usagef("reject needs --reason: say why the version must not be used, e.g. --reason 'AUC fell on the 2019-12-01 holdout'")
	}
	if by == "" {
		return decision{}, usagef("--by must name who decides")
	}
	d := decision{model: model, version: int32(v), status: status, reason: reason, by: by}
	if n := len(d.description(time.Time{})); n > activities.MaxApprovalDescription {
		return decision{}, usagef("--reason and --by make an ApprovalDescription of %d bytes; SageMaker keeps at most %d: shorten the reason", n, activities.MaxApprovalDescription)
	}
	return d, nil
}

// description is the ApprovalDescription that records the decision.
func (d decision) description(at time.Time) string {
	return activities.ApprovalDescription(d.status, d.by, at, d.reason)
}

// Decided is what approve and reject report.
type Decided struct {
	ModelName           string
	Version             int32
	ModelPackageArn     string
	From, To            string
	ApprovalDescription string
	// LiveVersion is the newest Approved version after the decision, the one batch inference scores with
	// (0: none).
	LiveVersion int32
	// WorkflowID and RunID name the Training run that waited for the decision and recorded it, when one did
	// (the decision was its "approval" Update); empty when the decision went straight to the registry.
	WorkflowID string `json:",omitempty"`
	RunID      string `json:",omitempty"`
	// StateMachineWaited says that a training state machine (Step Functions) waited for the decision and was
	// sent it with its task token.
	StateMachineWaited bool `json:",omitempty"`
}

// decide records d: through the Training run that waits for it when runs finds one, else in the registry.
func decide(ctx context.Context, e *env, sm DecisionAPI, runs waitingRuns, machines *stateMachineWaits, af *awsFlags, out *outputFlag, d decision, now time.Time) error {
	summaries, err := listSummaries(ctx, sm, af, d.model)
	if err != nil {
		return err
	}
	var target *smtypes.ModelPackageSummary
	for i := range summaries {
		if aws.ToInt32(summaries[i].ModelPackageVersion) == d.version {
			target = &summaries[i]
		}
	}
	if target == nil {
		return fmt.Errorf("model %s has no version %d (it has %d); see `starter models --model %s`", d.model, d.version, len(summaries), d.model)
	}
	arn := aws.ToString(target.ModelPackageArn)
	current, err := sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String(arn)})
	if err != nil {
		return explainAWS(err, af, fmt.Sprintf("describe model package %q", arn))
	}
	from := string(current.ModelApprovalStatus)
	if from == d.status {
		return fmt.Errorf("%s version %d is already %s (%s); nothing changed", d.model, d.version, from, dash(aws.ToString(current.ApprovalDescription)))
	}
	res := Decided{ModelName: d.model, Version: d.version, ModelPackageArn: arn, From: from, To: d.status}
	var run *waitingRun
	if from == contract.ApprovalPending {
		if run, err = runs.find(ctx, d.model, d.version); err != nil {
			fmt.Fprintf(e.stderr, "warning: cannot look for a run waiting for version %d of %s (%v); deciding in the registry, where a waiting run sees the decision too\n", d.version, d.model, err)
		}
	}
	if run != nil {
		outcome, err := runs.send(ctx, run, workflows.ApprovalRequest{ModelPackageVersion: d.version, Status: d.status, Reason: d.reason, By: d.by})
		if err != nil {
			return fmt.Errorf("run %s (waiting for a decision on version %d of %s) refused the decision: %w", run.workflowID, d.version, d.model, err)
		}
		res.WorkflowID, res.RunID, res.ApprovalDescription = run.workflowID, run.runID, outcome.Description
	} else {
		res.ApprovalDescription = d.description(now)
		if _, err := sm.UpdateModelPackage(ctx, &sagemaker.UpdateModelPackageInput{
			ModelPackageArn:     aws.String(arn),
			ModelApprovalStatus: smtypes.ModelApprovalStatus(d.status),
			ApprovalDescription: aws.String(res.ApprovalDescription),
		}); err != nil {
			return explainAWS(err, af, fmt.Sprintf("update model package %q", arn))
		}
		if machines != nil && from == contract.ApprovalPending {
			waited, err := machines.complete(ctx, arn, workflows.ApprovalOutcome{Decision: d.status, Via: workflows.ApprovalViaRun,
				By: d.by, Reason: d.reason, At: now, Description: res.ApprovalDescription})
			if err != nil {
				fmt.Fprintf(e.stderr, "warning: the decision is in the registry, but a state machine waiting for it was not told: %v\n", err)
			}
			res.StateMachineWaited = waited
		}
	}
	for _, s := range summaries {
		v, status := aws.ToInt32(s.ModelPackageVersion), string(s.ModelApprovalStatus)
		if v == d.version {
			status = d.status
		}
		if status == contract.ApprovalApproved && v > res.LiveVersion {
			res.LiveVersion = v
		}
	}
	if out.json() {
		return writeJSON(e.stdout, res)
	}
	fmt.Fprintf(e.stdout, "%s version %d: %s → %s\n  %s\n", d.model, d.version, from, d.status, res.ApprovalDescription)
	if res.WorkflowID != "" {
		fmt.Fprintf(e.stdout, "Run %s was waiting for this decision: it recorded it and ended its wait.\n", res.WorkflowID)
	}
	if res.StateMachineWaited {
		fmt.Fprintln(e.stdout, "A training state machine was waiting for this decision: it was sent the decision with its task token.")
	}
	if res.LiveVersion == 0 {
		fmt.Fprintf(e.stdout, "No version of %s is Approved now: batch inference fails with ModelNotFound until one is.\n", d.model)
	} else {
		fmt.Fprintf(e.stdout, "Batch inference scores with version %d, the newest Approved one.\n", res.LiveVersion)
	}
	return nil
}

// listSummaries lists the versions of the model package group model.
func listSummaries(ctx context.Context, sm DecisionAPI, af *awsFlags, model string) ([]smtypes.ModelPackageSummary, error) {
	in := &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String(model), MaxResults: aws.Int32(100)}
	var out []smtypes.ModelPackageSummary
	for {
		page, err := sm.ListModelPackages(ctx, in)
		if err != nil {
			if isNoGroup(err) {
				return nil, fmt.Errorf("no model package group %q: no version of that model was registered; see `starter models --model %s`", model, model)
			}
			return nil, explainAWS(err, af, fmt.Sprintf("list model packages of %q", model))
		}
		out = append(out, page.ModelPackageSummaryList...)
		if aws.ToString(page.NextToken) == "" {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}
