package parity

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/lambdas/contract"
	"github.com/mdlc/mdlc/workflows"
)

// Names of the states that are not business steps. Business steps are named as the workflows' steps
// (workflows.StepInitialize, ...); a state that implements part of a step is named "<step>: <part>".
const (
	StateApprovalGiven      = "Approval Status Given?"
	StateDefaultApproval    = "Use Default Approval Status"
	StateThresholdGiven     = "Threshold Given?"
	StateDefaultThreshold   = "Use Default Threshold"
	StateMarginGiven        = "Promotion Margin Given?"
	StateDefaultMargin      = "Use Default Promotion Margin"
	StateApplyDefaultMargin = "Use Default Promotion Margin: Apply"
	StateChampionGiven      = "Champion Given?"
	StateEvaluateMonitor    = workflows.StepEvaluate + ": Monitor"
	StateDecisionRejected   = "Decision: Rejected"
	StateRegisterEvaluated  = workflows.StepRegister + ": Evaluated?"
	StateCreateEvaluated    = workflows.StepRegister + ": Create Evaluated Package"
	StateDescribeApproval   = workflows.StepRegister + ": Describe Approval"
	StateCreateGroup        = workflows.StepRegister + ": Create Group"
	StateCreatePackage      = workflows.StepRegister + ": Create Package"
	StateAnyApproved        = workflows.StepFindModel + ": Any Approved?"
	StateNoneApproved       = workflows.StepFindModel + ": None Approved"
	StateDescribePackage    = workflows.StepFindModel + ": Describe Package"
	StateStartScan          = workflows.StepFindModel + ": Start Scan"
	StateScan               = workflows.StepFindModel + ": Scan"
	StateNextCandidate      = workflows.StepFindModel + ": Next Candidate"
	StateHigherVersion      = workflows.StepFindModel + ": Higher Version?"
	StateTakeCandidate      = workflows.StepFindModel + ": Take Candidate"
	StateNextPage           = workflows.StepFindModel + ": Next Page?"
	StateListMore           = workflows.StepFindModel + ": List More"
	StateContinueScan       = workflows.StepFindModel + ": Continue Scan"
	StateDecisionRetrain    = "Decision: Retrain"
	StateDecisionKeep       = "Decision: Keep"
	StateCooldownVersions   = workflows.StepDecide + ": Versions In Cooldown"
	StateWithinCooldown     = workflows.StepDecide + ": Within Cooldown?"
	StateDayVersions        = workflows.StepDecide + ": Versions Today"
	StateCapReached         = workflows.StepDecide + ": Cap Reached?"
	StateSuppressedCooldown = "Decision: Retrain Suppressed (Cooldown)"
	StateSuppressedCap      = "Decision: Retrain Suppressed (Cap)"
	StateUseDataDate        = workflows.StepInitialize + ": Use Data Date"
	StateEmptyString        = "Empty String"
	StateFinalize           = "Finalize"
	StateHandleError        = "Handle Error"
	StateFailure            = "Failure"
	executionIDPath         = "$$.Execution.Id"
	executionStartTimePath  = "$$.Execution.StartTime"
	executionInputPath      = "$$.Execution.Input"
)

// permanentLambdaErrors are the function error types that say the input is wrong (the contract's permanent
// errors, which the activities make non-retryable) and the Lambda service errors no retry fixes.
var permanentLambdaErrors = append(contract.PermanentErrors(),
	"Lambda.ResourceNotFoundException", "Lambda.InvalidRequestContentException", "Lambda.RequestTooLargeException")

// transientSageMakerErrors are the SageMaker errors that prove the request was not carried out: only these
// are retried on SageMaker tasks. Temporal's activities retry more (any error but a request error) because a
// retried activity attaches to the job or model it created; a retried Step Functions task would create it
// again and fail on the taken name.
var transientSageMakerErrors = []string{"SageMaker.ThrottlingException", "SageMaker.InternalFailure", "SageMaker.ServiceUnavailable"}

// notFoundSageMakerErrors are how SageMaker says a model package group does not exist.
var notFoundSageMakerErrors = []string{"SageMaker.ValidationException", "SageMaker.ResourceNotFound"}

func ptr[T any](v T) *T { return &v }

// timing is how a kind of Task state is timed and retried: as the workflow steps of the same kind are, from the
// workflows' own timings (workflows.LambdaTiming, APITiming and JobTiming).
type timing struct {
	timeoutSeconds int
	retry          []Retrier
}

// timingOf derives a Task state's TimeoutSeconds and Retry from a step's timing. The timeout is one
// attempt's StartToClose timeout. The errors in never are not retried; those in retried are, with the
// options' backoff: first retry after InitialInterval, each wait BackoffCoefficient times the last, at most
// MaximumInterval, MaximumAttempts in all (Temporal counts the first attempt, ASL's MaxAttempts counts
// retries). A value ASL cannot express, or a default left to the Temporal server, is an error rather than an
// approximation.
func timingOf(kind string, opts workflows.Timing, never, retried []string) (timing, error) {
	var errs []error
	seconds := func(what string, d time.Duration) int {
		if d < time.Second || d%time.Second != 0 {
			errs = append(errs, fmt.Errorf("%s %s is not a whole number of seconds (at least 1)", what, d))
		}
		return int(d / time.Second)
	}
	t := timing{timeoutSeconds: seconds("StartToCloseTimeout", opts.StartToCloseTimeout)}
	rp := opts.RetryPolicy
	switch {
	case rp == nil:
		errs = append(errs, errors.New("no retry policy: the server's default retries forever, which ASL cannot express"))
	case rp.MaximumAttempts < 1:
		errs = append(errs, fmt.Errorf("MaximumAttempts %d: unlimited attempts cannot be expressed in ASL", rp.MaximumAttempts))
	case rp.BackoffCoefficient < 1:
		errs = append(errs, fmt.Errorf("BackoffCoefficient %v: set it (at least 1) rather than leave it to the server's default", rp.BackoffCoefficient))
	case len(rp.NonRetryableErrorTypes) > 0:
		errs = append(errs, fmt.Errorf("NonRetryableErrorTypes %v are not mirrored in ASL", rp.NonRetryableErrorTypes))
	default:
		if len(never) > 0 {
			t.retry = append(t.retry, Retrier{ErrorEquals: never, MaxAttempts: ptr(0)})
		}
		t.retry = append(t.retry, Retrier{
			ErrorEquals:     retried,
			IntervalSeconds: seconds("InitialInterval", rp.InitialInterval),
			BackoffRate:     rp.BackoffCoefficient,
			MaxDelaySeconds: seconds("MaximumInterval", rp.MaximumInterval),
			MaxAttempts:     ptr(int(rp.MaximumAttempts) - 1),
		})
	}
	if err := errors.Join(errs...); err != nil {
		return timing{}, fmt.Errorf("%s step timing: %w", kind, err)
	}
	return t, nil
}

// builder collects the states of one state machine and the first error met building them.
type builder struct {
	cfg    Config
	states States
	err    error
	// lambda, api and job time and retry the Task states as the workflows' lambdaOptions, apiOptions and
	// jobOptions do their steps: lambda every error but the permanent ones (the activities make those
	// non-retryable); api and job only the SageMaker errors that prove the request was not carried out.
	lambda, api, job timing
}

// newBuilder returns a builder for cfg with the Task timings derived from the workflows' options.
func newBuilder(cfg Config) *builder {
	b := &builder{cfg: cfg}
	var err error
	b.lambda, err = timingOf("lambda", workflows.LambdaTiming(), permanentLambdaErrors, []string{errorsAll})
	b.fail(err)
	b.api, err = timingOf("api", workflows.APITiming(), nil, transientSageMakerErrors)
	b.fail(err)
	b.job, err = timingOf("job", workflows.JobTiming(), nil, transientSageMakerErrors)
	b.fail(err)
	return b
}

func (b *builder) add(name string, s State) {
	b.states = append(b.states, NamedState{Name: name, State: s})
}

func (b *builder) fail(err error) {
	if b.err == nil && err != nil {
		b.err = err
	}
}

// tmpl renders v with template, recording an error.
func (b *builder) tmpl(v any) json.RawMessage {
	t, err := template(v)
	b.fail(err)
	return t
}

// sel renders a selector, recording an error.
func (b *builder) sel(s selector) json.RawMessage {
	t, err := s.render()
	b.fail(err)
	return t
}

// lit renders a literal, recording an error.
func (b *builder) lit(v any) json.RawMessage {
	t, err := literal(v)
	b.fail(err)
	return t
}

// catchAll is every Task's last Catch: any error goes to Handle Error with the error at $.Error.
func catchAll() Catcher {
	return Catcher{ErrorEquals: []string{errorsAll}, Next: StateHandleError, ResultPath: "$.Error"}
}

// lambdaTask invokes a function through the optimized Lambda integration with payload.
func (b *builder) lambdaTask(function string, payload any, result selector, resultPath Path, next string) *Task {
	return &Task{
		Resource: b.cfg.serviceARN("lambda:invoke"),
		Parameters: b.tmpl(struct {
			FunctionName string
			Payload      any
		}{b.cfg.FunctionARN(function), payload}),
		ResultSelector: b.sel(result),
		ResultPath:     resultPath,
		TimeoutSeconds: b.lambda.timeoutSeconds,
		Retry:          b.lambda.retry,
		Catch:          []Catcher{catchAll()},
		Next:           next,
	}
}

// initializeEvent is the Initialize functions' event, with the run's identity from the context object so
// that job names stay the same when the state is retried. Its WorkflowInput carries every request field a rule
// of contract.RequestRules checks for kind (defaults filled in by then), and its Request the execution input as
// the user gave it, so that the function checks the request as the workflow does: the rules on the values,
// and no field but the pipeline's, each of its type (the workflows decode their input strictly).
func initializeEvent(bucket string, kind contract.RequestKind, cooldown time.Duration) any {
	input := map[string]string{}
	for _, r := range contract.RequestRules() {
		if r.AppliesTo(kind) && !slices.Contains(requestOnlyFields, r.Field) {
			input[r.Field] = ref("$." + r.Field)
		}
	}
	return struct {
		WorkflowInput          map[string]string
		S3RootBucket           string
		IdempotencyKey         string
		RunTime                string
		Request                string
		RetrainCooldownSeconds int64
	}{
		WorkflowInput:          input,
		S3RootBucket:           bucket,
		IdempotencyKey:         ref(executionIDPath),
		RunTime:                ref(executionStartTimePath),
		Request:                ref(executionInputPath),
		RetrainCooldownSeconds: int64(cooldown / time.Second),
	}
}

// useDataDate is the Pass after Initialize that sets $.DataDate to the date Initialize processes: the
// request's own, or for a scheduled request (DataDateOffset, and the ScheduledTime an EventBridge Scheduler
// schedule substituted; see contract.ResolveDataDate) the date the function derived, which the later states
// (Register Model's metadata, Re-train Model's request, the output) then use, as the workflows use theirs.
func useDataDate(next string) *Pass {
	return &Pass{Comment: "The date Initialize processes: the request's own, or a scheduled request's derived one.",
		InputPath: "$.Plan.DataDate", ResultPath: "$.DataDate", Next: next}
}

// requestOnlyFields are the request fields that are optional without a default (Champion): a state machine
// cannot write the null that stands for an absent one, so WorkflowInput leaves them out and the Initialize
// function reads them from Request.
var requestOnlyFields = []string{"Champion"}

// absentAsEmpty adds, in front of next, a Choice and a Pass for each request field of kind that the state
// machine gives no default (all but defaulted and requestOnlyFields): an absent one becomes "", as the workflows decode an absent
// field, so that Initialize checks it under the request's rules (a required one is InvalidInput, as in the
// workflows; DataDateOffset and ScheduledTime are optional), where the Initialize task's path to it would fail
// States.Runtime instead. Those fields are strings. It returns the first state added: StateEmptyString, which
// puts the "" the Passes copy at emptyStringPath.
//
// The Passes copy "" with InputPath rather than give it as their Result: aws-local-stepfunctions takes an
// empty Result for none and passes its whole input on, where Step Functions sets the field to "".
func (b *builder) absentAsEmpty(kind contract.RequestKind, next string, defaulted ...string) string {
	fields := slices.DeleteFunc(contract.RequestFields(kind), func(f string) bool {
		return slices.Contains(defaulted, f) || slices.Contains(requestOnlyFields, f)
	})
	for i := len(fields) - 1; i >= 0; i-- {
		f := fields[i]
		given, empty := f+" Given?", "Use Empty "+f
		b.add(given, &Choice{
			Comment: "Absent means empty, as the workflows decode it; Initialize checks it.",
			Choices: []ChoiceRule{{Not: &ChoiceRule{Variable: "$." + f, IsPresent: ptr(true)}, Next: empty}},
			Default: next,
		})
		b.add(empty, &Pass{InputPath: emptyStringPath, ResultPath: Path("$." + f), Next: next})
		next = given
	}
	b.add(StateEmptyString, &Pass{Comment: "The empty string the Use Empty states copy into an absent request field.",
		Parameters: b.lit(map[string]string{"Value": ""}), ResultPath: "$.EmptyString", Next: next})
	return StateEmptyString
}

// emptyStringPath holds "" once StateEmptyString has run.
const emptyStringPath = "$.EmptyString.Value"

// whenUnset is a Choice that goes to unset when the field at path is absent, null or (orEmpty) the empty
// string, else to set. For request fields that is what "not set" means to the workflows, which decode JSON
// null as absent and treat an empty approval status as none.
func whenUnset(comment, path, unset, set string, orEmpty bool) *Choice {
	// The rules are tried in order, so the later ones only meet a field that is present.
	rules := []ChoiceRule{
		{Not: &ChoiceRule{Variable: path, IsPresent: ptr(true)}, Next: unset},
		{Variable: path, IsNull: ptr(true), Next: unset},
	}
	if orEmpty {
		rules = append(rules, ChoiceRule{Variable: path, StringEquals: ptr(""), Next: unset})
	}
	return &Choice{Comment: comment, Choices: rules, Default: set}
}

// errorStates are the shared tail of both machines: Handle Error (a Pass, as in the original) and Failure,
// which fails the execution with the caught error's name and cause.
func (b *builder) errorStates() {
	b.add(StateHandleError, &Pass{Comment: "Every Task catches States.ALL into $.Error and comes here.", Next: StateFailure})
	b.add(StateFailure, &Fail{ErrorPath: "$.Error.Error", CausePath: "$.Error.Cause"})
}

// finish validates the collected states into a state machine.
func (b *builder) finish(comment, startAt string) (*StateMachine, error) {
	if b.err != nil {
		return nil, b.err
	}
	m := &StateMachine{Comment: comment, StartAt: startAt, States: b.states}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// Training returns the training state machine: Initialize → Train Model → Create Model → Register Model, as
// the Training workflow does, with the same SageMaker requests.
func Training(cfg Config) (*StateMachine, error) {
	cfg, err := cfg.prepared()
	if err != nil {
		return nil, err
	}
	b := newBuilder(cfg)
	ac := cfg.Activities

	b.add(StateApprovalGiven, whenUnset("Absent, null or empty means the default.", "$.ApprovalStatus", StateDefaultApproval, StateMarginGiven, true))
	b.add(StateDefaultApproval, &Pass{Result: b.lit(ac.ApprovalStatus), ResultPath: "$.ApprovalStatus", Next: StateMarginGiven})
	b.marginDefault(workflows.StepInitialize)

	b.add(workflows.StepInitialize, b.lambdaTask(ac.Functions.InitializeTraining, initializeEvent(ac.Bucket, contract.TrainingRequest, 0),
		selector{"TrainingConfig": "$.Payload.TrainingConfig", "EvaluationConfig": "$.Payload.EvaluationConfig", "RunDate": "$.Payload.RunDate", "DataDate": "$.Payload.DataDate"},
		"$.Plan", StateUseDataDate))
	b.add(StateUseDataDate, useDataDate(workflows.StepTrainModel))

	const tc = "$.Plan.TrainingConfig."
	plan := activities.TrainingPlan{
		TrainingJobName: ref(tc + "TrainingJobName"),
		TrainingInput:   activities.S3Location{S3Uri: ref(tc + "TrainingInput.S3Uri")},
		ValidationInput: activities.S3Location{S3Uri: ref(tc + "ValidationInput.S3Uri")},
		TrainingOutput:  activities.S3Location{S3Uri: ref(tc + "TrainingOutput.S3Uri")},
	}
	b.add(workflows.StepTrainModel, &Task{
		Resource:   cfg.serviceARN("sagemaker:createTrainingJob.sync"),
		Parameters: b.tmpl(activities.TrainingJobRequest(ac, plan, ref(executionIDPath))),
		ResultSelector: b.sel(selector{
			"TrainingJobName": "$.TrainingJobName", "TrainingJobArn": "$.TrainingJobArn",
			"ModelArtifacts": "$.ModelArtifacts.S3ModelArtifacts",
		}),
		ResultPath:     "$.Training",
		TimeoutSeconds: b.job.timeoutSeconds,
		Retry:          b.job.retry,
		Catch:          []Catcher{catchAll()},
		Next:           workflows.StepCreateModel,
	})

	b.add(workflows.StepCreateModel, &Task{
		Resource:       cfg.serviceARN("sagemaker:createModel"),
		Parameters:     b.tmpl(activities.ModelRequest(ac, ref("$.Training.TrainingJobName"), ref("$.Training.ModelArtifacts"), ref(executionIDPath))),
		ResultSelector: b.sel(selector{"ModelArn": "$.ModelArn"}),
		ResultPath:     "$.Model",
		TimeoutSeconds: b.api.timeoutSeconds,
		Retry:          b.api.retry,
		Catch:          []Catcher{catchAll()},
		Next:           StateChampionGiven,
	})
	b.evaluation(ac)

	b.add(workflows.StepRegister, &Task{
		Comment:        "Does the model package group exist? (The activity describes it, then creates it when missing.)",
		Resource:       cfg.serviceARN("aws-sdk:sagemaker:describeModelPackageGroup"),
		Parameters:     b.tmpl(sagemaker.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String(ref("$.ModelName"))}),
		ResultPath:     NullPath,
		TimeoutSeconds: b.api.timeoutSeconds,
		Retry:          b.api.retry,
		Catch: []Catcher{
			{ErrorEquals: notFoundSageMakerErrors, Next: StateCreateGroup, ResultPath: NullPath},
			catchAll(),
		},
		Next: StateRegisterEvaluated,
	})
	b.add(StateCreateGroup, &Task{
		Resource: cfg.serviceARN("aws-sdk:sagemaker:createModelPackageGroup"),
		Parameters: b.tmpl(sagemaker.CreateModelPackageGroupInput{
			ModelPackageGroupName:        aws.String(ref("$.ModelName")),
			ModelPackageGroupDescription: aws.String(ref("States.Format('Models of the {} pipeline, registered by mdlc', $.ModelName)")),
		}),
		ResultPath:     NullPath,
		TimeoutSeconds: b.api.timeoutSeconds,
		Retry:          b.api.retry,
		Catch:          []Catcher{catchAll()},
		Next:           StateRegisterEvaluated,
	})
	b.add(StateRegisterEvaluated, &Choice{
		Comment: "A version evaluated against a champion is registered with its evidence.",
		Choices: []ChoiceRule{{Variable: "$.Monitor", IsPresent: ptr(true), Next: StateCreateEvaluated}},
		Default: StateCreatePackage,
	})
	b.add(StateCreateEvaluated, b.createPackage(modelPackageRequest(ac, true), StateDescribeApproval))
	b.add(StateDescribeApproval, &Task{
		Comment:        "Why the version got its status: both AUCs and the rule (CreateModelPackage has no ApprovalDescription).",
		Resource:       cfg.serviceARN("aws-sdk:sagemaker:updateModelPackage"),
		Parameters:     b.tmpl(activities.ApprovalDescriptionRequest(ref("$.Package.ModelPackageArn"), ref("$.Monitor.Evaluation.Reason"))),
		ResultPath:     NullPath,
		TimeoutSeconds: b.api.timeoutSeconds,
		Retry:          b.api.retry,
		Catch:          []Catcher{catchAll()},
		Next:           StateApprovalPending,
	})
	b.add(StateCreatePackage, b.createPackage(modelPackageRequest(ac, false), StateApprovalPending))
	b.approvalStates(StateFinalize)
	b.add(StateFinalize, &Pass{
		Comment:    "The execution's output: the fields of the Training workflow's result that Step Functions knows.",
		Parameters: b.sel(trainingResult()),
		End:        true,
	})
	b.errorStates()
	start := b.absentAsEmpty(contract.TrainingRequest, StateApprovalGiven, "ApprovalStatus", "PromotionMargin")
	return b.finish("mdlc training: Initialize → Train Model → Create Model → Evaluate Re-trained Model → Is the New Model Better? → Register Model (the evaluation only with a Champion) (→ Wait for Approval for a version registered PendingManualApproval). Emitted by mdlc parity from the worker's configuration.", start)
}

// marginDefault adds Promotion Margin Given? and its default (the worker's --promotion-margin), in front of
// next. The default is written in two states: a Pass whose Result is 0 (the default margin) is read as a Pass
// without Result by aws-local-stepfunctions (it tests the Result for truth), which would copy the state's
// input instead; a 0 inside an object is read as written, and a Pass without Result passes on its InputPath.
func (b *builder) marginDefault(next string) {
	b.add(StateMarginGiven, whenUnset("Absent or null means the default.", "$.PromotionMargin", StateDefaultMargin, next, false))
	b.add(StateDefaultMargin, &Pass{Result: b.lit(map[string]float64{"PromotionMargin": b.cfg.Activities.PromotionMargin}), ResultPath: "$.Default", Next: StateApplyDefaultMargin})
	b.add(StateApplyDefaultMargin, &Pass{InputPath: "$.Default.PromotionMargin", ResultPath: "$.PromotionMargin", Next: next})
}

// evaluation adds the states of the Training workflow's evaluate step: without a champion, straight to
// Register Model; with one, the new model's batch transform of the holdout data and monitor-performance with
// the evaluation (the requests batch inference makes for the champion, planned by initialize-training), then
// the comparison contract.Promotes makes: at least the bar (the champion's AUC plus the margin, computed by
// the function) keeps the requested approval status, below it registers the version Rejected.
func (b *builder) evaluation(ac activities.Config) {
	b.add(StateChampionGiven, whenUnset("No champion (a first version, a training run started by hand): registered without evaluation.",
		"$.Champion", workflows.StepRegister, workflows.StepEvaluate, false))
	const ec = "$.Plan.EvaluationConfig."
	plan := inferencePlanAt(ec + "InferenceConfig.")
	b.add(workflows.StepEvaluate, &Task{
		Comment:        "The new model scores the holdout data its champion scored, as Inference does.",
		Resource:       b.cfg.serviceARN("sagemaker:createTransformJob.sync"),
		Parameters:     b.tmpl(activities.TransformJobRequest(ac, plan, ref("$.Training.TrainingJobName"), ref(executionIDPath))),
		ResultSelector: b.sel(selector{"TransformJobName": "$.TransformJobName"}),
		ResultPath:     "$.Evaluation",
		TimeoutSeconds: b.job.timeoutSeconds,
		Retry:          b.job.retry,
		Catch:          []Catcher{catchAll()},
		Next:           StateEvaluateMonitor,
	})
	const mi = ec + "MonitorConfig.MonitorInput."
	b.add(StateEvaluateMonitor, b.lambdaTask(ac.Functions.MonitorPerformance,
		map[string]any{
			"PredictionInput": ref(mi + "PredictionS3Uri"), "TargetInput": ref(mi + "TargetS3Uri"),
			"Evaluation": map[string]string{
				"OutputS3Uri": ref(ec + "EvaluationOutput.S3Uri"), "DataDate": ref("$.DataDate"),
				"Champion": ref("$.Champion"), "PromotionMargin": ref("$.PromotionMargin"),
			},
		},
		selector{"ModelPerformance": "$.Payload.ModelPerformance", "Evaluation": "$.Payload.Evaluation"}, "$.Monitor", workflows.StepPromote))
	b.add(workflows.StepPromote, &Choice{
		Comment: "contract.Promotes: promoted when the AUC reaches the champion's plus the margin; equal promotes.",
		Choices: []ChoiceRule{{Variable: "$.Monitor.ModelPerformance", NumericGreaterThanEqualsPath: "$.Monitor.Evaluation.Bar", Next: workflows.StepRegister}},
		Default: StateDecisionRejected,
	})
	b.add(StateDecisionRejected, &Pass{Result: b.lit(contract.ApprovalRejected), ResultPath: "$.ApprovalStatus", Next: workflows.StepRegister})
}

// inferencePlanAt is the transform plan an Initialize function returned at path (an InferenceConfig, ending
// in "."), as references for a transform task's request.
func inferencePlanAt(path string) activities.InferencePlan {
	return activities.InferencePlan{
		InferenceJobName: ref(path + "InferenceJobName"),
		InferenceInput:   activities.S3Location{S3Uri: ref(path + "InferenceInput.S3Uri")},
		InferenceOutput:  activities.S3Location{S3Uri: ref(path + "InferenceOutput.S3Uri")},
	}
}

// createPackage is the Register Model task that creates the model package of request and keeps its ARN at
// $.Package.
func (b *builder) createPackage(request any, next string) *Task {
	return &Task{
		Resource:       b.cfg.serviceARN("aws-sdk:sagemaker:createModelPackage"),
		Parameters:     b.tmpl(request),
		ResultSelector: b.sel(selector{"ModelPackageArn": "$.ModelPackageArn"}),
		ResultPath:     "$.Package",
		TimeoutSeconds: b.api.timeoutSeconds,
		Retry:          b.api.retry,
		Catch:          []Catcher{catchAll()},
		Next:           next,
	}
}

// modelPackageRequest is the CreateModelPackage request of the Register Model activity, with the values of
// the run as placeholders; evaluated adds the evidence of Evaluate Re-trained Model.
func modelPackageRequest(ac activities.Config, evaluated bool) *sagemaker.CreateModelPackageInput {
	in := activities.RegisterModelInput{
		Group:              ref("$.ModelName"),
		SageMakerModelName: ref("$.Training.TrainingJobName"),
		ModelDataURL:       ref("$.Training.ModelArtifacts"),
		TrainingJobName:    ref("$.Training.TrainingJobName"),
		DataDate:           ref("$.DataDate"),
		ApprovalStatus:     ref("$.ApprovalStatus"),
		RunKey:             ref(executionIDPath),
	}
	if evaluated {
		const e = "$.Monitor.Evaluation."
		in.Evaluation = &contract.Evaluation{
			S3Uri: ref(e + "S3Uri"), Decision: ref(e + "Decision"),
			ChallengerAUCText: ref(e + "ChallengerAUCText"), ChampionAUCText: ref(e + "ChampionAUCText"),
		}
	}
	return activities.ModelPackageRequest(ac, in,
		ref("States.Format('{} trained on {} by training job {}', $.ModelName, $.DataDate, $.Training.TrainingJobName)"))
}

// BatchInference returns the batch-inference state machine: Initialize → Find Model → Inference → Monitor
// Model Performance → Is Re-training Needed? → Re-train Model (the training state machine, awaited), as the
// BatchInference workflow does, with the same SageMaker requests and the same decision (AUC < threshold).
func BatchInference(cfg Config) (*StateMachine, error) {
	cfg, err := cfg.prepared()
	if err != nil {
		return nil, err
	}
	b := newBuilder(cfg)
	ac := cfg.Activities

	b.add(StateThresholdGiven, whenUnset("Absent or null means the default.", "$.Threshold", StateDefaultThreshold, StateMarginGiven, false))
	b.add(StateDefaultThreshold, &Pass{Result: b.lit(ac.DefaultThreshold), ResultPath: "$.Threshold", Next: StateMarginGiven})
	b.marginDefault(workflows.StepInitialize)

	plan := selector{"InferenceConfig": "$.Payload.InferenceConfig", "MonitorConfig": "$.Payload.MonitorConfig", "RunDate": "$.Payload.RunDate", "DataDate": "$.Payload.DataDate"}
	if guarded(ac) {
		plan["RetrainGuard"] = "$.Payload.RetrainGuard"
	}
	b.add(workflows.StepInitialize, b.lambdaTask(ac.Functions.InitializeInference, initializeEvent(ac.Bucket, contract.InferenceRequest, ac.RetrainCooldown),
		plan, "$.Plan", StateUseDataDate))
	b.add(StateUseDataDate, useDataDate(workflows.StepFindModel))

	findModel := activities.FindModelRequest(ref("$.ModelName"), ac.FindModelPageSize)
	b.add(workflows.StepFindModel, &Task{
		Comment:        "The Approved model packages of the group named ModelName, a page at a time; the highest version wins.",
		Resource:       cfg.serviceARN("aws-sdk:sagemaker:listModelPackages"),
		Parameters:     b.tmpl(findModel),
		ResultPath:     "$.Registry",
		TimeoutSeconds: b.api.timeoutSeconds,
		Retry:          b.api.retry,
		Catch: []Catcher{
			{ErrorEquals: notFoundSageMakerErrors, Next: StateNoneApproved, ResultPath: NullPath},
			catchAll(),
		},
		Next: StateAnyApproved,
	})
	const packages = "$.Registry.ModelPackageSummaryList"
	b.add(StateAnyApproved, &Choice{
		Choices: []ChoiceRule{{Variable: packages + "[0]", IsPresent: ptr(true), Next: StateStartScan}},
		Default: StateNoneApproved,
	})
	b.add(StateNoneApproved, &Pass{
		Comment: "Fails the execution with the error type of the FindModel activity.",
		Parameters: b.tmpl(struct{ Error, Cause string }{activities.ErrModelNotFound,
			ref("States.Format('unable to find model: no Approved model package in group {}; train the model first or approve a version', $.ModelName)")}),
		ResultPath: "$.Error",
		Next:       StateHandleError,
	})
	// The scan keeps at $.Scan the best package so far (Best), the index of the next one to look at on the
	// current page (Index) and the page's length (Count), as the FindModel activity does in Go.
	b.add(StateStartScan, &Pass{
		Parameters: b.tmpl(map[string]any{"Best": ref(packages + "[0]"), "Index": 1, "Count": ref("States.ArrayLength(" + packages + ")")}),
		ResultPath: "$.Scan",
		Next:       StateScan,
	})
	b.add(StateScan, &Choice{
		Choices: []ChoiceRule{{Variable: "$.Scan.Index", NumericGreaterThanEqualsPath: "$.Scan.Count", Next: StateNextPage}},
		Default: StateNextCandidate,
	})
	b.add(StateNextCandidate, &Pass{
		Parameters: b.tmpl(map[string]any{
			"Best": ref("$.Scan.Best"), "Candidate": ref("States.ArrayGetItem(" + packages + ", $.Scan.Index)"),
			"Index": ref("States.MathAdd($.Scan.Index, 1)"), "Count": ref("$.Scan.Count"),
		}),
		ResultPath: "$.Scan",
		Next:       StateHigherVersion,
	})
	b.add(StateHigherVersion, &Choice{
		Comment: "Versions are numbered in registration order; creation times can be equal.",
		Choices: []ChoiceRule{{Variable: "$.Scan.Candidate.ModelPackageVersion", NumericGreaterThanPath: "$.Scan.Best.ModelPackageVersion", Next: StateTakeCandidate}},
		Default: StateScan,
	})
	b.add(StateTakeCandidate, &Pass{
		Parameters: b.sel(selector{"Best": "$.Scan.Candidate", "Index": "$.Scan.Index", "Count": "$.Scan.Count"}),
		ResultPath: "$.Scan",
		Next:       StateScan,
	})
	b.add(StateNextPage, whenUnset("No NextToken: the scan is over.", "$.Registry.NextToken", StateDescribePackage, StateListMore, true))
	more := *findModel
	more.NextToken = aws.String(ref("$.Registry.NextToken"))
	b.add(StateListMore, &Task{
		Resource:       cfg.serviceARN("aws-sdk:sagemaker:listModelPackages"),
		Parameters:     b.tmpl(&more),
		ResultPath:     "$.Registry",
		TimeoutSeconds: b.api.timeoutSeconds,
		Retry:          b.api.retry,
		Catch:          []Catcher{catchAll()},
		Next:           StateContinueScan,
	})
	b.add(StateContinueScan, &Pass{
		Parameters: b.tmpl(map[string]any{"Best": ref("$.Scan.Best"), "Index": 0, "Count": ref("States.ArrayLength(" + packages + ")")}),
		ResultPath: "$.Scan",
		Next:       StateScan,
	})
	b.add(StateDescribePackage, &Task{
		Resource:   cfg.serviceARN("aws-sdk:sagemaker:describeModelPackage"),
		Parameters: b.tmpl(sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String(ref("$.Scan.Best.ModelPackageArn"))}),
		ResultSelector: b.sel(selector{
			"ModelPackageArn": "$.ModelPackageArn", "ModelPackageVersion": "$.ModelPackageVersion",
			"SageMakerModelName": "$.CustomerMetadataProperties." + activities.MetaSageMakerModelName,
		}),
		ResultPath:     "$.Model",
		TimeoutSeconds: b.api.timeoutSeconds,
		Retry:          b.api.retry,
		Catch:          []Catcher{catchAll()},
		Next:           workflows.StepInference,
	})

	transformPlan := inferencePlanAt("$.Plan.InferenceConfig.")
	b.add(workflows.StepInference, &Task{
		Resource:       cfg.serviceARN("sagemaker:createTransformJob.sync"),
		Parameters:     b.tmpl(activities.TransformJobRequest(ac, transformPlan, ref("$.Model.SageMakerModelName"), ref(executionIDPath))),
		ResultSelector: b.sel(selector{"TransformJobName": "$.TransformJobName", "TransformJobArn": "$.TransformJobArn"}),
		ResultPath:     "$.Inference",
		TimeoutSeconds: b.job.timeoutSeconds,
		Retry:          b.job.retry,
		Catch:          []Catcher{catchAll()},
		Next:           workflows.StepMonitor,
	})

	const mi = "$.Plan.MonitorConfig.MonitorInput."
	b.add(workflows.StepMonitor, b.lambdaTask(ac.Functions.MonitorPerformance,
		contract.MonitorEvent{PredictionInput: ref(mi + "PredictionS3Uri"), TargetInput: ref(mi + "TargetS3Uri")},
		selector{"ModelPerformance": "$.Payload.ModelPerformance"}, "$.Monitor", workflows.StepDecide))

	retrain := StateDecisionRetrain
	if guarded(ac) {
		retrain = b.retrainGuard(ac)
	}
	b.add(workflows.StepDecide, &Choice{
		Comment: "workflows.NeedsRetraining: retrain when the AUC is below the threshold; equal keeps the model.",
		Choices: []ChoiceRule{{Variable: "$.Monitor.ModelPerformance", NumericLessThanPath: "$.Threshold", Next: retrain}},
		Default: StateDecisionKeep,
	})
	b.add(StateDecisionKeep, &Pass{Result: b.lit(workflows.DecisionKeep), ResultPath: "$.Decision", Next: StateFinalize})
	b.add(StateDecisionRetrain, &Pass{Result: b.lit(workflows.DecisionRetrain), ResultPath: "$.Decision", Next: workflows.StepRetrain})
	b.add(workflows.StepRetrain, &Task{
		Comment:  "Runs the training state machine for the same ModelName and DataDate and waits for it; the model that scored this run, with its AUC, is the new model's champion.",
		Resource: cfg.serviceARN("states:startExecution.sync:2"),
		Parameters: b.tmpl(struct {
			StateMachineArn string
			Name            string
			Input           map[string]any
		}{
			StateMachineArn: cfg.StateMachineARN(TrainingPipeline),
			Name:            ref("States.Format('{}-retrain', $$.Execution.Name)"),
			Input: map[string]any{
				"ModelName": ref("$.ModelName"), "DataDate": ref("$.DataDate"), contract.StartedByExecutionField: ref(executionIDPath),
				"PromotionMargin": ref("$.PromotionMargin"),
				"Champion": map[string]string{
					"ModelPackageArn": ref("$.Model.ModelPackageArn"), "ModelPackageVersion": ref("$.Model.ModelPackageVersion"),
					"SageMakerModelName": ref("$.Model.SageMakerModelName"), "AUC": ref("$.Monitor.ModelPerformance"),
				},
			},
		}),
		ResultSelector: b.sel(selector{"ExecutionArn": "$.ExecutionArn", "Output": "$.Output"}),
		ResultPath:     "$.Retrain",
		// The child workflow has no timeout of its own; the retraining is bounded as a job step is.
		TimeoutSeconds: b.job.timeoutSeconds,
		Catch:          []Catcher{catchAll()},
		Next:           StateFinalize,
	})
	b.add(StateFinalize, &Pass{
		Comment: "The execution's output: the fields of the BatchInference workflow's result that Step Functions knows.",
		Parameters: b.sel(selector{
			"ModelName": "$.ModelName", "DataDate": "$.DataDate",
			"ModelPackageArn": "$.Model.ModelPackageArn", "SageMakerModelName": "$.Model.SageMakerModelName",
			"TransformJobName": "$.Inference.TransformJobName",
			"PredictionS3Uri":  "$.Plan.MonitorConfig.MonitorInput.PredictionS3Uri",
			"AUC":              "$.Monitor.ModelPerformance", "Threshold": "$.Threshold", "Decision": "$.Decision",
		}),
		End: true,
	})
	b.errorStates()
	return b.finish("mdlc batch inference: Initialize → Find Model → Inference → Monitor Model Performance → Is Re-training Needed? → Re-train Model. Emitted by mdlc parity from the worker's configuration.",
		b.absentAsEmpty(contract.InferenceRequest, StateThresholdGiven, "Threshold", "PromotionMargin"))
}

// guarded reports whether the worker's configuration has a retrain guard the state machine checks: a
// cooldown or a daily cap.
func guarded(ac activities.Config) bool { return ac.RetrainCooldown > 0 || ac.MaxRetrainsPerDay > 0 }

// retrainGuard adds the states of the retrain guard's registry checks, as the CheckRetrainGuard activity
// makes them, and returns the first. Each lists the model's versions registered after a cutoff that
// initialize-inference computed from the execution's start (Step Functions cannot do date arithmetic): any
// version after RunDate minus the cooldown suppresses the retrain, as do MaxRetrainsPerDay versions after
// RunDate minus a day. A model package group that does not exist has no versions. The workflow's third
// rule, one retrain of a model at a time, has no twin here: execution names, the only per-name exclusion
// Step Functions has, stay taken for 90 days after an execution ends.
func (b *builder) retrainGuard(ac activities.Config) string {
	list := func(name, comment string, since Path, max int, next string) {
		b.add(name, &Task{
			Comment:  comment,
			Resource: b.cfg.serviceARN("aws-sdk:sagemaker:listModelPackages"),
			Parameters: b.tmpl(map[string]any{
				"ModelPackageGroupName": ref("$.ModelName"), "CreationTimeAfter": ref(string(since)),
				"SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": max,
			}),
			ResultSelector: b.sel(selector{"Versions": "$.ModelPackageSummaryList"}),
			ResultPath:     "$.Guard",
			TimeoutSeconds: b.api.timeoutSeconds,
			Retry:          b.api.retry,
			Catch: []Catcher{
				{ErrorEquals: notFoundSageMakerErrors, Next: StateDecisionRetrain, ResultPath: NullPath},
				catchAll(),
			},
			Next: next,
		})
	}
	suppressed := func(name, rule string) {
		b.add(name, &Pass{
			Comment: "workflows.DecisionRetrainSuppressed, by the " + rule + " rule.",
			Result:  b.lit(workflows.DecisionRetrainSuppressed), ResultPath: "$.Decision", Next: StateFinalize,
		})
	}
	first, afterCooldown := StateDecisionRetrain, StateDecisionRetrain
	if ac.MaxRetrainsPerDay > 0 {
		first, afterCooldown = StateDayVersions, StateDayVersions
	}
	if ac.RetrainCooldown > 0 {
		first = StateCooldownVersions
		list(StateCooldownVersions, fmt.Sprintf("The model's versions registered within the retrain cooldown (%s) before the execution's start.", ac.RetrainCooldown),
			"$.Plan.RetrainGuard.CooldownSince", 1, StateWithinCooldown)
		b.add(StateWithinCooldown, &Choice{
			Choices: []ChoiceRule{{Variable: "$.Guard.Versions[0]", IsPresent: ptr(true), Next: StateSuppressedCooldown}},
			Default: afterCooldown,
		})
		suppressed(StateSuppressedCooldown, workflows.GuardCooldown)
	}
	if n := ac.MaxRetrainsPerDay; n > 0 {
		list(StateDayVersions, fmt.Sprintf("The model's versions registered in the day before the execution's start, up to the cap (%d).", n),
			"$.Plan.RetrainGuard.DaySince", n, StateCapReached)
		b.add(StateCapReached, &Choice{
			Choices: []ChoiceRule{{Variable: fmt.Sprintf("$.Guard.Versions[%d]", n-1), IsPresent: ptr(true), Next: StateSuppressedCap}},
			Default: StateDecisionRetrain,
		})
		suppressed(StateSuppressedCap, workflows.GuardCap)
	}
	return first
}

// Build returns p's state machine.
func Build(p Pipeline, cfg Config) (*StateMachine, error) {
	switch p {
	case TrainingPipeline:
		return Training(cfg)
	case BatchInferencePipeline:
		return BatchInference(cfg)
	}
	return nil, fmt.Errorf("build state machine: %w", errUnknownPipeline(p))
}

func errUnknownPipeline(p Pipeline) error {
	return errors.New("unknown pipeline " + fmt.Sprintf("%q", string(p)))
}
