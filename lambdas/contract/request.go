package contract

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/mdlc/mdlc/internal/quote"
)

// The rules of the pipelines' requests are written once, here. The Temporal workflows check them before
// they start (workflows.TrainingInput.Validate and BatchInferenceInput.Validate call ValidateRequest); the
// state machines that parity emits pass the request, defaults filled in, to the Initialize functions
// (package lambdas), which check them again with the same code. parity runs one scenario per rule on both
// engines, built from RequestRules.

// RequestKind says which pipeline a request is for.
type RequestKind string

// The two kinds of request.
const (
	TrainingRequest  RequestKind = "training"
	InferenceRequest RequestKind = "inference"
)

// Approval statuses a training request may ask for; empty means the worker's (or the state machine's)
// default.
const (
	ApprovalApproved = "Approved"
	ApprovalPending  = "PendingManualApproval"
)

// RequestRule is one rule a pipeline request must satisfy.
type RequestRule struct {
	// Name says what the rule requires.
	Name string
	// Field is the request field the rule checks, as the user writes it in the request's JSON.
	Field string
	// Kinds are the requests the rule applies to.
	Kinds []RequestKind
	// Break changes a valid request into one that breaks this rule and no other.
	Break func(*WorkflowInput)
	check func(WorkflowInput) error
}

// Check returns the rule's complaint about in, or nil when in satisfies it (or the rule has no check).
func (r RequestRule) Check(in WorkflowInput) error {
	if r.check == nil {
		return nil
	}
	return r.check(in)
}

// AppliesTo reports whether the rule applies to requests of kind k.
func (r RequestRule) AppliesTo(k RequestKind) bool {
	for _, x := range r.Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// MaxNameLength is SageMaker's limit on the length of job, model and model package group names.
const MaxNameLength = 63

// dateLayout is how a request writes its DataDate.
const dateLayout = "2006-01-02"

// sageMakerNameChars is the character pattern of SageMaker job, model and model package group names;
// SageMaker also limits their length to MaxNameLength.
var sageMakerNameChars = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9])*$`)

// RequestRules returns every rule of the pipelines' requests.
func RequestRules() []RequestRule {
	both := []RequestKind{TrainingRequest, InferenceRequest}
	return []RequestRule{
		{
			Name: "ModelName is letters, digits and hyphens, starting and ending with a letter or digit", Field: "ModelName", Kinds: both,
			Break: func(in *WorkflowInput) { in.ModelName = "not a name" },
			check: func(in WorkflowInput) error {
				if in.ModelName != "" && !sageMakerNameChars.MatchString(in.ModelName) {
					return fmt.Errorf("model name %s must be 1-63 letters, digits and hyphens, starting and ending with a letter or digit", quote.Value(in.ModelName))
				}
				return nil
			},
		},
		{
			Name: "ModelName is 1 to 63 characters long", Field: "ModelName", Kinds: both,
			Break: func(in *WorkflowInput) { in.ModelName = strings.Repeat("a-", MaxNameLength/2+1) + "a" },
			check: func(in WorkflowInput) error {
				if n := len(in.ModelName); n == 0 || n > MaxNameLength {
					return fmt.Errorf("model name %s must be 1-63 characters long, not %d", quote.Value(in.ModelName), n)
				}
				return nil
			},
		},
		{
			Name: "DataDate is a real date written YYYY-MM-DD, or absent in a scheduled request (with a DataDateOffset)", Field: "DataDate", Kinds: both,
			Break: func(in *WorkflowInput) { in.DataDate = "2019-02-30" },
			check: func(in WorkflowInput) error {
				if in.DataDate == "" && in.DataDateOffset != "" {
					return nil // a scheduled request: its DataDate is derived (see ResolveDataDate)
				}
				if d, err := time.Parse(dateLayout, in.DataDate); err != nil || d.Format(dateLayout) != in.DataDate {
					return fmt.Errorf("data date %s must be a real date written YYYY-MM-DD", quote.Value(in.DataDate))
				}
				return nil
			},
		},
		// The scheduled-request rules come before the pipeline-specific fields, so that RequestFields ends with
		// a field of one pipeline only (parity's strict scenarios name the other pipeline's last field).
		{
			Name: "DataDateOffset is a whole number of days from -366d to +366d, e.g. -1d, or absent", Field: "DataDateOffset", Kinds: both,
			Break: func(in *WorkflowInput) { in.DataDate, in.DataDateOffset = "", "yesterday" },
			check: func(in WorkflowInput) error {
				if in.DataDateOffset == "" {
					return nil
				}
				_, err := ParseDataDateOffset(in.DataDateOffset)
				return err
			},
		},
		{
			Name: "DataDate and DataDateOffset are not both given", Field: "DataDateOffset", Kinds: both,
			Break: func(in *WorkflowInput) { in.DataDateOffset = "-1d" },
			check: func(in WorkflowInput) error {
				if in.DataDate != "" && in.DataDateOffset != "" {
					return fmt.Errorf("data date %s and data date offset %s are both given: a request names its DataDate, or (scheduled) derives it from the schedule's time plus DataDateOffset",
						quote.Value(in.DataDate), quote.Value(in.DataDateOffset))
				}
				return nil
			},
		},
		{
			Name: "ScheduledTime is an RFC 3339 time, or absent", Field: "ScheduledTime", Kinds: both,
			Break: func(in *WorkflowInput) { in.DataDate, in.DataDateOffset, in.ScheduledTime = "", "0d", "tomorrow" },
			check: func(in WorkflowInput) error {
				if in.ScheduledTime == "" {
					return nil
				}
				_, err := ParseScheduledTime(in.ScheduledTime)
				return err
			},
		},
		{
			Name: "ScheduledTime comes with a DataDateOffset", Field: "ScheduledTime", Kinds: both,
			Break: func(in *WorkflowInput) { in.ScheduledTime = "2019-10-02T02:00:00Z" },
			check: func(in WorkflowInput) error {
				if in.ScheduledTime != "" && in.DataDateOffset == "" {
					return fmt.Errorf("scheduled time %s is given without a data date offset: the DataDate of a scheduled request is its ScheduledTime plus DataDateOffset (e.g. 0d); a request with a DataDate needs no ScheduledTime",
						quote.Value(in.ScheduledTime))
				}
				return nil
			},
		},
		{
			Name: "ApprovalStatus is Approved or PendingManualApproval, or empty for the default", Field: "ApprovalStatus",
			Kinds: []RequestKind{TrainingRequest},
			Break: func(in *WorkflowInput) { in.ApprovalStatus = "Maybe" },
			check: func(in WorkflowInput) error {
				if s := in.ApprovalStatus; s != "" && s != ApprovalApproved && s != ApprovalPending {
					return fmt.Errorf("approval status %s must be Approved or PendingManualApproval", quote.Value(s))
				}
				return nil
			},
		},
		{
			Name: "Threshold is a number in [0, 1], or absent (or null) for the default", Field: "Threshold",
			Kinds: []RequestKind{InferenceRequest},
			Break: func(in *WorkflowInput) { in.Threshold = new(1.5) },
			check: func(in WorkflowInput) error {
				if in.Threshold != nil && !ValidThreshold(*in.Threshold) {
					return fmt.Errorf("threshold %v must be a number in [0, 1]", *in.Threshold)
				}
				return nil
			},
		},
		{
			Name: "Champion, when given, names a model package version, its SageMaker model and its AUC in [0, 1]", Field: "Champion",
			Kinds: []RequestKind{TrainingRequest},
			Break: func(in *WorkflowInput) {
				in.Champion = &Champion{ModelPackageArn: "arn:aws:sagemaker:us-east-1:000000000000:model-package/m/1", ModelPackageVersion: 1, SageMakerModelName: "m", AUC: 1.5}
			},
			check: func(in WorkflowInput) error {
				if in.Champion == nil {
					return nil
				}
				return in.Champion.check()
			},
		},
		{
			Name: "PromotionMargin is a number in [0, 1], or absent (or null) for the default", Field: "PromotionMargin", Kinds: both,
			Break: func(in *WorkflowInput) { in.PromotionMargin = new(-0.1) },
			check: func(in WorkflowInput) error {
				if in.PromotionMargin != nil && !ValidPromotionMargin(*in.PromotionMargin) {
					return fmt.Errorf("promotion margin %v must be a number in [0, 1]: how much the retrained model's AUC must exceed the current model's", *in.PromotionMargin)
				}
				return nil
			},
		},
	}
}

// ValidPromotionMargin reports whether m can be used as a promotion margin: a number in [0, 1].
func ValidPromotionMargin(m float64) bool { return ValidThreshold(m) }

// check reports what is wrong with a champion, every problem joined.
func (c *Champion) check() error {
	var errs []error
	if c.ModelPackageArn == "" {
		errs = append(errs, errors.New("champion needs its ModelPackageArn"))
	}
	if c.ModelPackageVersion < 1 {
		errs = append(errs, fmt.Errorf("champion ModelPackageVersion %d must be 1 or more", c.ModelPackageVersion))
	}
	if n := len(c.SageMakerModelName); n == 0 || n > MaxNameLength || !sageMakerNameChars.MatchString(c.SageMakerModelName) {
		errs = append(errs, fmt.Errorf("champion SageMakerModelName %s must be a SageMaker model name (1-63 letters, digits and hyphens)", quote.Value(c.SageMakerModelName)))
	}
	if !ValidThreshold(c.AUC) {
		errs = append(errs, fmt.Errorf("champion AUC %v must be a number in [0, 1]", c.AUC))
	}
	return errors.Join(errs...)
}

// RequestFields returns the fields a request of kind k may have, as the user writes them in the request's
// JSON: the fields its rules check, in the order of RequestRules. A request with any other key is invalid on
// both engines: the workflows decode their input strictly (package internal/strictjson), and the Initialize
// functions check the execution input the state machines pass them as InitializeEvent.Request.
func RequestFields(k RequestKind) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range RequestRules() {
		if r.AppliesTo(k) && !seen[r.Field] {
			seen[r.Field] = true
			out = append(out, r.Field)
		}
	}
	return out
}

// StartedByExecutionField is the key Step Functions adds to the input of an execution that another one
// starts with the states:startExecution integration (the retrain). It is no request field: the Initialize
// functions pass over it in Request.
const StartedByExecutionField = "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"

// ValidThreshold reports whether t can be used as an AUC threshold: a number in [0, 1].
func ValidThreshold(t float64) bool { return !math.IsNaN(t) && t >= 0 && t <= 1 }

// ValidateRequest reports every rule of kind's requests that in breaks, joined in one error (nil when none).
func ValidateRequest(kind RequestKind, in WorkflowInput) error {
	var errs []error
	for _, r := range RequestRules() {
		if r.AppliesTo(kind) {
			errs = append(errs, r.Check(in))
		}
	}
	return errors.Join(errs...)
}
