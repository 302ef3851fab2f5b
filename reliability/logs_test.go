package reliability_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/mdlc/mdlc/internal/stack/harness"
	"github.com/mdlc/mdlc/workflows"
)

// TestBadLogsRequests sends CloudWatch Logs requests a user can get wrong to the stack's localaws, after a
// training run so that its job's log stream exists: each is answered with CloudWatch Logs' error type and a
// message that says what was wrong, never a silently ignored member or a wrong answer.
func TestBadLogsRequests(t *testing.T) {
	h := start(t, harness.SmallData())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run, err := h.Train(ctx, "logs-bad-input", "logsbad", "2019-10-01")
	require.NoError(t, err)
	var out workflows.TrainingResult
	require.NoError(t, run.Get(ctx, &out))

	cw := cloudwatchlogs.New(cloudwatchlogs.Options{BaseEndpoint: aws.String(h.Stack.LocalAWS), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	group := aws.String("/aws/sagemaker/TrainingJobs")
	streams, err := cw.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: group, LogStreamNamePrefix: aws.String(out.TrainingJobName + "/")})
	require.NoError(t, err)
	require.Len(t, streams.LogStreams, 1)
	stream := streams.LogStreams[0].LogStreamName

	cases := []struct {
		name          string
		call          func() error
		code, message string
	}{
		{"unknown group", func() error {
			_, err := cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/aws/sagemaker/Endpoints"), LogStreamName: stream})
			return err
		}, "ResourceNotFoundException", "The specified log group does not exist."},
		{"unknown stream", func() error {
			_, err := cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: group, LogStreamName: aws.String(out.TrainingJobName + "/algo-2-1")})
			return err
		}, "ResourceNotFoundException", "The specified log stream does not exist."},
		{"unknown stream among logStreamNames", func() error {
			_, err := cw.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: group, LogStreamNames: []string{*stream, "nope/algo-1-1"}})
			return err
		}, "ResourceNotFoundException", "The specified log stream does not exist."},
		{"token from nowhere", func() error {
			_, err := cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: group, LogStreamName: stream, NextToken: aws.String("f/abc")})
			return err
		}, "InvalidParameterException", "The specified nextToken is invalid."},
		{"token past the end", func() error {
			_, err := cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: group, LogStreamName: stream, NextToken: aws.String("b/100000000")})
			return err
		}, "InvalidParameterException", "The specified nextToken is invalid."},
		{"limit zero", func() error {
			_, err := cw.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: group, Limit: aws.Int32(0)})
			return err
		}, "InvalidParameterException", "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value between 1 and 50"},
		{"order by last event time with a prefix", func() error {
			_, err := cw.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: group, OrderBy: "LastEventTime", LogStreamNamePrefix: aws.String("x")})
			return err
		}, "InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix."},
		{"names and prefix", func() error {
			_, err := cw.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: group, LogStreamNames: []string{*stream}, LogStreamNamePrefix: aws.String("x")})
			return err
		}, "InvalidParameterException", "logStreamNames and logStreamNamePrefix are mutually exclusive"},
		{"a filter pattern localaws cannot match", func() error {
			_, err := cw.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: group, FilterPattern: aws.String(`{ $.level = "ERROR" }`)})
			return err
		}, "InvalidParameterException", `localaws CloudWatch Logs supports only plain terms or one "quoted phrase" as filterPattern, not "{ $.level = \"ERROR\" }"`},
		{"a member localaws does not serve", func() error {
			_, err := cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: group, LogStreamName: stream, Unmask: true})
			return err
		}, "InvalidParameterException", `localaws CloudWatch Logs does not support the member "unmask"`},
		{"an operation localaws does not serve", func() error {
			_, err := cw.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/mine")})
			return err
		}, "UnknownOperationException", `Operation "Logs_20140328.CreateLogGroup" is not supported by localaws CloudWatch Logs (it serves DescribeLogStreams, GetLogEvents and FilterLogEvents)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			var ae smithy.APIError
			require.True(t, errors.As(err, &ae), "error %v", err)
			require.Equal(t, c.code, ae.ErrorCode(), err.Error())
			require.Equal(t, c.message, ae.ErrorMessage())
		})
	}
}
