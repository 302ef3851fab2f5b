// Package harness drives a local mdlc stack (internal/stack) for the reliability tests and the benchmark
// command: it seeds demo data, starts workflows, counts SageMaker jobs per logical run (by the mdlc:run tag),
// reads localaws's request log and the workflows' histories, and tells which steps the open runs are in, so a
// fault can be injected at a chosen point.
package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/demodata"
	"github.com/mdlc/mdlc/internal/localdefaults"
	"github.com/mdlc/mdlc/internal/stack"
	"github.com/mdlc/mdlc/workflows"
)

// Bucket is the bucket the harness seeds and the worker reads (the worker's local default).
const Bucket = "mdlc-local"

// JobActivities are the activity types that wait on a SageMaker job. A worker killed while one of these runs is
// noticed after the heartbeat timeout. The Lambda and API steps are local activities: a worker killed during
// one is noticed when its workflow task times out.
var JobActivities = map[string]bool{"TrainModel": true, "BatchTransform": true}

// Options configure a Harness.
type Options struct {
	// Dir holds the stack's state and logs.
	Dir string
	// Data is seeded into Bucket once the stack is up; nothing is seeded when Data.Dates is empty.
	Data demodata.Config
	// WorkerArgs are extra worker flags (e.g. --hyperparameters num_round=20).
	WorkerArgs []string
	// Backend is the Temporal server (stack.BackendDev when empty); Workers how many workers run (1 when zero).
	Backend stack.Backend
	Workers int
}

// Harness is a running stack with clients for every service.
type Harness struct {
	*stack.Stack
	Temporal  client.Client
	SageMaker *sagemaker.Client
	Lambda    *lambda.Client
	S3        *s3.Client
	dir       string
}

// Start starts the stack (localaws logging JSON, so that its request log can be read) and seeds the data.
func Start(ctx context.Context, opts Options) (*Harness, error) {
	s, err := stack.Start(ctx, stack.Options{
		Dir: opts.Dir, WorkerArgs: opts.WorkerArgs,
		LocalAWSArgs: []string{"--log-format", "json"},
		Backend:      opts.Backend, Workers: opts.Workers,
	})
	if err != nil {
		return nil, fmt.Errorf("start stack: %w", err)
	}
	h := &Harness{Stack: s, dir: opts.Dir}
	if h.Temporal, err = s.Client(ctx); err != nil {
		s.Stop()
		return nil, fmt.Errorf("connect to temporal: %w", err)
	}
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	endpoint := aws.String(s.LocalAWS)
	h.S3 = s3.New(s3.Options{BaseEndpoint: endpoint, Region: localdefaults.Region, UsePathStyle: true, Credentials: creds})
	h.SageMaker = sagemaker.New(sagemaker.Options{BaseEndpoint: endpoint, Region: localdefaults.Region, Credentials: creds})
	h.Lambda = lambda.New(lambda.Options{BaseEndpoint: endpoint, Region: localdefaults.Region, Credentials: creds})
	if len(opts.Data.Dates) > 0 {
		cfg := opts.Data
		cfg.Bucket, cfg.CreateBucket = Bucket, true
		if err := demodata.Upload(ctx, h.S3, cfg, nil); err != nil {
			h.Close()
			return nil, fmt.Errorf("seed demo data: %w", err)
		}
	}
	return h, nil
}

// Close ends the client and every process.
func (h *Harness) Close() {
	if h.Temporal != nil {
		h.Temporal.Close()
	}
	h.Stop()
}

// SmallData is a dataset on which a training job takes about a second here, so that orchestration, not
// XGBoost, dominates what is measured: two dates, 4,000 training rows.
func SmallData() demodata.Config {
	cfg := demodata.DefaultConfig()
	cfg.TrainRows, cfg.ValidationRows, cfg.HoldoutRows = 4000, 1000, 2000
	return cfg
}

// StartOptions are the options the starter uses, with id as the workflow ID.
func StartOptions(id, model, date string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID: id, TaskQueue: workflows.TaskQueue,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.ModelNameAttribute.ValueSet(model), workflows.DataDateAttribute.ValueSet(date)),
	}
}

// Train starts a Training run with workflow ID id.
func (h *Harness) Train(ctx context.Context, id, model, date string) (client.WorkflowRun, error) {
	return h.Temporal.ExecuteWorkflow(ctx, StartOptions(id, model, date), workflows.TrainingWorkflow,
		workflows.TrainingInput{ModelName: model, DataDate: date})
}

// Infer starts a BatchInference run with workflow ID id and the given threshold.
func (h *Harness) Infer(ctx context.Context, id, model, date string, threshold float64) (client.WorkflowRun, error) {
	return h.Temporal.ExecuteWorkflow(ctx, StartOptions(id, model, date), workflows.BatchInferenceWorkflow,
		workflows.BatchInferenceInput{ModelName: model, DataDate: date, Threshold: &threshold})
}

// Job is a SageMaker job as the harness counts it.
type Job struct {
	Kind   string // "training" or "transform"
	Name   string
	Status string
	// WorkflowID is the workflow ID part of the job's mdlc:run tag ("" when untagged).
	WorkflowID string
	// Created is when the job was created; Start and End when its algorithm started and ended (zero while
	// unknown). Between Created and Start a localaws job waits for a free job slot.
	Created, Start, End time.Time
	// FailureReason is SageMaker's reason for a Failed job.
	FailureReason string
}

// Jobs lists every training and transform job with its run tag, times and failure reason.
func (h *Harness) Jobs(ctx context.Context) ([]Job, error) {
	var jobs []Job
	tp := sagemaker.NewListTrainingJobsPaginator(h.SageMaker, &sagemaker.ListTrainingJobsInput{MaxResults: aws.Int32(100)})
	for tp.HasMorePages() {
		page, err := tp.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list training jobs: %w", err)
		}
		for _, j := range page.TrainingJobSummaries {
			jobs = append(jobs, Job{Kind: "training", Name: aws.ToString(j.TrainingJobName), Status: string(j.TrainingJobStatus)})
		}
	}
	xp := sagemaker.NewListTransformJobsPaginator(h.SageMaker, &sagemaker.ListTransformJobsInput{MaxResults: aws.Int32(100)})
	for xp.HasMorePages() {
		page, err := xp.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list transform jobs: %w", err)
		}
		for _, j := range page.TransformJobSummaries {
			jobs = append(jobs, Job{Kind: "transform", Name: aws.ToString(j.TransformJobName), Status: string(j.TransformJobStatus)})
		}
	}
	for i := range jobs {
		if err := h.fill(ctx, &jobs[i]); err != nil {
			return nil, err
		}
	}
	return jobs, nil
}

func (h *Harness) fill(ctx context.Context, j *Job) error {
	var arn string
	if j.Kind == "training" {
		out, err := h.SageMaker.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String(j.Name)})
		if err != nil {
			return fmt.Errorf("describe training job %q: %w", j.Name, err)
		}
		arn, j.FailureReason = aws.ToString(out.TrainingJobArn), aws.ToString(out.FailureReason)
		j.Created, j.Start, j.End = aws.ToTime(out.CreationTime), aws.ToTime(out.TrainingStartTime), aws.ToTime(out.TrainingEndTime)
	} else {
		out, err := h.SageMaker.DescribeTransformJob(ctx, &sagemaker.DescribeTransformJobInput{TransformJobName: aws.String(j.Name)})
		if err != nil {
			return fmt.Errorf("describe transform job %q: %w", j.Name, err)
		}
		arn, j.FailureReason = aws.ToString(out.TransformJobArn), aws.ToString(out.FailureReason)
		j.Created, j.Start, j.End = aws.ToTime(out.CreationTime), aws.ToTime(out.TransformStartTime), aws.ToTime(out.TransformEndTime)
	}
	tags, err := h.SageMaker.ListTags(ctx, &sagemaker.ListTagsInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return fmt.Errorf("list tags of %q: %w", arn, err)
	}
	for _, t := range tags.Tags {
		if aws.ToString(t.Key) == activities.RunTag {
			v := aws.ToString(t.Value)
			if i := strings.LastIndex(v, "/"); i >= 0 {
				v = v[:i]
			}
			j.WorkflowID = v
		}
	}
	return nil
}

// Registrations counts the model package versions registered for each training job, by job name (from the
// versions' TrainingJobName metadata), across every model package group.
func (h *Harness) Registrations(ctx context.Context) (map[string]int, error) {
	counts := map[string]int{}
	gp := sagemaker.NewListModelPackageGroupsPaginator(h.SageMaker, &sagemaker.ListModelPackageGroupsInput{MaxResults: aws.Int32(100)})
	for gp.HasMorePages() {
		groups, err := gp.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list model package groups: %w", err)
		}
		for _, g := range groups.ModelPackageGroupSummaryList {
			pp := sagemaker.NewListModelPackagesPaginator(h.SageMaker, &sagemaker.ListModelPackagesInput{
				ModelPackageGroupName: g.ModelPackageGroupName, MaxResults: aws.Int32(100)})
			for pp.HasMorePages() {
				page, err := pp.NextPage(ctx)
				if err != nil {
					return nil, fmt.Errorf("list model packages of %q: %w", aws.ToString(g.ModelPackageGroupName), err)
				}
				for _, p := range page.ModelPackageSummaryList {
					d, err := h.SageMaker.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: p.ModelPackageArn})
					if err != nil {
						return nil, fmt.Errorf("describe model package %q: %w", aws.ToString(p.ModelPackageArn), err)
					}
					counts[d.CustomerMetadataProperties[activities.MetaTrainingJobName]]++
				}
			}
		}
	}
	return counts, nil
}

// JobsByWorkflow groups jobs by the workflow ID of their run tag.
func JobsByWorkflow(jobs []Job) map[string][]Job {
	m := map[string][]Job{}
	for _, j := range jobs {
		m[j.WorkflowID] = append(m[j.WorkflowID], j)
	}
	return m
}

// Request is one line of localaws's request log.
type Request struct {
	Time      time.Time `json:"time"`
	Service   string    `json:"service"`
	Operation string    `json:"operation"`
	Status    int       `json:"status"`
}

// Requests returns the requests localaws has logged so far, across its restarts.
func (h *Harness) Requests() ([]Request, error) {
	f, err := os.Open(filepath.Join(h.dir, "localaws.log"))
	if err != nil {
		return nil, fmt.Errorf("open localaws log: %w", err)
	}
	defer f.Close()
	var reqs []Request
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(`"msg":"request"`)) {
			continue
		}
		var r Request
		if err := json.Unmarshal(line, &r); err != nil {
			continue // a line cut short by a kill
		}
		reqs = append(reqs, r)
	}
	return reqs, sc.Err()
}

// WaitForRequest waits until localaws has answered at least n successful requests of operation since
// time since, and returns the time of the n-th.
func (h *Harness) WaitForRequest(ctx context.Context, operation string, since time.Time, n int) (time.Time, error) {
	for {
		reqs, err := h.Requests()
		if err != nil {
			return time.Time{}, err
		}
		count := 0
		for _, r := range reqs {
			if r.Operation == operation && r.Status == http.StatusOK && !r.Time.Before(since) {
				if count++; count == n {
					return r.Time, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("wait for %d %s requests (saw %d): %w", n, operation, count, ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// SetFaults tells localaws to answer fractions of requests with throttling or server errors.
func (h *Harness) SetFaults(ctx context.Context, throttle, serverError float64, seed uint64, services ...string) error {
	body, err := json.Marshal(map[string]any{"Throttle": throttle, "ServerError": serverError, "Services": services, "Seed": seed})
	if err != nil {
		return fmt.Errorf("encode faults: %w", err)
	}
	return h.control(ctx, http.MethodPost, "/_localaws/faults", body, nil)
}

// ClearFaults stops fault injection.
func (h *Harness) ClearFaults(ctx context.Context) error {
	return h.control(ctx, http.MethodDelete, "/_localaws/faults", nil, nil)
}

// FaultCounts returns how many faults localaws injected per service.
func (h *Harness) FaultCounts(ctx context.Context) (map[string]map[string]int, error) {
	var st struct{ Injected map[string]map[string]int }
	err := h.control(ctx, http.MethodGet, "/_localaws/faults", nil, &st)
	return st.Injected, err
}

func (h *Harness) control(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, h.LocalAWS+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Content-Type", "application/json") // localaws refuses other state-changing control requests

	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s", method, path, res.Status)
	}
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			return fmt.Errorf("decode %s %s: %w", method, path, err)
		}
	}
	return nil
}

// History returns the events of a run.
func (h *Harness) History(ctx context.Context, id, runID string) ([]*historypb.HistoryEvent, error) {
	iter := h.Temporal.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", id, err)
		}
		events = append(events, e)
	}
	return events, nil
}

// PIDs returns the process IDs of the stack's running processes by name (see stack.Stack.PIDs).
func (h *Harness) PIDs() (map[string]int, error) { return h.Stack.PIDs(), nil }

// TreeCPUTime returns the CPU time (user + system) process pid and its descendants have used so far:
// PostgreSQL's is mostly its backends' (which it starts in sessions of their own, so not by process group).
func TreeCPUTime(pid int) (time.Duration, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("list processes: %w", err)
	}
	parent := map[int]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// After the command name: state, ppid, …
		if f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])); len(f) > 1 {
			parent[p], _ = strconv.Atoi(f[1])
		}
	}
	var total time.Duration
	for p := range parent {
		for q := p; q > 1; q = parent[q] {
			if q == pid {
				if c, err := CPUTime(p); err == nil {
					total += c
				}
				break
			}
		}
	}
	return total, nil
}

// CPUTime returns the user plus system CPU time process pid has used so far.
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, fmt.Errorf("read stat of process %d: %w", pid, err)
	}
	// The command name (field 2) may hold spaces; the fields after its closing parenthesis are plain.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short stat of process %d", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("parse stat of process %d: %w", pid, err)
	}
	// Clock ticks: USER_HZ is 100 on Linux for every architecture Go supports.
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// RSS returns the resident set size of process pid, in bytes.
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, fmt.Errorf("read status of process %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmRSS of process %d: %w", pid, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS for process %d", pid)
}

// Steps summarises which activities the runs ids are in, e.g. "TrainModel=3 BatchTransform=2 local-step-or-between=1 closed=4".
func (h *Harness) Steps(ctx context.Context, ids []string) string {
	counts := map[string]int{}
	for _, id := range ids {
		d, err := h.Temporal.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			counts["unknown"]++
			continue
		}
		if d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			counts["closed"]++
			continue
		}
		if len(d.PendingActivities) == 0 {
			counts["local-step-or-between"]++ // the Lambda and API steps run inside workflow tasks
		}
		for _, a := range d.PendingActivities {
			counts[a.ActivityType.GetName()]++
		}
	}
	var parts []string
	for _, k := range []string{"TrainModel", "BatchTransform", "WaitForApproval", "local-step-or-between", "closed", "unknown"} {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", k, counts[k]))
			delete(counts, k)
		}
	}
	for k, v := range counts {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	return strings.Join(parts, " ")
}
