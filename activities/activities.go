// Package activities holds the Temporal activities of the mdlc pipelines: invoking the pipelines' Lambda
// functions, running SageMaker training and batch-transform jobs (created or attached, then waited on inside a
// heartbeating activity), creating models and keeping the SageMaker Model Registry.
//
// Every AWS call goes through aws-sdk-go-v2 clients, so the same code targets AWS or localaws; only the
// endpoint differs. Activities are methods on Activities; workflows refer to them through a nil pointer.
package activities

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"go.temporal.io/sdk/activity"
)

// SageMakerAPI is the part of the SageMaker client the activities call.
type SageMakerAPI interface {
	CreateTrainingJob(ctx context.Context, in *sagemaker.CreateTrainingJobInput, optFns ...func(*sagemaker.Options)) (*sagemaker.CreateTrainingJobOutput, error)
	DescribeTrainingJob(ctx context.Context, in *sagemaker.DescribeTrainingJobInput, optFns ...func(*sagemaker.Options)) (*sagemaker.DescribeTrainingJobOutput, error)
	StopTrainingJob(ctx context.Context, in *sagemaker.StopTrainingJobInput, optFns ...func(*sagemaker.Options)) (*sagemaker.StopTrainingJobOutput, error)
	CreateTransformJob(ctx context.Context, in *sagemaker.CreateTransformJobInput, optFns ...func(*sagemaker.Options)) (*sagemaker.CreateTransformJobOutput, error)
	DescribeTransformJob(ctx context.Context, in *sagemaker.DescribeTransformJobInput, optFns ...func(*sagemaker.Options)) (*sagemaker.DescribeTransformJobOutput, error)
	StopTransformJob(ctx context.Context, in *sagemaker.StopTransformJobInput, optFns ...func(*sagemaker.Options)) (*sagemaker.StopTransformJobOutput, error)
	CreateModel(ctx context.Context, in *sagemaker.CreateModelInput, optFns ...func(*sagemaker.Options)) (*sagemaker.CreateModelOutput, error)
	DescribeModel(ctx context.Context, in *sagemaker.DescribeModelInput, optFns ...func(*sagemaker.Options)) (*sagemaker.DescribeModelOutput, error)
	CreateModelPackageGroup(ctx context.Context, in *sagemaker.CreateModelPackageGroupInput, optFns ...func(*sagemaker.Options)) (*sagemaker.CreateModelPackageGroupOutput, error)
	DescribeModelPackageGroup(ctx context.Context, in *sagemaker.DescribeModelPackageGroupInput, optFns ...func(*sagemaker.Options)) (*sagemaker.DescribeModelPackageGroupOutput, error)
	CreateModelPackage(ctx context.Context, in *sagemaker.CreateModelPackageInput, optFns ...func(*sagemaker.Options)) (*sagemaker.CreateModelPackageOutput, error)
	DescribeModelPackage(ctx context.Context, in *sagemaker.DescribeModelPackageInput, optFns ...func(*sagemaker.Options)) (*sagemaker.DescribeModelPackageOutput, error)
	UpdateModelPackage(ctx context.Context, in *sagemaker.UpdateModelPackageInput, optFns ...func(*sagemaker.Options)) (*sagemaker.UpdateModelPackageOutput, error)
	ListModelPackages(ctx context.Context, in *sagemaker.ListModelPackagesInput, optFns ...func(*sagemaker.Options)) (*sagemaker.ListModelPackagesOutput, error)
	ListTags(ctx context.Context, in *sagemaker.ListTagsInput, optFns ...func(*sagemaker.Options)) (*sagemaker.ListTagsOutput, error)
}

// LambdaAPI is the part of the Lambda client the activities call.
type LambdaAPI interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// Activities are the pipelines' activities. Build one per worker process with New.
type Activities struct {
	sm     SageMakerAPI
	lambda LambdaAPI
	cfg    Config
	http   *http.Client
	// now is the clock of the activities that measure time themselves (the retrain guard); time.Now but in
	// tests.
	now func() time.Time
}

// New returns the activities for cfg, calling SageMaker and Lambda through sm and lm.
func New(sm SageMakerAPI, lm LambdaAPI, cfg Config) (*Activities, error) {
	if sm == nil || lm == nil {
		return nil, errors.New("activities: SageMaker and Lambda clients are required")
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Activities{sm: sm, lambda: lm, cfg: cfg, http: newNotifyClient(), now: time.Now}, nil
}

// DefaultsInput asks for the worker's pipeline defaults.
type DefaultsInput struct{}

// DefaultsOutput are the worker's pipeline defaults, recorded in the workflow history so that replays see the
// values the run used even if the worker's configuration changes later.
type DefaultsOutput struct {
	// Threshold is the AUC below which batch inference retrains, when the request names none.
	Threshold float64
	// ApprovalStatus is the status new model packages get, when the request names none.
	ApprovalStatus string
	// ApprovalTimeout is Config.ApprovalTimeout: how long a run waits for a decision on a Pending version.
	// Zero in histories recorded before runs waited.
	ApprovalTimeout time.Duration `json:",omitempty"`
	// Attributes are Config.SearchAttributes: the workflows' custom search attributes registered on the
	// worker's namespace, which a run may set (upserting one the namespace lacks fails the run's workflow
	// tasks). Never omitted: an empty list says none is registered, an absent one a run recorded before it.
	Attributes []string
	// SearchAttributes and DecisionAttribute are what runs recorded before Attributes existed hold instead:
	// ModelName and DataDate registered, Decision registered.
	SearchAttributes  bool `json:",omitempty"`
	DecisionAttribute bool `json:",omitempty"`
	// Notify says that the worker sends a notification when a run ends (Config.NotifyURL is set). The URL
	// itself stays on the worker.
	Notify bool `json:",omitempty"`
	// PromotionMargin is how much a retrained model's AUC must exceed its champion's, when the request names
	// none (Config.PromotionMargin).
	PromotionMargin float64 `json:",omitempty"`
}

// Registered reports whether the search attribute name may be set by the run (see Attributes).
func (d DefaultsOutput) Registered(name string) bool {
	if d.Attributes != nil {
		return slices.Contains(d.Attributes, name)
	}
	switch name {
	case "ModelName", "DataDate":
		return d.SearchAttributes
	case "Decision":
		return d.DecisionAttribute
	}
	return false
}

// Defaults returns the worker's pipeline defaults.
func (a *Activities) Defaults(ctx context.Context, _ DefaultsInput) (DefaultsOutput, error) {
	return DefaultsOutput{Threshold: a.cfg.DefaultThreshold, ApprovalStatus: a.cfg.ApprovalStatus, ApprovalTimeout: a.cfg.ApprovalTimeout,
		Attributes: registeredOrNone(a.cfg.SearchAttributes), Notify: a.cfg.NotifyURL != "", PromotionMargin: a.cfg.PromotionMargin}, nil
}

// registeredOrNone is names, or an empty (not nil) list when there are none, so that Registered does not read
// the run as one recorded before Attributes.
func registeredOrNone(names []string) []string {
	if names == nil {
		return []string{}
	}
	return names
}

// keepAlive heartbeats every HeartbeatInterval until the returned stop is called. The short activities (a
// Lambda invocation, a registry call) use it so that a worker that dies during the call is noticed within
// the heartbeat timeout rather than the activity's StartToClose timeout. Run as a local activity (as the
// workflows run them now), they have no heartbeat: the workflow task's timeout notices a dead worker.
func (a *Activities) keepAlive(ctx context.Context) (stop func()) {
	if activity.GetInfo(ctx).IsLocalActivity {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(a.cfg.HeartbeatInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}

// poll returns how long to wait before Describe call number n+1 (n counts from 0): the first calls come
// faster — 1/8, 1/4, 1/2 of the interval — so that a short job is noticed soon after it ends, then every
// PollInterval; each with ±PollJitter. Against AWS (30 s) that costs three extra calls per job.
func (c Config) poll(n int, rand func() float64) time.Duration {
	d := c.PollInterval
	if n < 3 {
		d >>= 3 - n
	}
	j := 1 + c.PollJitter*(2*rand()-1)
	return time.Duration(float64(d) * j)
}
