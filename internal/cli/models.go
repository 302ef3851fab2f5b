package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/quote"
)

// RegistryAPI is the part of the SageMaker client `models` calls.
type RegistryAPI interface {
	DescribeModelPackageGroup(ctx context.Context, in *sagemaker.DescribeModelPackageGroupInput, optFns ...func(*sagemaker.Options)) (*sagemaker.DescribeModelPackageGroupOutput, error)
	ListModelPackages(ctx context.Context, in *sagemaker.ListModelPackagesInput, optFns ...func(*sagemaker.Options)) (*sagemaker.ListModelPackagesOutput, error)
	DescribeModelPackage(ctx context.Context, in *sagemaker.DescribeModelPackageInput, optFns ...func(*sagemaker.Options)) (*sagemaker.DescribeModelPackageOutput, error)
}

func modelsCommand() *command {
	return &command{
		name:    "models",
		args:    "--model NAME [flags]",
		summary: "list a model's registered versions (SageMaker Model Registry)",
		help: `Lists the versions registered in the SageMaker model package group of a model, oldest first: version,
approval status, creation time, data date, for a version registered by a retrain its AUC and its champion's
on the data date's holdout data, training job, SageMaker model, and who decided the status and why: the
champion/challenger evaluation ("promoted: challenger AUC 0.9612 >= champion AUC 0.7228 (version 1) + margin 0
on 2019-11-01") or a person (starter approve/reject). Batch inference uses the newest Approved version.`,
		examples: []string{
			"starter models --model churn",
			"starter models --model churn -o json",
			"starter models --model churn --target aws --region eu-west-1",
		},
		setup: func(fs *flag.FlagSet, e *env) action {
			af, out := addAWSFlags(fs, e), addOutputFlag(fs)
			model := fs.String("model", "", "model `NAME`: the model package group (required)")
			checkModel := func() error {
				if *model == "" {
					return usagef("--model is required, e.g. --model churn")
				}
				return validateModelName(*model)
			}
			return awsAction(af, out, func(ctx context.Context, e *env, cfg aws.Config, _ []string) error {
				versions, err := listVersions(ctx, sagemaker.NewFromConfig(cfg), af, *model)
				if err != nil {
					return err
				}
				if out.json() {
					return writeJSON(e.stdout, versions)
				}
				if len(versions) == 0 {
					fmt.Fprintf(e.stderr, "model package group %q has no versions yet\n", *model)
					return nil
				}
				fmt.Fprint(e.stdout, formatVersions(versions))
				return nil
			}, checkModel)
		},
	}
}

// isNoGroup says whether err is SageMaker's answer for a model package group that does not exist.
func isNoGroup(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && (api.ErrorCode() == "ValidationException" || api.ErrorCode() == "ResourceNotFound")
}

// ModelVersion is one registered version of a model.
type ModelVersion struct {
	Version            int32
	ApprovalStatus     string
	CreationTime       time.Time
	ModelPackageArn    string
	SageMakerModelName string
	TrainingJobName    string
	DataDate           string
	// ApprovalDescription says who decided the status and why: the champion/challenger evaluation (both
	// AUCs and the rule) or a person (starter approve/reject).
	ApprovalDescription string `json:",omitempty"`
	// AUC and ChampionAUC are the version's AUC and its champion's on DataDate's holdout data, and Decision
	// the evaluation's (Promoted or Rejected), for a version registered by a retrain (empty otherwise).
	AUC         string `json:",omitempty"`
	ChampionAUC string `json:",omitempty"`
	Decision    string `json:",omitempty"`
}

// listVersions returns the versions of the model package group model, oldest first.
func listVersions(ctx context.Context, sm RegistryAPI, af *awsFlags, model string) ([]ModelVersion, error) {
	_, err := sm.DescribeModelPackageGroup(ctx, &sagemaker.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String(model)})
	if err != nil {
		if isNoGroup(err) {
			return nil, fmt.Errorf("no model package group %q: no version of that model was registered; train it first: starter train --model %s --data-date YYYY-MM-DD", model, model)
		}
		return nil, explainAWS(err, af, fmt.Sprintf("describe model package group %q", model))
	}
	var versions []ModelVersion
	in := &sagemaker.ListModelPackagesInput{
		ModelPackageGroupName: aws.String(model),
		SortBy:                smtypes.ModelPackageSortByCreationTime,
		SortOrder:             smtypes.SortOrderAscending,
		MaxResults:            aws.Int32(100),
	}
	for {
		page, err := sm.ListModelPackages(ctx, in)
		if err != nil {
			return nil, explainAWS(err, af, fmt.Sprintf("list model packages of %q", model))
		}
		for _, p := range page.ModelPackageSummaryList {
			d, err := sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: p.ModelPackageArn})
			if err != nil {
				return nil, explainAWS(err, af, fmt.Sprintf("describe model package %q", aws.ToString(p.ModelPackageArn)))
			}
			versions = append(versions, ModelVersion{
				Version:             aws.ToInt32(d.ModelPackageVersion),
				ApprovalStatus:      string(d.ModelApprovalStatus),
				CreationTime:        aws.ToTime(d.CreationTime),
				ModelPackageArn:     aws.ToString(d.ModelPackageArn),
				SageMakerModelName:  d.CustomerMetadataProperties[activities.MetaSageMakerModelName],
				TrainingJobName:     d.CustomerMetadataProperties[activities.MetaTrainingJobName],
				DataDate:            d.CustomerMetadataProperties[activities.MetaDataDate],
				ApprovalDescription: aws.ToString(d.ApprovalDescription),
				AUC:                 d.CustomerMetadataProperties[activities.MetaAUC],
				ChampionAUC:         d.CustomerMetadataProperties[activities.MetaChampionAUC],
				Decision:            d.CustomerMetadataProperties[activities.MetaDecision],
			})
		}
		if page.NextToken == nil || aws.ToString(page.NextToken) == "" {
			return versions, nil
		}
		in.NextToken = page.NextToken
	}
}

// formatVersions renders versions as a table.
func formatVersions(versions []ModelVersion) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSTATUS\tCREATED\tDATA DATE\tAUC\tCHAMPION AUC\tTRAINING JOB\tSAGEMAKER MODEL\tDECIDED")
	for _, v := range versions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", strconv.Itoa(int(v.Version)), v.ApprovalStatus,
			v.CreationTime.Local().Format(time.DateTime), dash(v.DataDate), dash(shortAUC(v.AUC)), dash(shortAUC(v.ChampionAUC)),
			dash(v.TrainingJobName), dash(v.SageMakerModelName), dash(quote.Prefix(v.ApprovalDescription, 120)))
	}
	_ = tw.Flush() // writes to a strings.Builder cannot fail
	return b.String()
}

// shortAUC renders an AUC the registry records in full (contract.FormatAUC) to four decimals, as the other
// commands show AUCs; what is not a number is shown as recorded.
func shortAUC(v string) string {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return v
	}
	return strconv.FormatFloat(f, 'f', 4, 64)
}
