package localaws_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/mdlc/mdlc/internal/demodata"
	"github.com/mdlc/mdlc/localaws"
)

// evalLine matches XGBoost's per-round results in every form it prints them ("[3]\ttrain-logloss:0.5",
// "[12:00:00] [3]\tvalidation-logloss:0.5", and SageMaker's "[3]#011train-logloss:0.5").
var evalLine = regexp.MustCompile(`\[\d+\](\t|#011)(train|validation)-[a-z]+:[0-9.]+`)

// TestJobLogsThroughCloudWatchLogs runs a real XGBoost training job and a transform job, then reads their
// logs as SageMaker users do: the Go SDK's CloudWatch Logs client and the AWS CLI against the listener,
// including paging with tokens to the end, filtering, the errors for an unknown group or stream, and the
// events' times surviving a restart.
func TestJobLogsThroughCloudWatchLogs(t *testing.T) {
	dataDir := t.TempDir()
	e := start(t, dataDir, func(o *localaws.Options) { o.Algorithms = nil }) // nil: the real resolver (XGBoost)
	cfg := demodata.DefaultConfig()
	cfg.Dates = []string{"2019-10-01"}
	cfg.TrainRows, cfg.ValidationRows, cfg.HoldoutRows = 1000, 300, 100
	ds, err := demodata.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	if err := ds.WriteDir(data, nil); err != nil {
		t.Fatal(err)
	}
	runCLI(t, e, "s3", "mb", "s3://logs-flow")
	runCLI(t, e, "s3", "cp", "--recursive", data, "s3://logs-flow/")
	channels := filepath.Join(t.TempDir(), "channels.json")
	writeJSON(t, channels, []map[string]any{
		channel("train", "s3://logs-flow/input-data/2019-10-01/train"),
		channel("validation", "s3://logs-flow/input-data/2019-10-01/validation"),
	})
	const image = "433757028032.dkr.ecr.us-west-2.amazonaws.com/xgboost:1"
	runCLI(t, e, "sagemaker", "create-training-job", "--training-job-name", "Logs-Train",
		"--role-arn", "arn:aws:iam::000000000000:role/cli",
		"--algorithm-specification", "TrainingImage="+image+",TrainingInputMode=File",
		"--input-data-config", "file://"+channels,
		"--output-data-config", "S3OutputPath=s3://logs-flow/model",
		"--resource-config", "InstanceType=ml.m5.large,InstanceCount=1,VolumeSizeInGB=10",
		"--stopping-condition", "MaxRuntimeInSeconds=600",
		"--hyper-parameters", "objective=binary:logistic,num_round=12,max_depth=3")
	job := waitCLI(t, e, "describe-training-job", "--training-job-name", "Logs-Train", "TrainingJobStatus")
	if job["TrainingJobStatus"] != "Completed" {
		t.Fatalf("training job ended %v: %v", job["TrainingJobStatus"], job["FailureReason"])
	}
	artifacts := job["ModelArtifacts"].(map[string]any)["S3ModelArtifacts"].(string)
	runCLI(t, e, "sagemaker", "create-model", "--model-name", "logs-model",
		"--execution-role-arn", "arn:aws:iam::000000000000:role/cli",
		"--primary-container", "Image="+image+",ModelDataUrl="+artifacts)
	runCLI(t, e, "sagemaker", "create-transform-job", "--transform-job-name", "logs-transform",
		"--model-name", "logs-model",
		"--transform-input", `{"DataSource":{"S3DataSource":{"S3DataType":"S3Prefix","S3Uri":"s3://logs-flow/input-data/2019-10-01/holdout_data"}},"ContentType":"text/csv","SplitType":"Line"}`,
		"--transform-output", "S3OutputPath=s3://logs-flow/output,Accept=text/csv,AssembleWith=Line",
		"--transform-resources", "InstanceType=ml.c4.2xlarge,InstanceCount=1")
	if tj := waitCLI(t, e, "describe-transform-job", "--transform-job-name", "logs-transform", "TransformJobStatus"); tj["TransformJobStatus"] != "Completed" {
		t.Fatalf("transform job ended %v: %v", tj["TransformJobStatus"], tj["FailureReason"])
	}

	ctx := context.Background()
	cw := cloudwatchlogs.NewFromConfig(e.config(1))
	streams, err := cw.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{
		LogGroupName: aws.String("/aws/sagemaker/TrainingJobs"), LogStreamNamePrefix: aws.String("Logs-Train/")})
	if err != nil {
		t.Fatalf("describe log streams: %v", err)
	}
	if len(streams.LogStreams) != 1 {
		t.Fatalf("%d training log streams, want 1: %+v", len(streams.LogStreams), streams.LogStreams)
	}
	ls := streams.LogStreams[0]
	stream := aws.ToString(ls.LogStreamName)
	if !regexp.MustCompile(`^Logs-Train/algo-1-\d{10}$`).MatchString(stream) {
		t.Errorf("training log stream %q, want Logs-Train/algo-1-<epoch seconds>", stream)
	}
	if ls.FirstEventTimestamp == nil || ls.LastEventTimestamp == nil || *ls.LastEventTimestamp < *ls.FirstEventTimestamp ||
		aws.ToInt64(ls.CreationTime) > *ls.FirstEventTimestamp {
		t.Errorf("stream times: created %v, first %v, last %v", aws.ToInt64(ls.CreationTime), ls.FirstEventTimestamp, ls.LastEventTimestamp)
	}

	group := aws.String("/aws/sagemaker/TrainingJobs")
	all, err := cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: group, LogStreamName: &stream, StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("get log events: %v", err)
	}
	evals := 0
	for i, ev := range all.Events {
		if evalLine.MatchString(aws.ToString(ev.Message)) {
			evals++
		}
		if i > 0 && aws.ToInt64(ev.Timestamp) < aws.ToInt64(all.Events[i-1].Timestamp) {
			t.Errorf("event %d is older than the one before it", i)
		}
	}
	if evals < 12 {
		t.Fatalf("%d XGBoost evaluation lines in the training log, want one per round (12):\n%v", evals, logMessages(all.Events))
	}

	// Forward paging by two ends where the token stops changing and sees every event once.
	var paged []cwtypes.OutputLogEvent
	token := (*string)(nil)
	for pages := 0; ; pages++ {
		if pages > len(all.Events)+2 {
			t.Fatal("forward paging does not end")
		}
		out, err := cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: group, LogStreamName: &stream,
			StartFromHead: aws.Bool(true), Limit: aws.Int32(2), NextToken: token})
		if err != nil {
			t.Fatalf("get log events page %d: %v", pages, err)
		}
		paged = append(paged, out.Events...)
		if token != nil && aws.ToString(out.NextForwardToken) == *token {
			if len(out.Events) != 0 {
				t.Errorf("a page with events returned the token it was asked with")
			}
			break
		}
		token = out.NextForwardToken
	}
	if len(paged) != len(all.Events) {
		t.Errorf("paging forward by 2 saw %d events, one call %d", len(paged), len(all.Events))
	}
	// The default is the newest events; the backward token pages to older ones.
	tail, err := cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: group, LogStreamName: &stream, Limit: aws.Int32(3)})
	if err != nil {
		t.Fatalf("get log tail: %v", err)
	}
	n := len(all.Events)
	if len(tail.Events) != 3 || aws.ToString(tail.Events[2].Message) != aws.ToString(all.Events[n-1].Message) {
		t.Fatalf("tail of 3: %v, log ends %v", logMessages(tail.Events), logMessages(all.Events[n-3:]))
	}
	before, err := cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: group, LogStreamName: &stream, Limit: aws.Int32(3), NextToken: tail.NextBackwardToken})
	if err != nil {
		t.Fatalf("get log events backward: %v", err)
	}
	if len(before.Events) != 3 || aws.ToString(before.Events[2].Message) != aws.ToString(all.Events[n-4].Message) {
		t.Errorf("the 3 before the tail: %v, want %v", logMessages(before.Events), logMessages(all.Events[n-6:n-3]))
	}

	filtered, err := cw.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: group,
		LogStreamNamePrefix: aws.String("Logs-Train/"), FilterPattern: aws.String("validation-logloss")})
	if err != nil {
		t.Fatalf("filter log events: %v", err)
	}
	if len(filtered.Events) < 12 {
		t.Errorf("%d events with validation-logloss, want at least 12", len(filtered.Events))
	}
	for _, ev := range filtered.Events {
		if !regexp.MustCompile(`validation-logloss`).MatchString(aws.ToString(ev.Message)) || aws.ToString(ev.LogStreamName) != stream {
			t.Errorf("filtered event %q of stream %q", aws.ToString(ev.Message), aws.ToString(ev.LogStreamName))
		}
	}

	tstreams, err := cw.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/sagemaker/TransformJobs")})
	if err != nil {
		t.Fatalf("describe transform log streams: %v", err)
	}
	if len(tstreams.LogStreams) != 1 || !regexp.MustCompile(`^logs-transform/i-[0-9a-f]{17}-\d{10}$`).MatchString(aws.ToString(tstreams.LogStreams[0].LogStreamName)) {
		t.Errorf("transform log streams %+v, want one logs-transform/<instance id>-<epoch seconds>", tstreams.LogStreams)
	}

	_, err = cw.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/sagemaker/NoSuchJobs")})
	wantAPIError(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
	_, err = cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: group, LogStreamName: aws.String("Logs-Train/algo-1-1")})
	wantAPIError(t, err, "ResourceNotFoundException", "The specified log stream does not exist.")
	_, err = cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: group, LogStreamName: &stream, NextToken: aws.String("f/99999")})
	wantAPIError(t, err, "InvalidParameterException", "The specified nextToken is invalid.")
	_, err = cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: group, LogStreamName: &stream, Limit: aws.Int32(10001)})
	wantAPIError(t, err, "InvalidParameterException", "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value between 1 and 10000")

	// The AWS CLI reads the same log.
	var cli struct {
		LogStreams []struct{ LogStreamName string }
	}
	if err := json.Unmarshal([]byte(runCLI(t, e, "logs", "describe-log-streams", "--log-group-name", "/aws/sagemaker/TrainingJobs")), &cli); err != nil {
		t.Fatal(err)
	}
	if len(cli.LogStreams) != 1 || cli.LogStreams[0].LogStreamName != stream {
		t.Errorf("aws logs describe-log-streams: %+v, want %s", cli.LogStreams, stream)
	}
	var cliEvents struct {
		Events []struct{ Message string }
	}
	if err := json.Unmarshal([]byte(runCLI(t, e, "logs", "get-log-events", "--log-group-name", "/aws/sagemaker/TrainingJobs",
		"--log-stream-name", stream, "--start-from-head")), &cliEvents); err != nil {
		t.Fatal(err)
	}
	cliEvals := 0
	for _, ev := range cliEvents.Events {
		if evalLine.MatchString(ev.Message) {
			cliEvals++
		}
	}
	if len(cliEvents.Events) != len(all.Events) || cliEvals != evals {
		t.Errorf("aws logs get-log-events: %d events (%d evaluation lines), the SDK %d (%d)", len(cliEvents.Events), cliEvals, len(all.Events), evals)
	}

	// `aws logs tail` (FilterLogEvents, interleaved, from --since) prints the same evaluation lines.
	tailEvals := 0
	for _, l := range strings.Split(runCLI(t, e, "logs", "tail", "/aws/sagemaker/TrainingJobs", "--since", "1d", "--log-stream-names", stream), "\n") {
		if evalLine.MatchString(l) {
			if !strings.Contains(l, stream) {
				t.Errorf("aws logs tail line without its stream: %q", l)
			}
			tailEvals++
		}
	}
	if tailEvals != evals {
		t.Errorf("aws logs tail printed %d evaluation lines, get-log-events %d", tailEvals, evals)
	}

	// The events keep their times across a restart.
	e.stop(t)
	e = start(t, dataDir, func(o *localaws.Options) { o.Algorithms = nil })
	again, err := cloudwatchlogs.NewFromConfig(e.config(1)).GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: group, LogStreamName: &stream, StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("get log events after restart: %v", err)
	}
	if len(again.Events) != len(all.Events) {
		t.Fatalf("%d events after a restart, %d before", len(again.Events), len(all.Events))
	}
	for i := range again.Events {
		if aws.ToInt64(again.Events[i].Timestamp) != aws.ToInt64(all.Events[i].Timestamp) {
			t.Fatalf("event %d has time %d after a restart, %d before", i, aws.ToInt64(again.Events[i].Timestamp), aws.ToInt64(all.Events[i].Timestamp))
		}
	}
}

func logMessages(events []cwtypes.OutputLogEvent) []string {
	var out []string
	for _, ev := range events {
		out = append(out, aws.ToString(ev.Message))
	}
	return out
}

func wantAPIError(t *testing.T, err error, code, message string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || ae.ErrorMessage() != message {
		t.Errorf("error %v, want %s: %s", err, code, message)
	}
}
