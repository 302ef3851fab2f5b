package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"go.temporal.io/sdk/client"

	"github.com/mdlc/mdlc/localaws/logs"
	"github.com/mdlc/mdlc/workflows"
)

// logsPollInterval is how often `starter logs --follow` looks for new log events and new jobs.
const logsPollInterval = 2 * time.Second

// logSteps are the steps that run a SageMaker job, and the log group of each job's logs.
var logSteps = map[string]string{
	workflows.StepTrainModel: logs.TrainingGroup,
	workflows.StepInference:  logs.TransformGroup,
}

func logsCommand() *command {
	return &command{
		name:       "logs",
		args:       "WORKFLOW_ID [--step STEP] [--follow] [flags]",
		positional: "WORKFLOW_ID",
		summary:    "print the logs of a run's SageMaker jobs (CloudWatch Logs)",
		help: `Prints the logs of the SageMaker jobs of a run (the latest of the workflow ID unless --run-id is given),
and of its retrain child: the training job's log (/aws/sagemaker/TrainingJobs) and the transform job's
(/aws/sagemaker/TransformJobs), read through CloudWatch Logs (GetLogEvents, DescribeLogStreams) — from
localaws, or from CloudWatch with --target aws. The run's job names come from its progress query, so the
worker must be running. --step keeps the jobs of one step ("Train Model", "Inference", or "Re-train Model"
for the retrain child's training job). --follow keeps printing new lines until the run has ended.
With -o json, one JSON object per line: Step, JobName, LogStream, Timestamp, Message.`,
		examples: []string{
			"starter logs training-churn-2019-10-01",
			`starter logs batch-inference-churn-2019-11-01 --step Inference`,
			"starter logs training-churn-2019-10-01 --follow",
		},
		setup: func(fs *flag.FlagSet, e *env) action {
			tf, af, out := addTemporalFlags(fs, e), addAWSFlags(fs, e), addOutputFlag(fs)
			runID := fs.String("run-id", "", "`RUN_ID` (default: the latest run of the workflow ID)")
			step := fs.String("step", "", "print only the jobs of `STEP`: \""+workflows.StepTrainModel+"\", \""+workflows.StepInference+"\" or \""+workflows.StepRetrain+"\"")
			follow := fs.Bool("follow", false, "keep printing new lines until the run has ended")
			checkStep := func() error {
				if _, ok := logSteps[*step]; *step != "" && !ok && *step != workflows.StepRetrain {
					return usagef("--step %q has no job logs: give %q, %q or %q", quoteShort(*step), workflows.StepTrainModel, workflows.StepInference, workflows.StepRetrain)
				}
				return nil
			}
			return temporalAction(tf, out, func(ctx context.Context, e *env, c client.Client, args []string) error {
				id := args[0]
				cfg, err := af.load(ctx)
				if err != nil {
					return usagef("%v", err)
				}
				p := &logPrinter{e: e, out: e.stdout, json: out.json(), cw: cloudwatchlogs.NewFromConfig(cfg), tokens: map[string]string{}, endpoint: af.endpointName()}
				return p.run(ctx, c, tf, id, *runID, *step, *follow)
			}, af.validate, checkStep)
		},
	}
}

// quoteShort quotes at most a short prefix of a user's value.
func quoteShort(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// jobLog is one SageMaker job of a run whose log is printed.
type jobLog struct {
	step, job, group string
}

// logPrinter prints the new events of a run's job logs, remembering where each stream was read to.
type logPrinter struct {
	e *env
	// out receives the log lines; json prints them as JSON objects, inline (within a run's live step lines)
	// marks each with a bar.
	out      io.Writer
	json     bool
	inline   bool
	cw       *cloudwatchlogs.Client
	endpoint string
	// tokens is the forward token of each stream read so far, by group and stream name.
	tokens map[string]string
}

func (p *logPrinter) run(ctx context.Context, c client.Client, tf *temporalFlags, id, runID, step string, follow bool) error {
	desc, err := c.DescribeWorkflowExecution(ctx, id, runID)
	if err != nil {
		return explainTemporal(err, tf, id)
	}
	runID = desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	// While following, a progress query that times out (a worker busy on a loaded machine) is tried again
	// at the next tick; maxDescribeFailures in a row give up.
	failures := 0
	for {
		ended := true
		if follow {
			d, err := c.DescribeWorkflowExecution(ctx, id, runID)
			if err != nil {
				return explainTemporal(err, tf, id)
			}
			ended = d.GetWorkflowExecutionInfo().GetStatus().String() != "Running"
		}
		jobs, err := runJobs(ctx, c, id, runID, step)
		if err != nil {
			if !follow || ctx.Err() != nil || failures >= maxDescribeFailures {
				return fmt.Errorf("find the jobs of %s: %w (the progress query needs the worker running)", id, err)
			}
			if failures++; failures == 1 {
				fmt.Fprintf(p.e.stderr, "warning: cannot find the jobs of %s yet (%v); trying again\n", id, err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(logsPollInterval):
			}
			continue
		}
		failures = 0
		if len(jobs) == 0 && !follow {
			return fmt.Errorf("run %s of %s has no SageMaker job%s yet", runID, id, map[bool]string{true: " in step " + step, false: ""}[step != ""])
		}
		for _, j := range jobs {
			if err := p.print(ctx, j, !follow); err != nil {
				return err
			}
		}
		if ended {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(logsPollInterval):
		}
	}
}

// runJobs lists the SageMaker jobs a run's steps have started, with the retrain child's training job, in
// step order.
func runJobs(ctx context.Context, c client.Client, id, runID, only string) ([]jobLog, error) {
	p, err := queryProgress(ctx, c, id, runID)
	if err != nil {
		return nil, err
	}
	var jobs []jobLog
	for _, s := range p.Steps {
		if s.JobName == "" {
			continue
		}
		if group, ok := logSteps[s.Name]; ok && (only == "" || only == s.Name) {
			jobs = append(jobs, jobLog{step: s.Name, job: s.JobName, group: group})
		}
		if s.Name == workflows.StepRetrain && (only == "" || only == workflows.StepRetrain) {
			child, err := runJobs(ctx, c, s.JobName, "", workflows.StepTrainModel)
			if err != nil {
				return nil, fmt.Errorf("retrain child %s: %w", s.JobName, err)
			}
			for _, j := range child {
				jobs = append(jobs, jobLog{step: workflows.StepRetrain, job: j.job, group: j.group})
			}
		}
	}
	return jobs, nil
}

// print prints the events of j's log streams not printed yet; warn says to mention a job without a log.
func (p *logPrinter) print(ctx context.Context, j jobLog, warn bool) error {
	streams, err := p.cw.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{
		LogGroupName: aws.String(j.group), LogStreamNamePrefix: aws.String(j.job + "/")})
	var notFound *cwtypes.ResourceNotFoundException
	if errors.As(err, &notFound) || (err == nil && len(streams.LogStreams) == 0) {
		if warn {
			fmt.Fprintf(p.e.stderr, "%s: job %s has no log in %s yet\n", j.step, j.job, j.group)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("list the log streams of job %s in %s at %s: %w", j.job, j.group, p.endpoint, err)
	}
	for _, s := range streams.LogStreams {
		name := aws.ToString(s.LogStreamName)
		key := j.group + "\x00" + name
		for {
			in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(j.group), LogStreamName: aws.String(name), StartFromHead: aws.Bool(true)}
			if t, ok := p.tokens[key]; ok {
				in.NextToken = aws.String(t)
			}
			out, err := p.cw.GetLogEvents(ctx, in)
			if err != nil {
				return fmt.Errorf("read log stream %s of job %s at %s: %w", name, j.job, p.endpoint, err)
			}
			if _, seen := p.tokens[key]; !seen && !p.json {
				fmt.Fprintf(p.out, "%s==> %s: %s (%s %s) <==\n", p.bar(), j.step, j.job, j.group, name)
			}
			for _, ev := range out.Events {
				if err := p.event(j, name, ev); err != nil {
					return err
				}
			}
			next := aws.ToString(out.NextForwardToken)
			prev, seen := p.tokens[key]
			p.tokens[key] = next
			if len(out.Events) == 0 || (seen && prev == next) || next == "" {
				break
			}
		}
	}
	return nil
}

func (p *logPrinter) event(j jobLog, stream string, ev cwtypes.OutputLogEvent) error {
	msg := strings.TrimRight(aws.ToString(ev.Message), "\n")
	ts := time.UnixMilli(aws.ToInt64(ev.Timestamp)).UTC()
	if p.json {
		// One object a line, as `aws logs tail` and jq -c print them.
		err := json.NewEncoder(p.out).Encode(struct {
			Step, JobName, LogStream string
			Timestamp                time.Time
			Message                  string
		}{j.step, j.job, stream, ts, msg})
		if err != nil {
			return fmt.Errorf("write JSON output: %w", err)
		}
		return nil
	}
	_, err := fmt.Fprintf(p.out, "%s%s %s\n", p.bar(), ts.Format("15:04:05"), msg)
	return err
}

// bar sets inline log lines apart from the step lines around them.
func (p *logPrinter) bar() string {
	if p.inline {
		return "          | "
	}
	return ""
}
