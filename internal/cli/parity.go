package cli

import (
	"context"
	"flag"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/mdlc/mdlc/internal/awsconf"
	"github.com/mdlc/mdlc/internal/localdefaults"
	"github.com/mdlc/mdlc/internal/pipelineflags"
	"github.com/mdlc/mdlc/parity"
)

// Actions of `starter parity`.
const (
	parityEmit   = "emit"
	parityPolicy = "policy"
	parityDeploy = "deploy"
)

// localAccount is the account ID localaws uses, and the placeholder in ARNs emitted for --target local.
var accountPattern = regexp.MustCompile(`^\d{12}$`)

func parityCommand() *command {
	return &command{
		name:       "parity",
		args:       "emit|policy|deploy [flags]",
		positional: "ACTION",
		summary:    "emit or deploy the pipelines as AWS Step Functions state machines",
		help: `The same two pipelines as Amazon States Language, built from the same pipeline settings as the worker
(the same flags and environment variables: --bucket, --role-arn, --training-image, --threshold, ...), so both
engines send SageMaker the same requests and take the same retrain decision.

  emit    print one state machine definition (--pipeline); no AWS call
  policy  print the IAM policy the state machine's execution role needs (--pipeline)
  deploy  create or update both state machines in Step Functions (idempotent), training first

ARNs are built from --region and --account-id (with --target local, a placeholder account).`,
		examples: []string{
			"starter parity emit --pipeline batch-inference > batch-inference.asl.json",
			"starter parity policy --pipeline training --target aws --account-id 123456789012 --region us-west-2 --bucket my-bucket --role-arn arn:aws:iam::123456789012:role/sagemaker",
			"starter parity deploy --target aws --account-id 123456789012 --region us-west-2 --bucket my-bucket --role-arn arn:aws:iam::123456789012:role/sagemaker --state-machine-role-arn arn:aws:iam::123456789012:role/mdlc-sfn",
		},
		setup: func(fs *flag.FlagSet, e *env) action {
			af := addAWSFlags(fs, e)
			pf := pipelineflags.Add(fs, e.getenv)
			pipeline := fs.String("pipeline", "", "`PIPELINE` to emit or print the policy of: training or batch-inference")
			account := fs.String("account-id", e.getenv("AWS_ACCOUNT_ID"), "AWS account `ID` of the state machines and Lambda functions; "+localdefaults.AccountID+" for local [AWS_ACCOUNT_ID]")
			sfnRole := fs.String("state-machine-role-arn", e.getenv("MDLC_SFN_ROLE_ARN"), "execution role `ARN` of the state machines, for deploy [MDLC_SFN_ROLE_ARN]")
			trainingName := fs.String("training-state-machine", parity.DefaultTrainingStateMachine, "`NAME` of the training state machine")
			inferenceName := fs.String("batch-inference-state-machine", parity.DefaultBatchInferenceStateMachine, "`NAME` of the batch-inference state machine")
			return func(ctx context.Context, e *env, args []string) error {
				act := args[0]
				if act != parityEmit && act != parityPolicy && act != parityDeploy {
					return usagef("parity: unknown action %q: use emit, policy or deploy", act)
				}
				if err := af.validate(); err != nil {
					return err
				}
				ac, err := pf.Config(af.target)
				if err != nil {
					return usagef("parity: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
				}
				cfg := parity.Config{
					Activities: ac, Region: af.region, AccountID: *account,
					TrainingStateMachine: *trainingName, BatchInferenceStateMachine: *inferenceName,
				}
				if af.target == awsconf.TargetLocal {
					if cfg.Region == "" {
						cfg.Region = localdefaults.Region
					}
					if cfg.AccountID == "" {
						cfg.AccountID = localdefaults.AccountID
					}
				}
				if cfg.Region == "" {
					return usagef("parity: --region (AWS_REGION) is required with --target aws")
				}
				if !accountPattern.MatchString(cfg.AccountID) {
					return usagef("parity: --account-id %q must be the 12-digit AWS account ID of the state machines (AWS_ACCOUNT_ID)", cfg.AccountID)
				}
				if act == parityDeploy {
					return deployParity(ctx, e, af, cfg, *sfnRole)
				}
				if *pipeline == "" {
					return usagef("parity %s: --pipeline is required: training or batch-inference", act)
				}
				p, err := parity.ParsePipeline(*pipeline)
				if err != nil {
					return usagef("parity: --pipeline: %v", err)
				}
				if act == parityEmit {
					if err := parity.Emit(e.stdout, p, cfg); err != nil {
						return usagef("parity emit: %v", err)
					}
					fmt.Fprintln(e.stdout)
					return nil
				}
				doc, err := parity.IAMPolicy(p, cfg)
				if err != nil {
					return usagef("parity policy: %v", err)
				}
				b, err := doc.JSON()
				if err != nil {
					return fmt.Errorf("encode IAM policy: %w", err)
				}
				fmt.Fprintln(e.stdout, string(b))
				return nil
			}
		},
	}
}

// deployParity creates or updates both state machines in Step Functions.
func deployParity(ctx context.Context, e *env, af *awsFlags, cfg parity.Config, roleArn string) error {
	if af.target == awsconf.TargetLocal && af.endpoint == "" {
		return usagef("parity deploy: localaws has no Step Functions; deploy with --target aws (or --endpoint-url of a Step Functions endpoint)")
	}
	if roleArn == "" {
		return usagef("parity deploy: --state-machine-role-arn (MDLC_SFN_ROLE_ARN) is required: the role Step Functions assumes; `starter parity policy` prints what it must allow")
	}
	awsCfg, err := af.load(ctx)
	if err != nil {
		return usagef("parity deploy: %v", err)
	}
	deployed, err := parity.Deploy(ctx, sfn.NewFromConfig(awsCfg), cfg, roleArn)
	if err != nil {
		return fmt.Errorf("parity deploy to %s: %w", af.endpointName(), err)
	}
	for _, d := range deployed {
		verb := "updated"
		if d.Created {
			verb = "created"
		}
		fmt.Fprintf(e.stdout, "%-8s %-16s %s\n", verb, d.Pipeline, d.Arn)
	}
	return nil
}
