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
	"github.com/mdlc/mdlc/lambdas/contract"
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

With --schedule, emit prints instead an EventBridge Scheduler schedule that starts the state machine as
` + "`starter schedule create`" + ` starts the workflow: the CreateSchedule request, for
` + "`aws scheduler create-schedule --cli-input-json file://schedule.json`" + `. It takes --model, --cron or --every
(whole minutes), --data-date-offset and --scheduler-role-arn. Its input is a scheduled request whose
ScheduledTime EventBridge Scheduler fills in with the scheduled time; the Initialize function derives the
data date from it by the workflows' rule. The request takes the state machine's default threshold and
approval status. policy --schedule prints what the scheduler role needs (states:StartExecution on the state
machine).

ARNs are built from --region and --account-id (with --target local, a placeholder account).`,
		examples: []string{
			"starter parity emit --pipeline batch-inference > batch-inference.asl.json",
			"starter parity emit --pipeline batch-inference --schedule --model churn --cron '0 2 * * *' --data-date-offset -1d --scheduler-role-arn arn:aws:iam::000000000000:role/mdlc-scheduler > schedule.json",
			"starter parity policy --pipeline batch-inference --schedule",
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
			sf := addParityScheduleFlags(fs, e)
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
					if sf.on {
						return usagef("parity deploy: --schedule is for emit and policy: create the schedule with `aws scheduler create-schedule --cli-input-json file://schedule.json`")
					}
					return deployParity(ctx, e, af, cfg, *sfnRole)
				}
				if *pipeline == "" {
					return usagef("parity %s: --pipeline is required: training or batch-inference", act)
				}
				p, err := parity.ParsePipeline(*pipeline)
				if err != nil {
					return usagef("parity: --pipeline: %v", err)
				}
				if sf.on {
					return emitSchedule(e, act, p, cfg, sf)
				}
				if err := sf.unused(fs); err != nil {
					return err
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

// parityScheduleFlags are the flags of `parity emit --schedule` and `parity policy --schedule`.
type parityScheduleFlags struct {
	on                                     bool
	model, cron, every, offset, role, name string
}

func addParityScheduleFlags(fs *flag.FlagSet, e *env) *parityScheduleFlags {
	f := &parityScheduleFlags{}
	fs.BoolVar(&f.on, "schedule", false, "emit: print an EventBridge Scheduler schedule of the state machine instead; policy: print its scheduler role's policy")
	fs.StringVar(&f.model, "model", "", "--schedule: model `NAME` of the scheduled request")
	fs.StringVar(&f.cron, "cron", "", "--schedule: cron `EXPR` (5 fields, UTC; days of the week by name), e.g. '0 2 * * *'")
	fs.StringVar(&f.every, "every", "", "--schedule: `INTERVAL` between runs in whole minutes, e.g. 24h, 1d")
	fs.StringVar(&f.offset, "data-date-offset", defaultDataDateOffset, "--schedule: `DAYS` from the scheduled time's day to the data date, e.g. -1d")
	fs.StringVar(&f.role, "scheduler-role-arn", e.getenv("MDLC_SCHEDULER_ROLE_ARN"), "--schedule: `ARN` of the role EventBridge Scheduler assumes to start executions [MDLC_SCHEDULER_ROLE_ARN]")
	fs.StringVar(&f.name, "schedule-name", "", "--schedule: `NAME` of the schedule (default mdlc-<pipeline>-<model>)")
	return f
}

// unused refuses the schedule's flags without --schedule, which would ignore them.
func (f *parityScheduleFlags) unused(fs *flag.FlagSet) error {
	var given []string
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "model", "cron", "every", "data-date-offset", "scheduler-role-arn", "schedule-name":
			given = append(given, "--"+fl.Name)
		}
	})
	if len(given) > 0 {
		return usagef("parity: %s %s --schedule (they describe its EventBridge schedule)", strings.Join(given, ", "), map[bool]string{true: "needs", false: "need"}[len(given) == 1])
	}
	return nil
}

// emitSchedule prints the EventBridge Scheduler schedule of p (emit) or its role's policy (policy).
func emitSchedule(e *env, act string, p parity.Pipeline, cfg parity.Config, f *parityScheduleFlags) error {
	var doc interface{ JSON() ([]byte, error) }
	if act == parityPolicy {
		pol, err := parity.SchedulerPolicy(p, cfg)
		if err != nil {
			return usagef("parity policy --schedule: %v", err)
		}
		doc = pol
	} else {
		if f.model == "" {
			return usagef("parity emit --schedule: --model is required, e.g. --model churn")
		}
		if err := validateModelName(f.model); err != nil {
			return err
		}
		if _, err := contract.ParseDataDateOffset(f.offset); err != nil {
			return usagef("--data-date-offset: %v", err)
		}
		s := parity.Schedule{Name: f.name, ModelName: f.model, DataDateOffset: f.offset, Cron: f.cron, RoleArn: f.role}
		if f.every != "" {
			every, err := parseEvery("--every", f.every)
			if err != nil {
				return err
			}
			s.Every = every
		}
		if f.role == "" {
			return usagef("parity emit --schedule: --scheduler-role-arn (MDLC_SCHEDULER_ROLE_ARN) is required: the role EventBridge Scheduler assumes; `starter parity policy --schedule` prints what it must allow")
		}
		sched, err := parity.EventBridgeSchedule(p, cfg, s)
		if err != nil {
			return usagef("parity emit --schedule: %v", err)
		}
		doc = sched
	}
	b, err := doc.JSON()
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(b)
	return err
}
