// Package sagemaker serves the SageMaker API (JSON 1.1, X-Amz-Target "SageMaker.<Operation>") for localaws:
// training jobs, models, batch-transform jobs and the model registry, with state kept on disk.
//
// Supported operations: CreateTrainingJob, DescribeTrainingJob, StopTrainingJob, ListTrainingJobs; CreateModel,
// DescribeModel, DeleteModel, ListModels; CreateTransformJob, DescribeTransformJob, StopTransformJob,
// ListTransformJobs; CreateModelPackageGroup, DescribeModelPackageGroup, ListModelPackageGroups,
// CreateModelPackage, DescribeModelPackage, ListModelPackages, UpdateModelPackage; AddTags, ListTags, DeleteTags;
// Search (see below). Any other target is answered with UnknownOperationException.
//
// Jobs run for real: a training job downloads its channels from Options.Objects into a per-job directory laid
// out under the training-container contract (see package algorithm), runs the algorithm the resolver picks for
// its image, and uploads <S3OutputPath>/<job>/output/model.tar.gz. A transform job unpacks its model's
// model.tar.gz, predicts every object under its input prefix line by line and writes
// <S3OutputPath>/<object name relative to the prefix>.out. Statuses, secondary statuses and their
// transitions, times and failure reasons follow AWS:
//
//   - an algorithm error ends the job Failed with the reason the algorithm gives, whose prefix it chooses
//     ("ClientError: ..." for bad input, "AlgorithmError: ..." for the rest; see algorithm.Trainer);
//   - an image the resolver does not know ends the job Failed with "ClientError: <reason>" (AWS accepts any
//     image at create time too, and fails the job when it cannot pull it);
//   - StoppingCondition.MaxRuntimeInSeconds cancels the algorithm and ends the job Stopped with
//     SecondaryStatus MaxRuntimeExceeded, as AWS does (no model is uploaded);
//   - StopTrainingJob/StopTransformJob move the job to Stopping, cancel the algorithm, then Stopped;
//   - jobs running when the service stops (Close) or found running at New end Failed with an
//     "InternalServerError: localaws ..." reason, as after an instance failure.
//
// When a job ends, its working copies under Dir/jobs (input channels, the model, a transform job's inputs and
// outputs) are deleted; what a user reads afterwards stays: algorithm.log and output/failure of a training
// job, transform.log of a transform job. A transform job unpacks at most Options.MaxModelBytes of model files
// (localaws --max-model-bytes); a larger model.tar.gz fails the job with a ClientError and leaves nothing.
// FinalMetricDataList leaves out metrics whose value is infinite or NaN, as SageMaker, which captures metrics
// with a regular expression for decimal numbers, never captures them (the job's log names them).
//
// State files are written to a temp file, fsync'd and renamed; a change is published only once saved, so
// what a request answers is what a restart loads. A state file that cannot be read at New is renamed to
// <name>.json.corrupt with a warning in the log, and everything else loads.
//
// Names are matched case-insensitively and appear lower-cased in ARNs, as in AWS; every name localaws checks
// (jobs, models, model package groups) has AWS's pattern and maximum length of 63. Validation errors use
// AWS's wording ("1 validation error detected: Value ... at 'x' failed to satisfy constraint: ..."), quoting
// at most a prefix of a long value. An enum member sent as "" (ModelApprovalStatus) is rejected as AWS
// rejects it. ListModelPackages with neither ModelPackageGroupName nor ModelPackageType lists Unversioned
// packages (AWS's default), of which localaws has none.
//
// Search supports the resources ModelPackage and ModelPackageGroup, with a SearchExpression of Filters
// joined by And (the default) or Or: every operator, on a property named by its path in the Describe answer
// ("ModelApprovalStatus", "CustomerMetadataProperties.<key>", "Tags.<key>"); text compares exactly, numbers
// and times as numbers (a time Value may be epoch seconds or RFC 3339). SortBy names any such property
// (default LastModifiedTime, CreationTime for groups). Resource ModelCard answers no results (localaws has no
// model cards, so the SageMaker Python SDK's register() finds none, as in a fresh account). Not supported:
// other resources, NestedFilters, SubExpressions, cross-account search, VisibilityConditions.
//
// Not supported (rejected with a ValidationException that says so): ManifestFile and AugmentedManifestFile
// data, Pipe/FastFile input modes, compressed input, SplitType other than Line, AlgorithmName (marketplace
// algorithms), https:// S3 URIs, unversioned model packages. Accepted and ignored: VPC, KMS, spot, debugger,
// profiler, experiment and DataProcessing settings, instance types and counts (every job runs once, locally).
// Batch transform skips empty input lines (a SplitType Line record is a non-empty line), so the output has one
// prediction per non-empty input line, in order.
package sagemaker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"

	"github.com/mdlc/mdlc/localaws/algorithm"
	"github.com/mdlc/mdlc/localaws/awserr"
)

// Options configure a Service.
type Options struct {
	// Dir holds the service's state; it survives restarts.
	Dir string
	// Objects is the S3 storage jobs read their input from and write their output to.
	Objects gofakes3.Backend
	// Algorithms maps training images to local algorithms.
	Algorithms algorithm.Resolver
	// Region and AccountID appear in ARNs. Required (package localaws has their defaults).
	Region, AccountID string
	// Clock returns the current time; time.Now when nil.
	Clock func() time.Time
	// Logger receives the service's logs; slog.Default() when nil.
	Logger *slog.Logger
	// MaxModelBytes bounds the unpacked size of a model.tar.gz (batch transform unpacks its model's archive):
	// an archive whose files add up to more fails the job with a ClientError and leaves nothing behind.
	// DefaultMaxModelBytes when zero or less.
	MaxModelBytes int64
	// MaxRunningJobs bounds the jobs whose algorithms run at once; the others wait InProgress (training jobs
	// in SecondaryStatus Starting). The number of CPUs when zero or less.
	MaxRunningJobs int
}

// DefaultMaxModelBytes is the default of Options.MaxModelBytes: far above any XGBoost model, far below a
// disk.
const DefaultMaxModelBytes = 4 << 30

// Service is the local SageMaker.
type Service struct {
	opts  Options
	slots chan struct{}

	// mu guards everything below, and the files under Dir/state.
	mu         sync.Mutex
	closed     bool
	training   map[string]*record[trainingJob]
	transforms map[string]*record[transformJob]
	models     map[string]*record[model]
	groups     map[string]*record[modelPackageGroup]
	packages   map[string]*record[modelPackage] // by ARN
	runs       map[string]*jobRun               // by kind/name
	wg         sync.WaitGroup
}

// record is a resource as it is stored: the resource (its Describe answer) and what goes with it.
type record[T any] struct {
	Resource    T      `json:"Resource"`
	Tags        []tag  `json:"Tags,omitempty"`
	ClientToken string `json:"ClientToken,omitempty"`
}

// jobRun is a job whose goroutine is alive.
type jobRun struct {
	cancel context.CancelCauseFunc
	done   chan struct{}
}

// Reasons a job's context ends.
var (
	errStopRequested = errors.New("stop requested")
	errMaxRuntime    = errors.New("max runtime exceeded")
	errShutdown      = errors.New("localaws stopped")
	errReset         = errors.New("localaws reset")
)

// Failure reasons of jobs cut short by the service itself.
const (
	reasonStopped   = "InternalServerError: localaws stopped while the job was running"
	reasonRestarted = "InternalServerError: localaws restarted while the job was running"
	reasonUnsaved   = "InternalServerError: localaws could not save how the job ended (see its log)"
)

// New loads the state under opts.Dir (jobs that were running when the previous process stopped end Failed).
func New(ctx context.Context, opts Options) (*Service, error) {
	if opts.Dir == "" {
		return nil, errors.New("new sagemaker service: options: Dir is required")
	}
	if opts.Objects == nil {
		return nil, errors.New("new sagemaker service: options: Objects is required")
	}
	if opts.Algorithms == nil {
		return nil, errors.New("new sagemaker service: options: Algorithms is required")
	}
	if opts.Region == "" || opts.AccountID == "" {
		return nil, errors.New("new sagemaker service: options: Region and AccountID are required")
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxModelBytes <= 0 {
		opts.MaxModelBytes = DefaultMaxModelBytes
	}
	if opts.MaxRunningJobs <= 0 {
		opts.MaxRunningJobs = runtime.NumCPU()
	}
	s := &Service{opts: opts, slots: make(chan struct{}, opts.MaxRunningJobs)}
	s.clear()
	if err := s.load(ctx); err != nil {
		return nil, fmt.Errorf("new sagemaker service: load state from %s: %w", opts.Dir, err)
	}
	return s, nil
}

func (s *Service) clear() {
	s.training = map[string]*record[trainingJob]{}
	s.transforms = map[string]*record[transformJob]{}
	s.models = map[string]*record[model]{}
	s.groups = map[string]*record[modelPackageGroup]{}
	s.packages = map[string]*record[modelPackage]{}
	s.runs = map[string]*jobRun{}
}

// now is the service's clock, in UTC, to the millisecond (what survives the wire).
func (s *Service) now() time.Time { return s.opts.Clock().UTC().Truncate(time.Millisecond) }

func (s *Service) arn(resource string) string {
	return fmt.Sprintf("arn:aws:sagemaker:%s:%s:%s", s.opts.Region, s.opts.AccountID, strings.ToLower(resource))
}

// handler answers one operation with the request's body.
type handler func(s *Service, body []byte) (any, error)

// handle decodes the body into In and calls f.
func handle[In any](f func(*Service, *In) (any, error)) handler {
	return func(s *Service, body []byte) (any, error) {
		in := new(In)
		if len(strings.TrimSpace(string(body))) > 0 {
			if err := json.Unmarshal(body, in); err != nil {
				return nil, awserr.New(awserr.SageMakerSerialization, "The request body could not be read: %v", err)
			}
		}
		return f(s, in)
	}
}

var operations = map[string]handler{
	"CreateTrainingJob":         handle((*Service).createTrainingJob),
	"DescribeTrainingJob":       handle((*Service).describeTrainingJob),
	"StopTrainingJob":           handle((*Service).stopTrainingJob),
	"ListTrainingJobs":          handle((*Service).listTrainingJobs),
	"CreateModel":               handle((*Service).createModel),
	"DescribeModel":             handle((*Service).describeModel),
	"DeleteModel":               handle((*Service).deleteModel),
	"ListModels":                handle((*Service).listModels),
	"CreateTransformJob":        handle((*Service).createTransformJob),
	"DescribeTransformJob":      handle((*Service).describeTransformJob),
	"StopTransformJob":          handle((*Service).stopTransformJob),
	"ListTransformJobs":         handle((*Service).listTransformJobs),
	"CreateModelPackageGroup":   handle((*Service).createModelPackageGroup),
	"DescribeModelPackageGroup": handle((*Service).describeModelPackageGroup),
	"ListModelPackageGroups":    handle((*Service).listModelPackageGroups),
	"CreateModelPackage":        handle((*Service).createModelPackage),
	"DescribeModelPackage":      handle((*Service).describeModelPackage),
	"ListModelPackages":         handle((*Service).listModelPackages),
	"UpdateModelPackage":        handle((*Service).updateModelPackage),
	"AddTags":                   handle((*Service).addTags),
	"ListTags":                  handle((*Service).listTags),
	"DeleteTags":                handle((*Service).deleteTags),
	"Search":                    handle((*Service).search),
}

// Operations returns the names of the operations the service answers.
func Operations() []string {
	names := make([]string, 0, len(operations))
	for name := range operations {
		names = append(names, name)
	}
	return names
}

// maxBody bounds a request body; SageMaker requests are small.
const maxBody = 8 << 20

// ServeHTTP answers one SageMaker API request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	awserr.ServeJSON11(w, r, s, operations, awserr.JSON11Service{
		TargetPrefix: "SageMaker.", UnknownOperation: awserr.SageMakerUnknownOperation, UnknownMessage: "SageMaker",
		Serialization: awserr.SageMakerSerialization, MaxBody: maxBody, Logger: s.opts.Logger,
	})
}

// Reset stops every running job and forgets all state.
func (s *Service) Reset(ctx context.Context) error {
	s.mu.Lock()
	runs := s.cancelRuns(errReset)
	s.mu.Unlock()
	if err := waitRuns(ctx, runs); err != nil {
		return fmt.Errorf("reset sagemaker: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clear()
	for _, sub := range []string{stateDir, jobsDir} {
		if err := os.RemoveAll(filepath.Join(s.opts.Dir, sub)); err != nil {
			return fmt.Errorf("reset sagemaker: remove %s: %w", sub, err)
		}
	}
	return nil
}

// Close stops running jobs (they end Failed, as on an instance failure) and waits for them to end.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	s.cancelRuns(errShutdown)
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// cancelRuns cancels every running job with cause; the caller holds mu.
func (s *Service) cancelRuns(cause error) []*jobRun {
	runs := make([]*jobRun, 0, len(s.runs))
	for _, r := range s.runs {
		r.cancel(cause)
		runs = append(runs, r)
	}
	return runs
}

func waitRuns(ctx context.Context, runs []*jobRun) error {
	for _, r := range runs {
		select {
		case <-r.done:
		case <-ctx.Done():
			return fmt.Errorf("wait for running jobs: %w", ctx.Err())
		}
	}
	return nil
}

// start runs job in a goroutine with its own context; the caller holds mu.
func (s *Service) start(key string, job func(ctx context.Context)) {
	ctx, cancel := context.WithCancelCause(context.Background())
	r := &jobRun{cancel: cancel, done: make(chan struct{})}
	s.runs[key] = r
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(r.done)
		defer cancel(nil)
		defer func() {
			s.mu.Lock()
			if s.runs[key] == r {
				delete(s.runs, key)
			}
			s.mu.Unlock()
		}()
		job(ctx)
	}()
}

// acquire waits for a slot to run an algorithm; release gives it back.
func (s *Service) acquire(ctx context.Context) error {
	select {
	case s.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (s *Service) release() { <-s.slots }

// checkOpen rejects requests that arrive after Close; the caller holds mu.
func (s *Service) checkOpen() error {
	if s.closed {
		return awserr.New(awserr.SageMakerServiceUnavailable, "localaws SageMaker is shutting down")
	}
	return nil
}

// clone deep-copies a resource, so an answer never shares memory with state a job goroutine changes.
func clone[T any](v *T) *T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("clone %T: %v", v, err)) // our own wire types always encode
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		panic(fmt.Sprintf("clone %T: %v", v, err))
	}
	return out
}
