package lambdas

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"

	"github.com/mdlc/mdlc/lambdas/contract"
)

const testBucket = "mdlc-data"

var (
	trainingData = map[string]string{
		"input-data/2019-10-01/train/train.csv":           "1,0.5\n",
		"input-data/2019-10-01/validation/validation.csv": "0,0.1\n",
	}
	inferenceData = map[string]string{
		"input-data/2019-11-01/holdout_data/holdout_data.csv":     "0.5\n",
		"input-data/2019-11-01/holdout_target/holdout_target.csv": "1\n",
	}
	fixedClock = func() time.Time { return time.Date(2019, 12, 3, 4, 5, 6, 0, time.UTC) }
)

// suffix restates the documented job-name rule independently of names.go.
func suffix(kind, key, model, date string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + key + "\x00" + model + "\x00" + date))
	return hex.EncodeToString(sum[:4])
}

func trainingEvent() contract.InitializeEvent {
	return contract.InitializeEvent{
		WorkflowInput:  contract.WorkflowInput{ModelName: "ReInventTestModel", DataDate: "2019-10-01"},
		S3RootBucket:   testBucket,
		IdempotencyKey: "training-ReInventTestModel-2019-10-01",
		RunTime:        "2019-10-02T03:04:05.678+02:00",
	}
}

func inferenceEvent() contract.InitializeEvent {
	return contract.InitializeEvent{
		WorkflowInput:  contract.WorkflowInput{ModelName: "ReInventTestModel", DataDate: "2019-11-01"},
		S3RootBucket:   testBucket,
		IdempotencyKey: "inference-1",
		RunTime:        "2019-11-02T00:00:00Z",
	}
}

func TestInitializeTraining(t *testing.T) {
	s3 := newFakeS3(testBucket, trainingData)
	h := New(s3, WithClock(fixedClock))
	got, err := h.InitializeTraining(context.Background(), trainingEvent())
	if err != nil {
		t.Fatalf("InitializeTraining: %v", err)
	}
	run := "20191002T010405-" + suffix("training", "training-ReInventTestModel-2019-10-01", "ReInventTestModel", "2019-10-01")
	want := contract.InitializeTrainingOutput{
		WorkflowRequest: contract.WorkflowInput{ModelName: "ReInventTestModel", DataDate: "2019-10-01"},
		S3RootBucket:    testBucket,
		DataDate:        "2019-10-01",
		RunDate:         "2019-10-02T01:04:05Z",
		TrainingConfig: contract.TrainingConfig{
			TrainingJobName: "ReInventTestModel-" + run,
			TrainingInput:   contract.S3Location{S3Key: "input-data/2019-10-01/train", S3Uri: "s3://mdlc-data/input-data/2019-10-01/train"},
			ValidationInput: contract.S3Location{S3Key: "input-data/2019-10-01/validation", S3Uri: "s3://mdlc-data/input-data/2019-10-01/validation"},
			TrainingOutput:  contract.S3Location{S3Key: "model/2019-10-01/" + run, S3Uri: "s3://mdlc-data/model/2019-10-01/" + run},
		},
		EvaluationConfig: contract.EvaluationConfig{
			InferenceConfig: contract.InferenceConfig{
				InferenceJobName: "ReInventTestModel-" + run,
				InferenceInput:   contract.S3Location{S3Key: "input-data/2019-10-01/holdout_data", S3Uri: "s3://mdlc-data/input-data/2019-10-01/holdout_data"},
				InferenceOutput:  contract.S3Location{S3Key: "output-data/2019-10-01/" + run, S3Uri: "s3://mdlc-data/output-data/2019-10-01/" + run},
			},
			MonitorConfig: contract.MonitorConfig{MonitorInput: contract.MonitorInput{
				TargetS3Uri:     "s3://mdlc-data/input-data/2019-10-01/holdout_target/holdout_target.csv",
				PredictionS3Uri: "s3://mdlc-data/output-data/2019-10-01/" + run + "/holdout_data.csv.out",
			}},
			EvaluationOutput: contract.S3Location{S3Key: "evaluation/2019-10-01/" + run + "/evaluation.json",
				S3Uri: "s3://mdlc-data/evaluation/2019-10-01/" + run + "/evaluation.json"},
		},
	}
	assert.Equal(t, want, got, "output")
	key := "workflow-requests/ReInventTestModel-" + run + "/workflow_request.json"
	if stored := string(s3.buckets[testBucket][key]); stored != `{"ModelName":"ReInventTestModel","DataDate":"2019-10-01"}`+"\n" {
		t.Errorf("workflow request at %s = %q", key, stored)
	}
	if len(s3.puts) != 1 {
		t.Errorf("puts %v, want one", s3.puts)
	}
}

func TestInitializeInference(t *testing.T) {
	s3 := newFakeS3(testBucket, inferenceData)
	h := New(s3, WithClock(fixedClock))
	got, err := h.InitializeInference(context.Background(), inferenceEvent())
	if err != nil {
		t.Fatalf("InitializeInference: %v", err)
	}
	run := "20191102T000000-" + suffix("inference", "inference-1", "ReInventTestModel", "2019-11-01")
	out := "s3://mdlc-data/output-data/2019-11-01/" + run
	want := contract.InitializeInferenceOutput{
		WorkflowRequest: contract.WorkflowInput{ModelName: "ReInventTestModel", DataDate: "2019-11-01"},
		S3RootBucket:    testBucket,
		DataDate:        "2019-11-01",
		RunDate:         "2019-11-02T00:00:00Z",
		InferenceConfig: contract.InferenceConfig{
			InferenceJobName: "ReInventTestModel-" + run,
			InferenceInput:   contract.S3Location{S3Key: "input-data/2019-11-01/holdout_data", S3Uri: "s3://mdlc-data/input-data/2019-11-01/holdout_data"},
			InferenceOutput:  contract.S3Location{S3Key: "output-data/2019-11-01/" + run, S3Uri: out},
		},
		MonitorConfig: contract.MonitorConfig{MonitorInput: contract.MonitorInput{
			TargetS3Uri:     "s3://mdlc-data/input-data/2019-11-01/holdout_target/holdout_target.csv",
			PredictionS3Uri: out + "/holdout_data.csv.out",
		}},
		RetrainGuard: contract.RetrainGuard{CooldownSince: "2019-11-02T00:00:00Z", DaySince: "2019-11-01T00:00:00Z"},
	}
	assert.Equal(t, want, got, "output")
	assert.Equal(t, []string{"s3://mdlc-data/workflow-requests/ReInventTestModel-" + run + "/workflow_request.json"}, s3.puts, "puts")
}

// TestInitializeInferenceRetrainGuard: the guard's cutoffs are the run's time minus the cooldown and minus a
// day; a negative or oversized cooldown is an invalid event.
func TestInitializeInferenceRetrainGuard(t *testing.T) {
	h := New(newFakeS3(testBucket, inferenceData), WithClock(fixedClock))
	ev := inferenceEvent()
	ev.RetrainCooldownSeconds = 90 * 60
	got, err := h.InitializeInference(context.Background(), ev)
	if err != nil {
		t.Fatalf("InitializeInference: %v", err)
	}
	assert.Equal(t, contract.RetrainGuard{CooldownSince: "2019-11-01T22:30:00Z", DaySince: "2019-11-01T00:00:00Z"}, got.RetrainGuard)
	for _, bad := range []int64{-1, maxCooldownSeconds + 1} {
		ev.RetrainCooldownSeconds = bad
		_, err := h.InitializeInference(context.Background(), ev)
		var fe *Error
		if !errors.As(err, &fe) || fe.Type != contract.ErrorInvalidInput || !strings.Contains(fe.Message, "RetrainCooldownSeconds") {
			t.Errorf("cooldown %d: got %v, want InvalidInput naming RetrainCooldownSeconds", bad, err)
		}
	}
}

func TestJobNames(t *testing.T) {
	all := map[string]string{}
	for k, v := range trainingData {
		all[k] = v
	}
	for k, v := range inferenceData {
		all[strings.Replace(k, "2019-11-01", "2019-10-01", 1)] = v
	}
	ctx := context.Background()
	// Both clocks read the same second: only the key (or randomness) tells runs apart.
	h := New(newFakeS3(testBucket, all), WithClock(fixedClock))
	event := func(key string) contract.InitializeEvent {
		e := trainingEvent()
		e.IdempotencyKey, e.RunTime = key, ""
		return e
	}
	train := func(e contract.InitializeEvent) string {
		t.Helper()
		out, err := h.InitializeTraining(ctx, e)
		if err != nil {
			t.Fatalf("InitializeTraining: %v", err)
		}
		return out.TrainingConfig.TrainingJobName
	}
	infer := func(e contract.InitializeEvent) string {
		t.Helper()
		out, err := h.InitializeInference(ctx, e)
		if err != nil {
			t.Fatalf("InitializeInference: %v", err)
		}
		return out.InferenceConfig.InferenceJobName
	}

	if a, b := train(event("wf-1")), train(event("wf-1")); a != b {
		t.Errorf("retry of one run: %q then %q, want equal", a, b)
	}
	if a, b := train(event("wf-1")), train(event("wf-2")); a == b {
		t.Errorf("two runs in the same second both named %q", a)
	}
	if a, b := train(event("")), train(event("")); a == b {
		t.Errorf("two runs without a key both named %q", a)
	}
	if a, b := train(event("wf-1")), infer(event("wf-1")); a == b {
		t.Errorf("training and inference of one key both named %q", a)
	}

	// Long model names are cut so the name fits 63 characters, and the cut never leaves "--".
	for _, model := range []string{strings.Repeat("a", 63), strings.Repeat("b", 37) + "-" + strings.Repeat("c", 25), "x"} {
		e := event("k")
		e.WorkflowInput.ModelName = model
		name := train(e)
		if contract.ValidateRequest(contract.TrainingRequest, contract.WorkflowInput{ModelName: name, DataDate: "2019-10-01"}) != nil || strings.Contains(name, "--") {
			t.Errorf("model %q: job name %q (%d characters) is not a valid SageMaker name", model, name, len(name))
		}
	}
}

func TestRandomSuffixUsesEntropy(t *testing.T) {
	e := trainingEvent()
	e.IdempotencyKey = ""
	h := New(newFakeS3(testBucket, trainingData), WithEntropy(bytes.NewReader([]byte{0xde, 0xad, 0xbe, 0xef})))
	out, err := h.InitializeTraining(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if want := "ReInventTestModel-20191002T010405-deadbeef"; out.TrainingConfig.TrainingJobName != want {
		t.Errorf("job name %q, want %q", out.TrainingConfig.TrainingJobName, want)
	}
	h = New(newFakeS3(testBucket, trainingData), WithEntropy(bytes.NewReader(nil)))
	if _, err := h.InitializeTraining(context.Background(), e); errorType(err) != contract.ErrorInternal {
		t.Errorf("exhausted entropy: error %v, want %s", err, contract.ErrorInternal)
	}
}

func errorType(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Type
	}
	return ""
}

func TestInitializeErrors(t *testing.T) {
	type mutate func(*contract.InitializeEvent, *fakeS3)
	throttled := &smithy.GenericAPIError{Code: "SlowDown", Message: "Please reduce your request rate."}
	tests := []struct {
		name     string
		mutate   mutate
		wantType string
		wantMsg  string
	}{
		{"empty model name", func(e *contract.InitializeEvent, _ *fakeS3) { e.WorkflowInput.ModelName = "" }, contract.ErrorInvalidInput, "must be 1-63 characters long, not 0"},
		{"model name with underscore", func(e *contract.InitializeEvent, _ *fakeS3) { e.WorkflowInput.ModelName = "my_model" }, contract.ErrorInvalidInput, `"my_model"`},
		{"model name starting with hyphen", func(e *contract.InitializeEvent, _ *fakeS3) { e.WorkflowInput.ModelName = "-m" }, contract.ErrorInvalidInput, "model name"},
		{"model name of 64 characters", func(e *contract.InitializeEvent, _ *fakeS3) { e.WorkflowInput.ModelName = strings.Repeat("m", 64) }, contract.ErrorInvalidInput, "model name"},
		{"hyphenated model name of 65 characters", func(e *contract.InitializeEvent, _ *fakeS3) {
			e.WorkflowInput.ModelName = strings.Repeat("a-", 32) + "a"
		}, contract.ErrorInvalidInput, "must be 1-63 characters long, not 65"},
		{"empty date", func(e *contract.InitializeEvent, _ *fakeS3) { e.WorkflowInput.DataDate = "" }, contract.ErrorInvalidInput, "data date"},
		{"february 30", func(e *contract.InitializeEvent, _ *fakeS3) { e.WorkflowInput.DataDate = "2019-02-30" }, contract.ErrorInvalidInput, `"2019-02-30"`},
		{"date without padding", func(e *contract.InitializeEvent, _ *fakeS3) { e.WorkflowInput.DataDate = "2019-1-5" }, contract.ErrorInvalidInput, "data date"},
		{"date with time", func(e *contract.InitializeEvent, _ *fakeS3) { e.WorkflowInput.DataDate = "2019-10-01T00:00:00Z" }, contract.ErrorInvalidInput, "data date"},
		{"path in date", func(e *contract.InitializeEvent, _ *fakeS3) { e.WorkflowInput.DataDate = "../2019-10-01" }, contract.ErrorInvalidInput, "data date"},
		{"empty bucket", func(e *contract.InitializeEvent, _ *fakeS3) { e.S3RootBucket = "" }, contract.ErrorInvalidInput, "S3RootBucket"},
		{"upper-case bucket", func(e *contract.InitializeEvent, _ *fakeS3) { e.S3RootBucket = "My-Bucket" }, contract.ErrorInvalidInput, "lower-case"},
		{"bucket with slash", func(e *contract.InitializeEvent, _ *fakeS3) { e.S3RootBucket = "bucket/prefix" }, contract.ErrorInvalidInput, "S3RootBucket"},
		{"bucket too short", func(e *contract.InitializeEvent, _ *fakeS3) { e.S3RootBucket = "ab" }, contract.ErrorInvalidInput, "3 to 63"},
		{"bucket ending in hyphen", func(e *contract.InitializeEvent, _ *fakeS3) { e.S3RootBucket = "bucket-" }, contract.ErrorInvalidInput, "begin and end"},
		{"bucket with adjacent dots", func(e *contract.InitializeEvent, _ *fakeS3) { e.S3RootBucket = "a..b" }, contract.ErrorInvalidInput, "adjacent dots"},
		{"bucket as ip address", func(e *contract.InitializeEvent, _ *fakeS3) { e.S3RootBucket = "192.168.5.4" }, contract.ErrorInvalidInput, "IP address"},
		{"bucket with reserved prefix", func(e *contract.InitializeEvent, _ *fakeS3) { e.S3RootBucket = "xn--bucket" }, contract.ErrorInvalidInput, "xn--"},
		{"bad run time", func(e *contract.InitializeEvent, _ *fakeS3) { e.RunTime = "yesterday" }, contract.ErrorInvalidInput, "RunTime"},
		{"missing bucket", func(e *contract.InitializeEvent, _ *fakeS3) { e.S3RootBucket = "other-bucket" }, contract.ErrorDataNotFound, "s3://other-bucket/input-data/"},
		{"throttled", func(_ *contract.InitializeEvent, s *fakeS3) { s.fail = throttled }, contract.ErrorS3, "SlowDown"},
	}
	for _, kind := range []string{"training", "inference"} {
		for _, tt := range tests {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				var s3 *fakeS3
				var e contract.InitializeEvent
				if kind == "training" {
					s3, e = newFakeS3(testBucket, trainingData), trainingEvent()
				} else {
					s3, e = newFakeS3(testBucket, inferenceData), inferenceEvent()
				}
				tt.mutate(&e, s3)
				h := New(s3, WithClock(fixedClock))
				var err error
				if kind == "training" {
					_, err = h.InitializeTraining(context.Background(), e)
				} else {
					_, err = h.InitializeInference(context.Background(), e)
				}
				checkError(t, err, tt.wantType, tt.wantMsg)
				if len(s3.puts) != 0 {
					t.Errorf("failed run wrote %v", s3.puts)
				}
			})
		}
	}
}

func TestInitializeMissingData(t *testing.T) {
	tests := []struct {
		name    string
		kind    string
		drop    string
		wantMsg string
	}{
		{"no training data", "training", "input-data/2019-10-01/train/train.csv", "no objects under s3://mdlc-data/input-data/2019-10-01/train"},
		{"no validation data", "training", "input-data/2019-10-01/validation/validation.csv", "no objects under s3://mdlc-data/input-data/2019-10-01/validation"},
		{"no holdout data", "inference", "input-data/2019-11-01/holdout_data/holdout_data.csv", "no objects under s3://mdlc-data/input-data/2019-11-01/holdout_data"},
		{"no holdout target", "inference", "input-data/2019-11-01/holdout_target/holdout_target.csv", "s3://mdlc-data/input-data/2019-11-01/holdout_target/holdout_target.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			var s3 *fakeS3
			if tt.kind == "training" {
				s3 = newFakeS3(testBucket, trainingData)
				delete(s3.buckets[testBucket], tt.drop)
				_, err = New(s3).InitializeTraining(context.Background(), trainingEvent())
			} else {
				s3 = newFakeS3(testBucket, inferenceData)
				delete(s3.buckets[testBucket], tt.drop)
				_, err = New(s3).InitializeInference(context.Background(), inferenceEvent())
			}
			checkError(t, err, contract.ErrorDataNotFound, tt.wantMsg)
			if len(s3.puts) != 0 {
				t.Errorf("failed run wrote %v", s3.puts)
			}
		})
	}
}

func checkError(t *testing.T, err error, wantType, wantMsg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want a *lambdas.Error of type %s", err, err, wantType)
	}
	if e.Type != wantType || !strings.Contains(e.Message, wantMsg) {
		t.Errorf("error %s %q, want type %s and a message containing %q", e.Type, e.Message, wantType, wantMsg)
	}
}

// TestOversizedValuesAreNotEchoed: an errorMessage quotes at most a short prefix of a bad value, so a 5 MB
// name does not come back as a 5 MB errorMessage.
func TestOversizedValuesAreNotEchoed(t *testing.T) {
	huge := strings.Repeat("n", 5<<20)
	for name, call := range map[string]func(*Handlers) error{
		"model name": func(h *Handlers) error {
			e := trainingEvent()
			e.WorkflowInput.ModelName = huge
			_, err := h.InitializeTraining(context.Background(), e)
			return err
		},
		"data date": func(h *Handlers) error {
			e := inferenceEvent()
			e.WorkflowInput.DataDate = huge
			_, err := h.InitializeInference(context.Background(), e)
			return err
		},
		"bucket": func(h *Handlers) error {
			e := trainingEvent()
			e.S3RootBucket = huge
			_, err := h.InitializeTraining(context.Background(), e)
			return err
		},
		"run time": func(h *Handlers) error {
			e := trainingEvent()
			e.RunTime = huge
			_, err := h.InitializeTraining(context.Background(), e)
			return err
		},
		"prediction uri key": func(h *Handlers) error {
			_, err := h.MonitorPerformance(context.Background(), contract.MonitorEvent{PredictionInput: "s3://" + testBucket + "/" + huge, TargetInput: targetURI})
			return err
		},
		"prediction uri scheme": func(h *Handlers) error {
			_, err := h.MonitorPerformance(context.Background(), contract.MonitorEvent{PredictionInput: huge, TargetInput: targetURI})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := call(New(newFakeS3(testBucket, trainingData), WithClock(fixedClock)))
			checkError(t, err, contract.ErrorInvalidInput, "bytes)")
			if n := len(err.Error()); n > 400 {
				t.Errorf("errorMessage of %d bytes: %.300s", n, err.Error())
			}
		})
	}
}

// TestInitializeChecksTheRequestAsGiven: the state machines pass their execution input as Request, and the
// function rejects it as the workflows reject theirs — a misspelt, wrong-case, repeated or other pipeline's
// field, a value of the wrong type, or no object at all — and accepts every valid way to write it.
func TestInitializeChecksTheRequestAsGiven(t *testing.T) {
	for _, tt := range []struct {
		kind    contract.RequestKind
		request string
		wantMsg string // "" when the request is valid
	}{
		{contract.TrainingRequest, `{"ModelName":"m","DataDate":"2019-10-01"}`, ""},
		{contract.TrainingRequest, `{"ModelName":"m","DataDate":"2019-10-01","ApprovalStatus":"PendingManualApproval"}`, ""},
		{contract.InferenceRequest, `{"ModelName":"m","DataDate":"2019-11-01","Threshold":null}`, ""},
		{contract.InferenceRequest, `{"ModelName":"m","DataDate":"2019-11-01","Threshold":0.9}`, ""},
		{contract.TrainingRequest, `{"ModelName":"m","DataDate":"2019-10-01","AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID":"arn:x"}`, ""},
		{contract.InferenceRequest, `{"ModelName":"m","DataDate":"2019-11-01","Treshold":0.99}`, `unknown field "Treshold"`},
		{contract.TrainingRequest, `{"modelName":"m","DataDate":"2019-10-01"}`, `field "modelName" must be written "ModelName"`},
		{contract.TrainingRequest, `{"ModelName":"m","ModelName":"n","DataDate":"2019-10-01"}`, `field "ModelName" is given more than once`},
		{contract.TrainingRequest, `{"ModelName":"m","DataDate":"2019-10-01","Threshold":0.5}`, `unknown field "Threshold": the training pipeline's fields are ModelName, DataDate, DataDateOffset, ScheduledTime, ApprovalStatus`},
		{contract.InferenceRequest, `{"ModelName":"m","DataDate":"2019-11-01","ApprovalStatus":"Approved"}`, `unknown field "ApprovalStatus": the inference pipeline's fields are ModelName, DataDate, DataDateOffset, ScheduledTime, Threshold`},
		{contract.InferenceRequest, `{"ModelName":"m","DataDate":20191101}`, "field DataDate must be"},
		{contract.InferenceRequest, `["m"]`, "must be a JSON object"},
	} {
		t.Run(string(tt.kind)+" "+tt.request, func(t *testing.T) {
			var s3 *fakeS3
			var err error
			if tt.kind == contract.TrainingRequest {
				s3 = newFakeS3(testBucket, trainingData)
				e := trainingEvent()
				e.Request = []byte(tt.request)
				_, err = New(s3, WithClock(fixedClock)).InitializeTraining(context.Background(), e)
			} else {
				s3 = newFakeS3(testBucket, inferenceData)
				e := inferenceEvent()
				e.Request = []byte(tt.request)
				_, err = New(s3, WithClock(fixedClock)).InitializeInference(context.Background(), e)
			}
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("valid request rejected: %v", err)
				}
				return
			}
			checkError(t, err, contract.ErrorInvalidInput, tt.wantMsg)
			if len(s3.puts) != 0 {
				t.Errorf("rejected request wrote %v", s3.puts)
			}
		})
	}
}

// TestInitializeDerivesTheScheduledDate: a scheduled request (no DataDate, a DataDateOffset and the
// ScheduledTime EventBridge Scheduler substituted) processes the scheduled day plus the offset, in UTC, by
// contract.ScheduledDataDate; without a ScheduledTime it is an invalid event, as nothing says which date.
func TestInitializeDerivesTheScheduledDate(t *testing.T) {
	h := New(newFakeS3(testBucket, inferenceData), WithClock(fixedClock))
	ev := inferenceEvent()
	// 00:30 on 2 November in UTC+01:00 is 23:30 on 1 November in UTC: the offset counts from the UTC day.
	ev.WorkflowInput = contract.WorkflowInput{ModelName: "ReInventTestModel", DataDateOffset: "0d", ScheduledTime: "2019-11-02T00:30:00+01:00"}
	got, err := h.InitializeInference(context.Background(), ev)
	if err != nil {
		t.Fatalf("InitializeInference: %v", err)
	}
	if got.DataDate != "2019-11-01" || !strings.Contains(got.InferenceConfig.InferenceInput.S3Key, "2019-11-01") {
		t.Errorf("DataDate %q, input %q: want 2019-11-01", got.DataDate, got.InferenceConfig.InferenceInput.S3Key)
	}
	if got.WorkflowRequest != ev.WorkflowInput {
		t.Errorf("WorkflowRequest %+v, want the request as given %+v", got.WorkflowRequest, ev.WorkflowInput)
	}

	ev.WorkflowInput.ScheduledTime = ""
	_, err = h.InitializeInference(context.Background(), ev)
	var fe *Error
	if !errors.As(err, &fe) || fe.Type != contract.ErrorInvalidInput || !strings.Contains(fe.Message, "needs the schedule's time") {
		t.Errorf("without ScheduledTime: %v, want InvalidInput naming the missing time", err)
	}
}
