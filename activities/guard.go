package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

// RetrainCapWindow is the window the retrain cap counts registrations in: a day.
const RetrainCapWindow = 24 * time.Hour

// retrainGuardPage is how many packages one ListModelPackages call of CheckRetrainGuard asks for: the API's
// maximum.
const retrainGuardPage = 100

// Rules of the retrain guard this activity checks (workflows adds the one-at-a-time rule).
const (
	GuardCooldown = "cooldown"
	GuardCap      = "cap"
)

// RetrainGuardInput names the model a batch-inference run wants to retrain.
type RetrainGuardInput struct {
	ModelName string
}

// RetrainGuardOutput is the guard's answer, with the facts it was based on (recorded in the run's history).
type RetrainGuardOutput struct {
	// Suppressed says why the retrain must not run; empty when it may.
	Suppressed string `json:",omitempty"`
	// Rule is the rule that suppressed it: GuardCooldown or GuardCap.
	Rule string `json:",omitempty"`
	// Cooldown and MaxPerDay are the worker's settings the answer used (0: that guard is off).
	Cooldown  time.Duration `json:",omitempty"`
	MaxPerDay int           `json:",omitempty"`
	// Recent counts the versions of the model registered in the 24 hours before Now, up to MaxPerDay (only
	// when the cap is on).
	Recent int `json:",omitempty"`
	// Newest is the creation time of the model's newest version within the window looked at, if any.
	Newest time.Time `json:",omitempty"`
	// Now is the time the guard measured from (the worker's clock).
	Now time.Time
}

// RetrainGuardRequest is the ListModelPackages request of the retrain guard: the group's versions created
// after since, newest first.
func RetrainGuardRequest(group string, since time.Time) *sagemaker.ListModelPackagesInput {
	return &sagemaker.ListModelPackagesInput{
		ModelPackageGroupName: aws.String(group),
		CreationTimeAfter:     aws.Time(since),
		SortBy:                smtypes.ModelPackageSortByCreationTime,
		SortOrder:             smtypes.SortOrderDescending,
		MaxResults:            aws.Int32(retrainGuardPage),
	}
}

// CheckRetrainGuard says whether the model may be retrained now, from the facts in the Model Registry: a
// retrain is suppressed when a version of the model was registered within Config.RetrainCooldown, or when
// Config.MaxRetrainsPerDay versions were registered in the last 24 hours. Every version counts, whether a
// retrain or a training run started by hand registered it: a model trained minutes ago is as fresh as one
// retrained minutes ago. The registry is shared by every worker and both engines and survives restarts, so
// the guard holds across them. With both settings 0 it allows without calling SageMaker.
func (a *Activities) CheckRetrainGuard(ctx context.Context, in RetrainGuardInput) (RetrainGuardOutput, error) {
	defer a.keepAlive(ctx)()
	out := RetrainGuardOutput{Cooldown: a.cfg.RetrainCooldown, MaxPerDay: a.cfg.MaxRetrainsPerDay, Now: a.now().UTC()}
	if out.Cooldown <= 0 && out.MaxPerDay <= 0 {
		return out, nil
	}
	window := out.Cooldown
	if out.MaxPerDay > 0 {
		window = max(window, RetrainCapWindow)
	}
	since := out.Now.Add(-window)
	pages := sagemaker.NewListModelPackagesPaginator(a.sm, RetrainGuardRequest(in.ModelName, since))
	for pages.HasMorePages() && (out.MaxPerDay <= 0 || out.Recent < out.MaxPerDay) {
		list, err := pages.NextPage(ctx)
		if err != nil {
			if isAWSCode(err, "ValidationException", "ResourceNotFound") {
				break // no group: nothing was registered, nothing to guard against
			}
			return out, awsError(fmt.Sprintf("list recent model packages of %q", in.ModelName), err)
		}
		for _, p := range list.ModelPackageSummaryList {
			created := aws.ToTime(p.CreationTime)
			if !created.After(since) {
				continue
			}
			if created.After(out.Newest) {
				out.Newest = created
			}
			if created.After(out.Now.Add(-RetrainCapWindow)) {
				out.Recent++
			}
		}
		if out.MaxPerDay <= 0 {
			break // the cooldown needs only the newest version, first in the first page
		}
	}
	out.Rule, out.Suppressed = out.suppression(in.ModelName)
	return out, nil
}

// suppression is the rule that forbids a retrain of model given the facts in o, and why; empty when none.
func (o RetrainGuardOutput) suppression(model string) (rule, why string) {
	if o.Cooldown > 0 && !o.Newest.IsZero() && o.Now.Sub(o.Newest) < o.Cooldown {
		return GuardCooldown, fmt.Sprintf("a version of %s was registered %s ago, within the retrain cooldown of %s (--retrain-cooldown)",
			model, o.Now.Sub(o.Newest).Truncate(time.Second), o.Cooldown)
	}
	if o.MaxPerDay > 0 && o.Recent >= o.MaxPerDay {
		return GuardCap, fmt.Sprintf("%d versions of %s were registered in the last 24h, the cap is %d (--max-retrains-per-day)",
			o.Recent, model, o.MaxPerDay)
	}
	return "", ""
}
