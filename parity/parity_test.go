package parity

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/mdlc/mdlc/activities"
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
	modelName        string // parityModel when empty
	pretrain         bool   // train and register a model on octDate first (with the same engine)
	prepare          func(t *testing.T, w *world)
	stopTraining     bool

	wantStatus    string
	wantErrorType string
	wantDecision  string
	wantSteps     []string
	// brokenEmitterDiffers runs a deliberately broken emitter (NumericLessThanEquals) too and expects the
	// comparison to catch it.
	brokenEmitterDiffers bool
}

var (
	trainingSteps = []string{workflows.StepInitialize, workflows.StepTrainModel, workflows.StepCreateModel, workflows.StepRegister}
	keepSteps     = []string{workflows.StepInitialize, workflows.StepFindModel, workflows.StepInference, workflows.StepMonitor, workflows.StepDecide}
	retrainSteps  = append(append([]string(nil), keepSteps...), workflows.StepRetrain)
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
		{name: "training", pipeline: TrainingPipeline, date: octDate, wantStatus: "SUCCEEDED", wantSteps: trainingSteps},
		{name: "above threshold from input keeps", pipeline: BatchInferencePipeline, date: octDate, threshold: th(0.5), pretrain: true,
			wantStatus: "SUCCEEDED", wantDecision: workflows.DecisionKeep, wantSteps: keepSteps},
		{name: "equal to threshold keeps", pipeline: BatchInferencePipeline, date: octDate, thresholdFromAUC: true, pretrain: true,
			wantStatus: "SUCCEEDED", wantDecision: workflows.DecisionKeep, wantSteps: keepSteps, brokenEmitterDiffers: true},
		{name: "below threshold from input retrains", pipeline: BatchInferencePipeline, date: octDate, threshold: th(0.99), pretrain: true,
			wantStatus: "SUCCEEDED", wantDecision: workflows.DecisionRetrain, wantSteps: retrainSteps},
		{name: "default threshold keeps on the training date", pipeline: BatchInferencePipeline, date: octDate, pretrain: true,
			wantStatus: "SUCCEEDED", wantDecision: workflows.DecisionKeep, wantSteps: keepSteps},
		{name: "drifted data retrains with the default threshold", pipeline: BatchInferencePipeline, date: novDate, pretrain: true,
			wantStatus: "SUCCEEDED", wantDecision: workflows.DecisionRetrain, wantSteps: retrainSteps},
		{name: "no registered model", pipeline: BatchInferencePipeline, date: octDate,
			wantStatus: "FAILED", wantErrorType: activities.ErrModelNotFound, wantSteps: keepSteps[:2]},
		{name: "threshold out of range", pipeline: BatchInferencePipeline, date: octDate, threshold: th(1.5),
			wantStatus: "FAILED", wantErrorType: activities.ErrInvalidInput, wantSteps: keepSteps[:1]},
		{name: "invalid model name", pipeline: TrainingPipeline, date: octDate, modelName: "not a name",
			wantStatus: "FAILED", wantErrorType: activities.ErrInvalidInput, wantSteps: trainingSteps[:1]},
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
	for i, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			if sc.thresholdFromAUC {
				if measuredAUC == 0 {
					t.Fatal("no AUC measured by an earlier scenario")
				}
				sc.threshold = th(measuredAUC)
			}
			cfg := parityConfig()
			tw, aw := prepareWorld(t, sc, cfg, "temporal"), prepareWorld(t, sc, cfg, "asl")
			pretrained := len(tw.created())
			if got := len(aw.created()); got != pretrained {
				t.Fatalf("pretraining sent %d create requests with Temporal, %d with Step Functions", pretrained, got)
			}
			tw.stopTraining, aw.stopTraining = sc.stopTraining, sc.stopTraining

			id := fmt.Sprintf("parity-%d", i)
			tOut := temporalRun(t, tw, cfg, id, workflowName(sc.pipeline), workflowInput(sc))
			aOut := aslOutcome(t, aslRun(t, aw, cfg, sc.pipeline, id, workflowInput(sc), nil))

			if !reflect.DeepEqual(tOut, aOut) {
				t.Errorf("engines differ:\ntemporal %+v\nasl      %+v", tOut, aOut)
			}
			want := outcome{Status: sc.wantStatus, ErrorType: sc.wantErrorType, Steps: sc.wantSteps, Decision: sc.wantDecision, AUC: tOut.AUC}
			if sc.wantDecision == workflows.DecisionRetrain {
				want.Retrained = "SUCCEEDED"
			}
			if !reflect.DeepEqual(tOut, want) {
				t.Errorf("temporal outcome %+v\nwant             %+v", tOut, want)
			}
			if sc.name == "above threshold from input keeps" {
				measuredAUC = tOut.AUC
				t.Logf("measured AUC %.6f", measuredAUC)
			}
			tReq, aReq := normalise(tw.created()), normalise(aw.created())
			if !reflect.DeepEqual(tReq, aReq) {
				t.Errorf("SageMaker create requests differ:\ntemporal:\n  %s\nasl:\n  %s", strings.Join(tReq, "\n  "), strings.Join(aReq, "\n  "))
			}
			if len(tReq) == pretrained && sc.wantStatus == "SUCCEEDED" {
				t.Errorf("the run sent no create request")
			}

			if sc.brokenEmitterDiffers {
				bw := prepareWorld(t, sc, cfg, "asl")
				broken := func(def []byte) []byte {
					return bytes.Replace(def, []byte(`"NumericLessThanPath"`), []byte(`"NumericLessThanEqualsPath"`), 1)
				}
				bOut := aslOutcome(t, aslRun(t, bw, cfg, sc.pipeline, id, workflowInput(sc), broken))
				if reflect.DeepEqual(tOut, bOut) {
					t.Errorf("a broken emitter (NumericLessThanEquals) went unnoticed: %+v", bOut)
				} else {
					t.Logf("broken emitter caught: temporal decided %q, broken state machine %q", tOut.Decision, bOut.Decision)
				}
			}
		})
	}
}

func workflowName(p Pipeline) string {
	if p == TrainingPipeline {
		return workflows.TrainingWorkflow
	}
	return workflows.BatchInferenceWorkflow
}

func workflowInput(sc scenario) any {
	model := sc.modelName
	if model == "" {
		model = parityModel
	}
	if sc.pipeline == TrainingPipeline {
		return workflows.TrainingInput{ModelName: model, DataDate: sc.date}
	}
	return workflows.BatchInferenceInput{ModelName: model, DataDate: sc.date, Threshold: sc.threshold}
}

// prepareWorld starts a world for engine ("temporal" or "asl") and pretrains a model there with the same
// engine when the scenario asks for it.
func prepareWorld(t *testing.T, sc scenario, cfg Config, engine string) *world {
	t.Helper()
	w := newWorld(t)
	if sc.pretrain {
		in := workflows.TrainingInput{ModelName: parityModel, DataDate: octDate}
		var o outcome
		if engine == "temporal" {
			o = temporalRun(t, w, cfg, "pretrain", workflows.TrainingWorkflow, in)
		} else {
			o = aslOutcome(t, aslRun(t, w, cfg, TrainingPipeline, "pretrain", in, nil))
		}
		if o.Status != "SUCCEEDED" {
			t.Fatalf("%s pretraining: %+v", engine, o)
		}
	}
	if sc.prepare != nil {
		sc.prepare(t, w)
	}
	return w
}
