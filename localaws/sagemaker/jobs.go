package sagemaker

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/mdlc/mdlc/localaws/algorithm"
	"github.com/mdlc/mdlc/localaws/awserr"
)

// Job statuses, shared by training and transform jobs.
const (
	statusInProgress = "InProgress"
	statusCompleted  = "Completed"
	statusFailed     = "Failed"
	statusStopping   = "Stopping"
	statusStopped    = "Stopped"
)

var jobStatuses = []string{statusInProgress, statusCompleted, statusFailed, statusStopping, statusStopped}

// outcome is how a job's run ended.
type outcome int

// Outcomes.
const (
	outcomeCompleted outcome = iota
	// outcomeStopped: a Stop request ended the job.
	outcomeStopped
	// outcomeMaxRuntime: StoppingCondition.MaxRuntimeInSeconds ended the job (training jobs have one).
	outcomeMaxRuntime
	// outcomeFailed: the job failed, with a FailureReason.
	outcomeFailed
)

// jobState is what the lifecycle training and transform jobs share needs of a job's stored state; each job
// type keeps its own AWS shape (its members, secondary statuses and times).
type jobState[T any] interface {
	*T
	// name is the job's name.
	name() string
	// status is the job's TrainingJobStatus or TransformJobStatus.
	status() string
	// stop moves an InProgress job to Stopping, as a Stop request does.
	stop(now time.Time)
	// end records how the job ended; reason is the FailureReason of outcomeFailed.
	end(o outcome, reason string, now time.Time)
}

// jobKind is one kind of job (training, transform) with what differs between the kinds in the operations
// they share: describe, stop, list, state changes, the end of a run and recovery at New.
type jobKind[T any, P jobState[T]] struct {
	// dir names the kind's state and working directories (kindTraining); it also keys the kind's runs.
	dir string
	// member is the job-name member as validation messages spell it ("trainingJobName").
	member string
	// noun is the kind as AWS's messages and the service's logs name it ("training job").
	noun string
	// notFound is the error for a job that does not exist, in AWS's words for the kind.
	notFound func(name string) error
	// jobs returns the service's jobs of the kind, by key; the caller holds mu.
	jobs func(s *Service) map[string]*record[T]
	// workingCopies are what a job's directory holds only while it runs (see removeWorkingCopies).
	workingCopies func(jobDir string) []string
	// algorithmDir is where, under a job's directory, the job's algorithm runs and records its process
	// (see algorithm.KillLeftover).
	algorithmDir func(jobDir string) string
	// list says how the kind's List operation sorts and filters; listMember holds its summaries, and
	// summary makes one.
	list       listSpec
	listMember string
	summary    func(j *T) listItem
}

func (k *jobKind[T, P]) runKey(key string) string { return k.dir + "/" + key }

// lookup checks a job name and finds the job; the caller holds mu.
func (k *jobKind[T, P]) lookup(s *Service, name string) (string, *record[T], error) {
	var v violations
	v.name(k.member, name)
	if err := v.err(); err != nil {
		return "", nil, err
	}
	key := strings.ToLower(name)
	r, ok := k.jobs(s)[key]
	if !ok {
		return "", nil, k.notFound(name)
	}
	return key, r, nil
}

// add saves a new job, publishes it and starts run for it; the caller holds mu.
func (k *jobKind[T, P]) add(s *Service, key string, r *record[T], run func(ctx context.Context, key string)) error {
	if err := s.save(k.dir, key, r); err != nil {
		return err
	}
	k.jobs(s)[key] = r
	s.start(k.runKey(key), func(ctx context.Context) { run(ctx, key) })
	return nil
}

// describe answers a Describe operation: a copy of the stored job.
func (k *jobKind[T, P]) describe(s *Service, name string) (*T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, r, err := k.lookup(s, name)
	if err != nil {
		return nil, err
	}
	return clone(&r.Resource), nil
}

// stopJob answers a Stop operation: an InProgress job moves to Stopping and its run is cancelled.
func (k *jobKind[T, P]) stopJob(s *Service, name string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key, r, err := k.lookup(s, name)
	if err != nil {
		return nil, err
	}
	if st := P(&r.Resource).status(); st != statusInProgress {
		return nil, awserr.New(awserr.SageMakerValidation, "The request was rejected because the %s is in status %s.", k.noun, st)
	}
	now := s.now()
	if err := update(s, k.dir, key, r, func(j *T) { P(j).stop(now) }); err != nil {
		return nil, err
	}
	if run, ok := s.runs[k.runKey(key)]; ok {
		run.cancel(errStopRequested)
	}
	return struct{}{}, nil
}

// listJobs answers a List operation.
func (k *jobKind[T, P]) listJobs(s *Service, in *listInput) (any, error) {
	var v violations
	validateList(in, k.list, &v)
	if err := v.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	jobs := k.jobs(s)
	items := make([]listItem, 0, len(jobs))
	for _, r := range jobs {
		items = append(items, k.summary(&r.Resource))
	}
	s.mu.Unlock()
	out, next, err := page(in, k.list, items)
	if err != nil {
		return nil, err
	}
	return listAnswer(k.listMember, out, next), nil
}

// update changes a running job's state (see update) and reports whether it was saved; it does nothing once
// the job is gone (Reset).
func (k *jobKind[T, P]) update(s *Service, key string, f func(j P, now time.Time)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := k.jobs(s)[key]
	if !ok {
		return true
	}
	now := s.now()
	if err := update(s, k.dir, key, r, func(j *T) { f(j, now) }); err != nil {
		s.opts.Logger.Error("save "+k.noun, "job", key, "error", err)
		return false
	}
	return true
}

// finish records how a job's run ended: err nil is success (completed, when not nil, adds what the job
// produced first), otherwise a context cause or a failure. A job whose end cannot be saved is ended Failed
// rather than left InProgress.
func (k *jobKind[T, P]) finish(s *Service, key string, err error, completed func(j P, now time.Time)) {
	if errors.Is(err, errReset) {
		return
	}
	saved := k.update(s, key, func(j P, now time.Time) {
		o, reason := howEnded(err, j.status() == statusStopping)
		if o == outcomeCompleted && completed != nil {
			completed(j, now)
		}
		j.end(o, reason, now)
	})
	if !saved {
		k.update(s, key, func(j P, now time.Time) { j.end(outcomeFailed, reasonUnsaved, now) })
	}
}

// howEnded says how a run whose work returned err ended, and the FailureReason of a failed one.
func howEnded(err error, stopping bool) (outcome, string) {
	switch {
	case errors.Is(err, errShutdown):
		return outcomeFailed, reasonStopped
	case stopping || errors.Is(err, errStopRequested):
		return outcomeStopped, ""
	case errors.Is(err, errMaxRuntime):
		return outcomeMaxRuntime, ""
	case err != nil:
		var je *jobError
		if errors.As(err, &je) {
			return outcomeFailed, je.reason
		}
		return outcomeFailed, "InternalServerError: " + err.Error()
	}
	return outcomeCompleted, ""
}

// recoverRuns fails the jobs the previous process left running (as after an instance failure) and removes
// the working copies every ended job leaves; the caller holds mu.
func (k *jobKind[T, P]) recoverRuns(ctx context.Context, s *Service, now time.Time) error {
	for key, r := range k.jobs(s) {
		if running(P(&r.Resource).status()) {
			if err := algorithm.KillLeftover(k.algorithmDir(s.jobDir(k.dir, key))); err != nil {
				s.opts.Logger.WarnContext(ctx, "leftover algorithm of a "+k.noun, "job", P(&r.Resource).name(), "error", err)
			}
			if err := update(s, k.dir, key, r, func(j *T) { P(j).end(outcomeFailed, reasonRestarted, now) }); err != nil {
				return err
			}
			s.opts.Logger.WarnContext(ctx, k.noun+" failed by restart", "job", P(&r.Resource).name())
		}
		if err := removeWorkingCopies(k.workingCopies(s.jobDir(k.dir, key))); err != nil {
			return err
		}
	}
	return nil
}

// running reports whether a job status means the job's goroutine should be alive.
func running(status string) bool { return status == statusInProgress || status == statusStopping }

// jobError is a job's failure with the FailureReason to report.
type jobError struct{ reason string }

func (e *jobError) Error() string { return e.reason }
