package parity

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/demodata"
	"github.com/mdlc/mdlc/lambdas/contract"
	"github.com/mdlc/mdlc/workflows"
)

// scenario is one run of a pipeline, done by both engines in identically prepared worlds.
type scenario struct {
	name     string
	pipeline Pipeline
	date     string
	// threshold of the batch-inference request; nil uses the configured default. thresholdFromAUC uses the
	// AUC an earlier scenario measured.
	threshold        *float64
	thresholdFromAUC bool
	// margin is the request's PromotionMargin; nil uses the configured default (0).
	margin    *float64
	modelName string // parityModel when empty
	// rawInput, when set, is the request's JSON as given to both engines (for values a Go struct cannot
	// write, such as null or an empty approval status); it replaces the fields above.
	rawInput string
	// scheduled makes the request a scheduled one, run as each engine's scheduler starts it: Temporal gets
	// rawInput without its ScheduledTime and the time as the TemporalScheduledStartTime search attribute;
	// Step Functions gets rawInput as is, the ScheduledTime in it as EventBridge Scheduler substitutes it.
	scheduled time.Time
	pretrain  bool // train and register a model on octDate first (with the same engine)
	// pretrainMore are the approval statuses of further versions registered after the pretrained one.
	pretrainMore []string
	// equalTimes freezes localaws's clock to the hour, so that the pretrained versions share a CreationTime.
	equalTimes bool
	// findModelPage is Find Model's page size on both engines (0: the default, 100).
	findModelPage int32
	prepare       func(t *testing.T, w *world)
	stopTraining  bool
	// guard sets the retrain guard of the configuration both engines run with.
	guard func(*activities.Config)

	wantStatus    string
	wantErrorType string
	wantDecision  string
	// wantApproval is how a training run's wait for a decision ends ("" when it does not wait), and
	// wantApprovalStatus the status the run (training) or its retrain (batch inference) registered its
	// version with — Rejected when a champion won — or, after a wait, the version's status in its result (not
	// checked when empty).
	wantApproval, wantApprovalStatus string
	// check, when set, looks at both worlds after the runs.
	check     func(t *testing.T, tw, aw *world)
	wantSteps []string
	// wantVersion is the model package version batch inference must score with (0: not checked).
	wantVersion int
	// wantNothingCreated: neither engine may send a SageMaker create request.
	wantNothingCreated bool
	// mutations are broken emitters the comparison must catch: each makes the state machine decide
	// differently from the workflow in this scenario.
	mutations []mutation
}

// mutation is a deliberately broken emitter: a change to the emitted definitions.
type mutation struct {
	name string
	from string // a regular expression of the emitted JSON
	to   string
}

// apply returns def with the mutation made, and whether it changed anything.
func (m mutation) apply(def []byte) ([]byte, bool) {
	out := regexp.MustCompile(m.from).ReplaceAll(def, []byte(m.to))
	return out, !bytes.Equal(out, def)
}

// The mutations, one for each rule the scenarios pin.
var (
	// retrainAtEqual: Is Re-training Needed? retrains at AUC = threshold.
	retrainAtEqual = mutation{"NumericLessThanEquals", `"NumericLessThanPath"`, `"NumericLessThanEqualsPath"`}
	// ignoresApproval: Find Model lists every package, whatever its approval status.
	ignoresApproval = mutation{"Find Model ignores the approval status", `"ModelApprovalStatus": "Approved",\s*`, ``}
	// oldestFirst: Find Model keeps the lowest version (the oldest) instead of the highest.
	oldestFirst = mutation{"Find Model picks the oldest version", `"NumericGreaterThanPath"`, `"NumericLessThanPath"`}
	// noPaging: Find Model reads the first page of Approved packages only.
	noPaging = mutation{"Find Model reads one page", `"Variable": "\$\.Registry\.NextToken"`, `"Variable": "$.Registry.NoNextToken"`}
	// noRequest: Initialize is not given the execution input, so it checks only the fields it is passed.
	noRequest = mutation{"Initialize does not get the request as given", `,\s*"Request\.\$": "\$\$\.Execution\.Input"`, ``}
	// cooldownFromStart: the cooldown counts only versions registered after the execution started.
	cooldownFromStart = mutation{"the cooldown starts at the execution's start", `\$\.Plan\.RetrainGuard\.CooldownSince`, `$$.Plan.RunDate`}
	// ignoresDerivedDate: the states after Initialize use the request's DataDate (empty in a scheduled
	// request) instead of the date Initialize derived.
	ignoresDerivedDate = mutation{"the date Initialize derived is not used", `"InputPath": "\$\.Plan\.DataDate"`, `"InputPath": "$$.DataDate"`}
	// capPlusOne: the daily cap of 2 lets a third version through.
	capPlusOne = mutation{"the cap is off by one", `\$\.Guard\.Versions\[1\]`, `$$.Guard.Versions[2]`}
	// noWait: a version registered PendingManualApproval does not wait for a decision.
	noWait = mutation{"a Pending version does not wait", `"StringEquals": "PendingManualApproval"`, `"StringEquals": "Pending"`}
	// promoteAbove: Is the New Model Better? promotes only a challenger strictly above the bar, so equal
	// AUCs with margin 0 reject.
	promoteAbove = mutation{"the challenger must be strictly better", `"NumericGreaterThanEqualsPath": "\$\.Monitor\.Evaluation\.Bar"`, `"NumericGreaterThanPath": "$$.Monitor.Evaluation.Bar"`}
	// championIgnored: the retrain is started without a champion, so it registers unevaluated.
	championIgnored = mutation{"the retrain gets no champion", `"Champion": \{[^}]*\},\s*`, ``}
)

var (
	trainingSteps = []string{workflows.StepInitialize, workflows.StepTrainModel, workflows.StepCreateModel, workflows.StepRegister}
	waitingSteps  = append(append([]string(nil), trainingSteps...), workflows.StepWaitApproval)
	// evaluatedSteps: a training run with a champion evaluates its model before registering it.
	evaluatedSteps = []string{workflows.StepInitialize, workflows.StepTrainModel, workflows.StepCreateModel, workflows.StepEvaluate, workflows.StepPromote, workflows.StepRegister}
	keepSteps      = []string{workflows.StepInitialize, workflows.StepFindModel, workflows.StepInference, workflows.StepMonitor, workflows.StepDecide}
	retrainSteps   = append(append([]string(nil), keepSteps...), workflows.StepRetrain)
	// suppressedSteps: a retrain a guard suppressed ends at the decision, as a kept model does.
	suppressedSteps = keepSteps
)

func th(v float64) *float64 { return &v }

// TestEnginesDecideAlike is the behavioural parity suite. For every scenario both engines run in a localaws
// of their own, seeded with the same demo data (real XGBoost, real drift), and must reach the same terminal
// status and error type, the same business steps in the same order, the same retrain decision, and send
// SageMaker identical create requests (after numbering run IDs and run keys).
func TestEnginesDecideAlike(t *testing.T) {
	if testing.Short() {
		t.Skip("runs XGBoost and Node: not in -short")
	}
	var measuredAUC float64
	scenarios := []scenario{
		{name: "training", pipeline: TrainingPipeline, date: octDate, wantStatus: "SUCCEEDED", wantSteps: trainingSteps, wantApprovalStatus: contract.ApprovalApproved},
		{name: "above threshold from input keeps", pipeline: BatchInferencePipeline, date: octDate, threshold: th(0.5), pretrain: true,
			wantStatus: "SUCCEEDED", wantDecision: workflows.DecisionKeep, wantSteps: keepSteps},
		{name: "equal to threshold keeps", pipeline: BatchInferencePipeline, date: octDate, thresholdFromAUC: true, pretrain: true,
			wantStatus: "SUCCEEDED", wantDecision: workflows.DecisionKeep, wantSteps: keepSteps, mutations: []mutation{retrainAtEqual}},
		// The retrain trains on the champion's own data with the same hyperparameters (XGBoost is seeded):
		// the same model, equal AUCs, which margin 0 promotes.
		{name: "below threshold from input retrains; equal AUCs with margin 0 promote", pipeline: BatchInferencePipeline, date: octDate, threshold: th(0.99), pretrain: true,
			wantStatus: "SUCCEEDED", wantDecision: workflows.DecisionRetrain, wantSteps: retrainSteps, wantApprovalStatus: contract.ApprovalApproved,
			mutations: []mutation{promoteAbove}},
		{name: "equal AUCs with a positive margin are rejected", pipeline: BatchInferencePipeline, date: octDate, threshold: th(0.99), margin: th(0.001), pretrain: true,
			wantStatus: "SUCCEEDED", wantDecision: workflows.DecisionRetrain, wantSteps: retrainSteps, wantApprovalStatus: contract.ApprovalRejected},
		{name: "a worse challenger is rejected", pipeline: BatchInferencePipeline, date: shuffledDate, threshold: th(0.99), pretrain: true,
			prepare:    func(t *testing.T, w *world) { shuffledLabelsDate(t, w, octDate, shuffledDate) },
			wantStatus: "SUCCEEDED", wantDecision: workflows.DecisionRetrain, wantSteps: retrainSteps, wantApprovalStatus: contract.ApprovalRejected,
			mutations: []mutation{championIgnored}},
		{name: "training with a champion given by hand", pipeline: TrainingPipeline,
			rawInput: `{"ModelName":"` + parityModel + `","DataDate":"` + octDate + `","PromotionMargin":0.02,` +
				`"Champion":{"ModelPackageArn":"arn:aws:sagemaker:us-east-1:000000000000:model-package/parity-model/1","ModelPackageVersion":1,"SageMakerModelName":"parity-model-1","AUC":0.6}}`,
			wantStatus: "SUCCEEDED", wantSteps: evaluatedSteps, wantApprovalStatus: contract.ApprovalApproved},
		{name: "default threshold keeps on the training date", pipeline: BatchInferencePipeline, date: octDate, pretrain: true,
			wantStatus: "SUCCEEDED", wantDecision: workflows.DecisionKeep, wantSteps: keepSteps},
		{name: "drifted data retrains with the default threshold; the better challenger is promoted", pipeline: BatchInferencePipeline, date: novDate, pretrain: true,
			wantStatus: "SUCCEEDED", wantDecision: workflows.DecisionRetrain, wantSteps: retrainSteps, wantApprovalStatus: contract.ApprovalApproved},
		{name: "retrain within the cooldown is suppressed", pipeline: BatchInferencePipeline, date: novDate, pretrain: true,
			guard: func(c *activities.Config) { c.RetrainCooldown = time.Hour }, prepare: startInALaterSecond,
			wantStatus: "SUCCEEDED", wantDecision: workflows.DecisionRetrainSuppressed, wantSteps: suppressedSteps,
			mutations: []mutation{cooldownFromStart}},
		{name: "retrain below the daily cap runs", pipeline: BatchInferencePipeline, date: novDate, pretrain: true,
			guard:      func(c *activities.Config) { c.MaxRetrainsPerDay = 2 },
			wantStatus: "SUCCEEDED", wantDecision: workflows.DecisionRetrain, wantSteps: retrainSteps, wantApprovalStatus: contract.ApprovalApproved},
		{name: "retrain at the daily cap is suppressed", pipeline: BatchInferencePipeline, date: novDate, pretrain: true,
			pretrainMore: []string{contract.ApprovalApproved},
			guard:        func(c *activities.Config) { c.MaxRetrainsPerDay = 2 },
			wantStatus:   "SUCCEEDED", wantDecision: workflows.DecisionRetrainSuppressed, wantSteps: suppressedSteps, wantVersion: 2,
			mutations: []mutation{capPlusOne}},
		{name: "no registered model", pipeline: BatchInferencePipeline, date: octDate,
			wantStatus: "FAILED", wantErrorType: activities.ErrModelNotFound, wantSteps: keepSteps[:2]},
		{name: "null threshold means the default", pipeline: BatchInferencePipeline, pretrain: true,
			rawInput:   `{"ModelName":"` + parityModel + `","DataDate":"` + octDate + `","Threshold":null}`,
			wantStatus: "SUCCEEDED", wantDecision: workflows.DecisionKeep, wantSteps: keepSteps},
		{name: "empty approval status means the default", pipeline: TrainingPipeline,
			rawInput:   `{"ModelName":"` + parityModel + `","DataDate":"` + octDate + `","ApprovalStatus":""}`,
			wantStatus: "SUCCEEDED", wantSteps: trainingSteps, wantApprovalStatus: contract.ApprovalApproved},
		{name: "a newer pending version is passed over", pipeline: BatchInferencePipeline, date: octDate, threshold: th(0.5),
			pretrain: true, pretrainMore: []string{contract.ApprovalPending},
			wantStatus: "SUCCEEDED", wantDecision: workflows.DecisionKeep, wantSteps: keepSteps, wantVersion: 1,
			mutations: []mutation{ignoresApproval}},
		{name: "the higher of two approved versions wins", pipeline: BatchInferencePipeline, date: octDate, threshold: th(0.5),
			pretrain: true, pretrainMore: []string{contract.ApprovalApproved},
			wantStatus: "SUCCEEDED", wantDecision: workflows.DecisionKeep, wantSteps: keepSteps, wantVersion: 2,
			mutations: []mutation{oldestFirst}},
		{name: "Find Model reads every page", pipeline: BatchInferencePipeline, date: octDate, threshold: th(0.5),
			pretrain: true, pretrainMore: []string{contract.ApprovalApproved, contract.ApprovalApproved}, findModelPage: 1,
			wantStatus: "SUCCEEDED", wantDecision: workflows.DecisionKeep, wantSteps: keepSteps, wantVersion: 3,
			mutations: []mutation{noPaging}},
		{name: "equal creation times: the higher version wins", pipeline: BatchInferencePipeline, date: octDate, threshold: th(0.5),
			pretrain: true, pretrainMore: []string{contract.ApprovalApproved}, equalTimes: true, prepare: requireEqualCreationTimes,
			wantStatus: "SUCCEEDED", wantDecision: workflows.DecisionKeep, wantSteps: keepSteps, wantVersion: 2,
			mutations: []mutation{oldestFirst}},
		{name: "a pending version waits, and stays pending when nobody decides", pipeline: TrainingPipeline,
			rawInput:   `{"ModelName":"` + parityModel + `","DataDate":"` + octDate + `","ApprovalStatus":"PendingManualApproval"}`,
			wantStatus: "SUCCEEDED", wantSteps: waitingSteps, wantApproval: workflows.ApprovalNoDecision,
			wantApprovalStatus: contract.ApprovalPending, check: requirePendingWithToken, mutations: []mutation{noWait}},
		// A scheduled request: EventBridge Scheduler substitutes the scheduled time into the input of the
		// emitted schedule, the Temporal scheduler sets TemporalScheduledStartTime; both engines derive the same
		// date from it (the day before, novDate), and the retrain gets it too.
		{name: "a scheduled run processes the date of its scheduled time", pipeline: BatchInferencePipeline, pretrain: true,
			rawInput:   scheduledInput(t, BatchInferencePipeline, "-1d", scheduledTime),
			scheduled:  scheduledTime,
			wantStatus: "SUCCEEDED", wantDecision: workflows.DecisionRetrain, wantSteps: retrainSteps,
			mutations: []mutation{ignoresDerivedDate}},
		{name: "a scheduled request without a scheduled time is rejected", pipeline: TrainingPipeline,
			rawInput:   `{"ModelName":"` + parityModel + `","DataDateOffset":"-1d"}`,
			wantStatus: "FAILED", wantErrorType: activities.ErrInvalidInput, wantSteps: trainingSteps[:1], wantNothingCreated: true},
		{name: "training job fails", pipeline: TrainingPipeline, date: octDate,
			prepare: func(t *testing.T, w *world) {
				w.put(t, "input-data/"+octDate+"/train/train.csv", "label,not,numbers\nx,y,z\n")
			},
			wantStatus: "FAILED", wantErrorType: activities.ErrJobFailed, wantSteps: trainingSteps[:2]},
		{name: "training job stopped", pipeline: TrainingPipeline, date: octDate, stopTraining: true,
			wantStatus: "FAILED", wantErrorType: activities.ErrJobStopped, wantSteps: trainingSteps[:2]},
		{name: "transform job fails", pipeline: BatchInferencePipeline, date: novDate, pretrain: true,
			prepare: func(t *testing.T, w *world) {
				w.put(t, "input-data/"+novDate+"/holdout_data/holdout_data.csv", "a,b\nc,d\n")
			},
			wantStatus: "FAILED", wantErrorType: activities.ErrJobFailed, wantSteps: keepSteps[:3]},
		{name: "single-class target fails the monitor", pipeline: BatchInferencePipeline, date: novDate, pretrain: true,
			prepare: func(t *testing.T, w *world) {
				w.put(t, "input-data/"+novDate+"/holdout_target/holdout_target.csv", strings.Repeat("0\n", 1000))
			},
			wantStatus: "FAILED", wantErrorType: "UndefinedMetric", wantSteps: keepSteps[:4]},
	}
	scenarios = append(scenarios, ruleScenarios(t)...)
	scenarios = append(scenarios, strictScenarios()...)
	for i, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			if sc.thresholdFromAUC {
				if measuredAUC == 0 {
					t.Fatal("no AUC measured by an earlier scenario")
				}
				sc.threshold = th(measuredAUC)
			}
			cfg := parityConfig()
			if sc.findModelPage != 0 {
				cfg.Activities.FindModelPageSize = sc.findModelPage
			}
			if sc.guard != nil {
				sc.guard(&cfg.Activities)
			}
			tw, aw := prepareWorld(t, sc, cfg, "temporal"), prepareWorld(t, sc, cfg, "asl")
			pretrained := len(tw.created())
			if got := len(aw.created()); got != pretrained {
				t.Fatalf("pretraining sent %d create requests with Temporal, %d with Step Functions", pretrained, got)
			}
			tw.stopTraining, aw.stopTraining = sc.stopTraining, sc.stopTraining

			id := fmt.Sprintf("parity-%d", i)
			tIn := workflowInput(sc)
			if !sc.scheduled.IsZero() {
				tw.scheduledStart = sc.scheduled
				tIn = withoutScheduledTime(t, sc.rawInput)
			}
			tOut := temporalRun(t, tw, cfg, id, workflowName(sc.pipeline), tIn)
			aOut := aslOutcome(t, aslRun(t, aw, cfg, sc.pipeline, id, workflowInput(sc), nil))

			if !reflect.DeepEqual(tOut, aOut) {
				t.Errorf("engines differ:\ntemporal %+v\nasl      %+v", tOut, aOut)
			}
			want := outcome{Status: sc.wantStatus, ErrorType: sc.wantErrorType, Steps: sc.wantSteps, Decision: sc.wantDecision, AUC: tOut.AUC, Version: tOut.Version}
			if sc.wantVersion != 0 {
				want.Version = sc.wantVersion
			}
			if sc.wantDecision == workflows.DecisionRetrain {
				want.Retrained = "SUCCEEDED"
			}
			want.Approval, want.ApprovalStatus = sc.wantApproval, tOut.ApprovalStatus
			if sc.wantApprovalStatus != "" {
				want.ApprovalStatus = sc.wantApprovalStatus
			}
			if !reflect.DeepEqual(tOut, want) {
				t.Errorf("temporal outcome %+v\nwant             %+v", tOut, want)
			}
			if sc.name == "above threshold from input keeps" {
				measuredAUC = tOut.AUC
				t.Logf("measured AUC %.6f", measuredAUC)
			}
			if sc.check != nil {
				sc.check(t, tw, aw)
			}
			tReq, aReq := normalise(tw.created()), normalise(aw.created())
			if !reflect.DeepEqual(tReq, aReq) {
				t.Errorf("SageMaker create requests differ:\ntemporal:\n  %s\nasl:\n  %s", strings.Join(tReq, "\n  "), strings.Join(aReq, "\n  "))
			}
			if len(tReq) == pretrained && sc.wantStatus == "SUCCEEDED" {
				t.Errorf("the run sent no create request")
			}

			if sc.wantNothingCreated && (len(tReq) != 0 || len(aReq) != 0) {
				t.Errorf("a rejected request created something:\ntemporal:\n  %s\nasl:\n  %s", strings.Join(tReq, "\n  "), strings.Join(aReq, "\n  "))
			}

			for _, m := range sc.mutations {
				bw := prepareWorld(t, sc, cfg, "asl")
				bOut := aslOutcome(t, aslRun(t, bw, cfg, sc.pipeline, id, workflowInput(sc), m.apply))
				if reflect.DeepEqual(tOut, bOut) {
					t.Errorf("a broken emitter (%s) went unnoticed: %+v", m.name, bOut)
				} else {
					t.Logf("broken emitter (%s) caught: temporal %+v, broken state machine %+v", m.name, tOut, bOut)
				}
			}
		})
	}
}

// startInALaterSecond waits until the wall clock is in a later second than every pretrained version's
// CreationTime, so that the run starts after them even as $$.Execution.StartTime is read to the second: a
// cooldown counted from the execution's start (cooldownFromStart) then misses them, as it must to be caught.
func startInALaterSecond(t *testing.T, w *world) {
	t.Helper()
	list, err := w.sm.ListModelPackages(context.Background(), &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String(parityModel)})
	if err != nil {
		t.Fatalf("list model packages: %v", err)
	}
	var last time.Time
	for _, p := range list.ModelPackageSummaryList {
		if c := aws.ToTime(p.CreationTime); c.After(last) {
			last = c
		}
	}
	for !time.Now().Truncate(time.Second).After(last) {
		time.Sleep(50 * time.Millisecond)
	}
}

// requireEqualCreationTimes checks that the pretrained versions share a CreationTime, as the equal-times
// scenario needs.
func requireEqualCreationTimes(t *testing.T, w *world) {
	t.Helper()
	list, err := w.sm.ListModelPackages(context.Background(), &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String(parityModel)})
	if err != nil {
		t.Fatalf("list model packages: %v", err)
	}
	times := map[time.Time]bool{}
	for _, p := range list.ModelPackageSummaryList {
		times[aws.ToTime(p.CreationTime)] = true
	}
	if len(list.ModelPackageSummaryList) < 2 || len(times) != 1 {
		t.Fatalf("want at least two packages with one CreationTime, got %d packages with %d times", len(list.ModelPackageSummaryList), len(times))
	}
}

// requirePendingWithToken checks, after a wait for a decision that timed out, that the version is still
// PendingManualApproval in both worlds, and that the state machine kept its task token where `starter
// approve/reject` look for it (activities.ApprovalTokenKey of the package ARN).
func requirePendingWithToken(t *testing.T, tw, aw *world) {
	t.Helper()
	for name, w := range map[string]*world{"temporal": tw, "asl": aw} {
		list, err := w.sm.ListModelPackages(context.Background(), &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String(parityModel)})
		if err != nil || len(list.ModelPackageSummaryList) != 1 {
			t.Fatalf("%s: list model packages: %v %+v", name, err, list)
		}
		p := list.ModelPackageSummaryList[0]
		if string(p.ModelApprovalStatus) != contract.ApprovalPending {
			t.Errorf("%s: the version is %s after the timeout, want it left %s", name, p.ModelApprovalStatus, contract.ApprovalPending)
		}
		if name != "asl" {
			continue
		}
		obj, err := w.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(parityBucket), Key: aws.String(activities.ApprovalTokenKey(aws.ToString(p.ModelPackageArn)))})
		if err != nil {
			t.Fatalf("the state machine's task token is not at %s: %v", activities.ApprovalTokenKey(aws.ToString(p.ModelPackageArn)), err)
		}
		body, err := io.ReadAll(obj.Body)
		obj.Body.Close()
		if err != nil {
			t.Fatalf("read the task token: %v", err)
		}
		if !strings.HasSuffix(string(body), "/task-token") {
			t.Errorf("token object holds %q, want the execution's task token", body)
		}
	}
}

// withoutScheduledTime is the request raw without its ScheduledTime: what a Temporal schedule's action input
// holds, which is static.
func withoutScheduledTime(t *testing.T, raw string) json.RawMessage {
	t.Helper()
	var req map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &req); err != nil {
		t.Fatal(err)
	}
	if _, ok := req["ScheduledTime"]; !ok {
		t.Fatalf("scheduled request %s has no ScheduledTime", raw)
	}
	delete(req, "ScheduledTime")
	out, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// scheduledTime is the time the scheduled scenarios are scheduled for: 06:00 UTC on the day after novDate.
var scheduledTime = time.Date(2019, 11, 2, 6, 0, 0, 0, time.UTC)

// ruleScenarios are one scenario per rule of contract.RequestRules and pipeline it applies to: a request that
// breaks the rule (and no other) must fail InvalidInput at Initialize on both engines and create nothing.
func ruleScenarios(t *testing.T) []scenario {
	var out []scenario
	for _, p := range []struct {
		pipeline Pipeline
		kind     contract.RequestKind
		steps    []string
	}{{TrainingPipeline, contract.TrainingRequest, trainingSteps}, {BatchInferencePipeline, contract.InferenceRequest, keepSteps}} {
		for _, r := range contract.RequestRules() {
			if !r.AppliesTo(p.kind) {
				continue
			}
			in := contract.WorkflowInput{ModelName: parityModel, DataDate: octDate}
			r.Break(&in)
			raw, err := json.Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, scenario{name: string(p.kind) + " rejects: " + r.Name, pipeline: p.pipeline, rawInput: string(raw),
				wantStatus: "FAILED", wantErrorType: activities.ErrInvalidInput, wantSteps: p.steps[:1], wantNothingCreated: true})
		}
	}
	return out
}

// strictScenarios are requests written wrongly, per pipeline: a misspelt field, a field in the wrong case,
// the other pipeline's field, a value of the wrong type. The workflows decode their input strictly, the state
// machines pass theirs to Initialize as Request: both must fail InvalidInput at Initialize and create nothing.
// The first is also run on an emitter that leaves Request out, which must be caught.
func strictScenarios() []scenario {
	var out []scenario
	for _, p := range []struct {
		pipeline    Pipeline
		kind, other contract.RequestKind
		steps       []string
	}{
		{TrainingPipeline, contract.TrainingRequest, contract.InferenceRequest, trainingSteps},
		{BatchInferencePipeline, contract.InferenceRequest, contract.TrainingRequest, keepSteps},
	} {
		fields := contract.RequestFields(p.kind)
		others := slices.DeleteFunc(contract.RequestFields(p.other), func(f string) bool { return slices.Contains(fields, f) })
		last, foreign := fields[len(fields)-1], others[len(others)-1]
		valid := `"ModelName":"` + parityModel + `","DataDate":"` + octDate + `"`
		for i, tc := range []struct{ name, input string }{
			{"misspelt " + last, `{` + valid + `,"` + last[:len(last)-2] + last[len(last)-1:] + `":null}`},
			{"modelName in lower case", `{"modelName":"` + parityModel + `","DataDate":"` + octDate + `"}`},
			{"the other pipeline's " + foreign, `{` + valid + `,"` + foreign + `":null}`},
			{"a number for ModelName", `{"ModelName":5,"DataDate":"` + octDate + `"}`},
		} {
			sc := scenario{name: string(p.kind) + " rejects a request with " + tc.name, pipeline: p.pipeline, rawInput: tc.input,
				wantStatus: "FAILED", wantErrorType: activities.ErrInvalidInput, wantSteps: p.steps[:1], wantNothingCreated: true}
			if i == 0 {
				sc.mutations = []mutation{noRequest}
			}
			out = append(out, sc)
		}
	}
	return out
}

func workflowName(p Pipeline) string {
	if p == TrainingPipeline {
		return workflows.TrainingWorkflow
	}
	return workflows.BatchInferenceWorkflow
}

func workflowInput(sc scenario) any {
	if sc.rawInput != "" {
		return json.RawMessage(sc.rawInput)
	}
	model := sc.modelName
	if model == "" {
		model = parityModel
	}
	if sc.pipeline == TrainingPipeline {
		return workflows.TrainingInput{ModelName: model, DataDate: sc.date, PromotionMargin: sc.margin}
	}
	return workflows.BatchInferenceInput{ModelName: model, DataDate: sc.date, Threshold: sc.threshold, PromotionMargin: sc.margin}
}

// shuffledDate is a data date the worse-challenger scenario makes from octDate: its holdout data is
// octDate's, its training labels shuffled (see shuffledLabelsDate).
const shuffledDate = "2019-10-02"

// shuffledLabelsDate writes data date to into w from date from: the same holdout data and target, the same
// training and validation features with their labels shuffled (demodata.ShuffleLabels). A model retrained on
// it is worse on the holdout data than the champion trained on from.
func shuffledLabelsDate(t *testing.T, w *world, from, to string) {
	t.Helper()
	for _, split := range demodata.Splits {
		obj, err := w.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(parityBucket), Key: aws.String(demodata.Key(from, split))})
		if err != nil {
			t.Fatalf("get %s: %v", demodata.Key(from, split), err)
		}
		body, err := io.ReadAll(obj.Body)
		obj.Body.Close()
		if err != nil {
			t.Fatalf("read %s: %v", demodata.Key(from, split), err)
		}
		if split == demodata.Train || split == demodata.Validation {
			body = demodata.ShuffleLabels(body, 1)
		}
		w.put(t, demodata.Key(to, split), string(body))
	}
}

// prepareWorld starts a world for engine ("temporal" or "asl") and pretrains a model there with the same
// engine when the scenario asks for it.
func prepareWorld(t *testing.T, sc scenario, cfg Config, engine string) *world {
	t.Helper()
	var clock func() time.Time
	if sc.equalTimes {
		clock = func() time.Time { return time.Now().Truncate(time.Hour) }
	}
	w := newWorld(t, clock)
	if sc.pretrain {
		for i, approval := range append([]string{""}, sc.pretrainMore...) {
			in := workflows.TrainingInput{ModelName: parityModel, DataDate: octDate, ApprovalStatus: approval}
			id := fmt.Sprintf("pretrain-%d", i+1)
			var o outcome
			if engine == "temporal" {
				o = temporalRun(t, w, cfg, id, workflows.TrainingWorkflow, in)
			} else {
				o = aslOutcome(t, aslRun(t, w, cfg, TrainingPipeline, id, in, nil))
			}
			if o.Status != "SUCCEEDED" {
				t.Fatalf("%s pretraining %s: %+v", engine, id, o)
			}
		}
	}
	if sc.prepare != nil {
		sc.prepare(t, w)
	}
	return w
}
