package activities

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/mdlc/mdlc/lambdas/contract"
)

// Customer-metadata keys of the model packages this project registers. SageMakerModelName is what batch
// inference needs to run a transform with the package's model.
const (
	MetaSageMakerModelName = "SageMakerModelName"
	MetaTrainingJobName    = "TrainingJobName"
	MetaDataDate           = "DataDate"
	MetaRunKey             = "RunKey"
	// MetaAUC, MetaChampionAUC and MetaDecision record the evaluation of a version registered against a
	// champion: its AUC and the champion's on DataDate's holdout data, and contract.DecisionPromoted or
	// DecisionRejected.
	MetaAUC         = "AUC"
	MetaChampionAUC = "ChampionAUC"
	MetaDecision    = "Decision"
)

// EvaluationContentType is the content type of the evaluation JSON the model package's ModelMetrics names.
const EvaluationContentType = "application/json"

// CreateModelInput is the SageMaker model to create for a finished training job.
type CreateModelInput struct {
	// ModelName is the SageMaker model name: the training job's name, as in the original pipeline.
	ModelName    string
	ModelDataURL string
	RunKey       string
}

// CreateModelOutput is the created (or already existing) model.
type CreateModelOutput struct {
	ModelName string
	ModelArn  string
}

// CreateModel creates the SageMaker model. A retry that finds the model already created with the same
// artifacts returns it; a model of that name with other artifacts is an error.
func (a *Activities) CreateModel(ctx context.Context, in CreateModelInput) (CreateModelOutput, error) {
	defer a.keepAlive(ctx)()
	out, err := a.sm.CreateModel(ctx, ModelRequest(a.cfg, in.ModelName, in.ModelDataURL, in.RunKey))
	if err == nil {
		return CreateModelOutput{ModelName: in.ModelName, ModelArn: aws.ToString(out.ModelArn)}, nil
	}
	if !isModelExists(err) {
		return CreateModelOutput{}, awsError(fmt.Sprintf("create model %q", in.ModelName), err)
	}
	desc, derr := a.sm.DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: aws.String(in.ModelName)})
	if derr != nil {
		return CreateModelOutput{}, awsError(fmt.Sprintf("describe existing model %q", in.ModelName), derr)
	}
	if desc.PrimaryContainer == nil || aws.ToString(desc.PrimaryContainer.ModelDataUrl) != in.ModelDataURL {
		return CreateModelOutput{}, nonRetryable(ErrJobNameConflict,
			"model %q already exists with other artifacts than %q", in.ModelName, in.ModelDataURL)
	}
	return CreateModelOutput{ModelName: in.ModelName, ModelArn: aws.ToString(desc.ModelArn)}, nil
}

// isModelExists reports whether err says the model already exists. SageMaker answers CreateModel for a taken
// name with a ValidationException ("Cannot create already existing model"); localaws may say ResourceInUse.
func isModelExists(err error) bool {
	return isAWSCode(err, "ResourceInUse", "ValidationException") && strings.Contains(err.Error(), "already exist")
}

// RegisterModelInput is a trained model to register in the Model Registry.
type RegisterModelInput struct {
	// Group is the model package group: the pipeline's ModelName.
	Group              string
	SageMakerModelName string
	ModelDataURL       string
	TrainingJobName    string
	DataDate           string
	// ApprovalStatus of the new package: Approved or PendingManualApproval, or Rejected after an evaluation
	// that did not promote it.
	ApprovalStatus string
	RunKey         string
	// Evaluation is the version's evaluation against a champion, when it had one: its evidence goes into the
	// package's ModelMetrics, customer metadata and ApprovalDescription.
	Evaluation *contract.Evaluation `json:",omitempty"`
}

// RegisterModelOutput is the registered model package.
type RegisterModelOutput struct {
	ModelPackageArn     string
	ModelPackageVersion int32
	ApprovalStatus      string
}

// registryScan bounds how many of a group's newest packages a retry looks through for the one it created.
const registryScan = 20

// RegisterModel registers the model as a new version in the model package group named after the pipeline's
// ModelName, creating the group when missing. A retry that finds the package it created (by training job name)
// returns it instead of registering a second version.
func (a *Activities) RegisterModel(ctx context.Context, in RegisterModelInput) (RegisterModelOutput, error) {
	defer a.keepAlive(ctx)()
	if err := a.ensureGroup(ctx, in.Group); err != nil {
		return RegisterModelOutput{}, err
	}
	found, ok, err := a.findPackage(ctx, in.Group, in.TrainingJobName)
	if err != nil {
		return found, err
	}
	if ok {
		// An earlier attempt created the package; it may have failed before describing its approval.
		return found, a.describeApproval(ctx, found.ModelPackageArn, in.Evaluation)
	}
	out, err := a.sm.CreateModelPackage(ctx, ModelPackageRequest(a.cfg, in,
		fmt.Sprintf("%s trained on %s by training job %s", in.Group, in.DataDate, in.TrainingJobName)))
	if err != nil {
		return RegisterModelOutput{}, awsError(fmt.Sprintf("create model package in group %q", in.Group), err)
	}
	arn := aws.ToString(out.ModelPackageArn)
	if err := a.describeApproval(ctx, arn, in.Evaluation); err != nil {
		return RegisterModelOutput{}, err
	}
	desc, err := a.sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String(arn)})
	if err != nil {
		return RegisterModelOutput{}, awsError(fmt.Sprintf("describe model package %q", arn), err)
	}
	return RegisterModelOutput{
		ModelPackageArn:     arn,
		ModelPackageVersion: aws.ToInt32(desc.ModelPackageVersion),
		ApprovalStatus:      string(desc.ModelApprovalStatus),
	}, nil
}

// describeApproval records why an evaluated version got its approval status in its ApprovalDescription
// (CreateModelPackage has no such field): both AUCs and the rule. Nothing for a version without evaluation.
func (a *Activities) describeApproval(ctx context.Context, arn string, e *contract.Evaluation) error {
	if e == nil {
		return nil
	}
	if _, err := a.sm.UpdateModelPackage(ctx, ApprovalDescriptionRequest(arn, e.Reason)); err != nil {
		return awsError(fmt.Sprintf("describe the approval of model package %q", arn), err)
	}
	return nil
}

// ApprovalDescriptionRequest is the UpdateModelPackage request that sets the ApprovalDescription of the
// package arn to reason, leaving its status as registered.
func ApprovalDescriptionRequest(arn, reason string) *sagemaker.UpdateModelPackageInput {
	return &sagemaker.UpdateModelPackageInput{ModelPackageArn: aws.String(arn), ApprovalDescription: aws.String(reason)}
}

// ModelPackageRequest is the CreateModelPackage request that registers in as a new version of its group: the
// model's artifacts served by the training image, the metadata Find Model and operators rely on and, for an
// evaluated version, its evaluation: ModelMetrics.ModelQuality.Statistics names the evaluation JSON, and the
// metadata holds both AUCs and the decision.
func ModelPackageRequest(cfg Config, in RegisterModelInput, description string) *sagemaker.CreateModelPackageInput {
	req := modelPackageRequest(cfg, in, description)
	if e := in.Evaluation; e != nil {
		req.ModelMetrics = &smtypes.ModelMetrics{ModelQuality: &smtypes.ModelQuality{Statistics: &smtypes.MetricsSource{
			ContentType: aws.String(EvaluationContentType), S3Uri: aws.String(e.S3Uri),
		}}}
		req.CustomerMetadataProperties[MetaAUC] = e.ChallengerAUCText
		req.CustomerMetadataProperties[MetaChampionAUC] = e.ChampionAUCText
		req.CustomerMetadataProperties[MetaDecision] = e.Decision
	}
	return req
}

func modelPackageRequest(cfg Config, in RegisterModelInput, description string) *sagemaker.CreateModelPackageInput {
	return &sagemaker.CreateModelPackageInput{
		ModelPackageGroupName:   aws.String(in.Group),
		ModelPackageDescription: aws.String(description),
		ModelApprovalStatus:     smtypes.ModelApprovalStatus(in.ApprovalStatus),
		InferenceSpecification: &smtypes.InferenceSpecification{
			Containers: []smtypes.ModelPackageContainerDefinition{{
				Image:        aws.String(cfg.TrainingImage),
				ModelDataUrl: aws.String(in.ModelDataURL),
			}},
			SupportedContentTypes:           []string{"text/csv"},
			SupportedResponseMIMETypes:      []string{"text/csv"},
			SupportedTransformInstanceTypes: []smtypes.TransformInstanceType{smtypes.TransformInstanceType(cfg.TransformInstanceType)},
		},
		CustomerMetadataProperties: map[string]string{
			MetaSageMakerModelName: in.SageMakerModelName,
			MetaTrainingJobName:    in.TrainingJobName,
			MetaDataDate:           in.DataDate,
			MetaRunKey:             in.RunKey,
		},
	}
}

func (a *Activities) ensureGroup(ctx context.Context, group string) error {
	_, err := a.sm.DescribeModelPackageGroup(ctx, &sagemaker.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String(group)})
	if err == nil {
		return nil
	}
	if !isAWSCode(err, "ValidationException", "ResourceNotFound") {
		return awsError(fmt.Sprintf("describe model package group %q", group), err)
	}
	_, err = a.sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{
		ModelPackageGroupName:        aws.String(group),
		ModelPackageGroupDescription: aws.String(fmt.Sprintf("Models of the %s pipeline, registered by mdlc", group)),
	})
	if err != nil && !strings.Contains(err.Error(), "already exist") {
		return awsError(fmt.Sprintf("create model package group %q", group), err)
	}
	return nil
}

// findPackage looks through the group's newest packages for the one registered for trainingJob.
func (a *Activities) findPackage(ctx context.Context, group, trainingJob string) (RegisterModelOutput, bool, error) {
	list, err := a.sm.ListModelPackages(ctx, &sagemaker.ListModelPackagesInput{
		ModelPackageGroupName: aws.String(group),
		SortBy:                smtypes.ModelPackageSortByCreationTime,
		SortOrder:             smtypes.SortOrderDescending,
		MaxResults:            aws.Int32(registryScan),
	})
	if err != nil {
		return RegisterModelOutput{}, false, awsError(fmt.Sprintf("list model packages of group %q", group), err)
	}
	for _, p := range list.ModelPackageSummaryList {
		desc, err := a.sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: p.ModelPackageArn})
		if err != nil {
			return RegisterModelOutput{}, false, awsError(fmt.Sprintf("describe model package %q", aws.ToString(p.ModelPackageArn)), err)
		}
		if desc.CustomerMetadataProperties[MetaTrainingJobName] == trainingJob {
			return RegisterModelOutput{
				ModelPackageArn:     aws.ToString(desc.ModelPackageArn),
				ModelPackageVersion: aws.ToInt32(desc.ModelPackageVersion),
				ApprovalStatus:      string(desc.ModelApprovalStatus),
			}, true, nil
		}
	}
	return RegisterModelOutput{}, false, nil
}

// FindModelInput names the pipeline whose newest approved model is wanted.
type FindModelInput struct {
	ModelName string
}

// FindModelOutput is the newest Approved model package of the group and the SageMaker model it stands for.
type FindModelOutput struct {
	ModelPackageArn     string
	ModelPackageVersion int32
	SageMakerModelName  string
	ModelDataURL        string
	DataDate            string
}

// maxFindModelPage is the most packages one ListModelPackages call can return: Find Model's page by default.
const maxFindModelPage = 100

// FindModelRequest is the ListModelPackages request Find Model pages through: the group's Approved packages,
// pageSize a page (Config.FindModelPageSize). The order does not matter: Find Model compares versions.
func FindModelRequest(group string, pageSize int32) *sagemaker.ListModelPackagesInput {
	return &sagemaker.ListModelPackagesInput{
		ModelPackageGroupName: aws.String(group),
		ModelApprovalStatus:   smtypes.ModelApprovalStatusApproved,
		MaxResults:            aws.Int32(pageSize),
	}
}

// FindModel returns the newest Approved model package of the group named ModelName: the Approved package with
// the highest ModelPackageVersion. Versions are numbered in registration order, while creation times can be
// equal (concurrent registrations; the API's resolution is coarse), so FindModel looks at every Approved
// package rather than trusting a sort by CreationTime. None is a non-retryable ModelNotFound error.
func (a *Activities) FindModel(ctx context.Context, in FindModelInput) (FindModelOutput, error) {
	defer a.keepAlive(ctx)()
	var best *smtypes.ModelPackageSummary
	pages := sagemaker.NewListModelPackagesPaginator(a.sm, FindModelRequest(in.ModelName, a.cfg.FindModelPageSize))
	for pages.HasMorePages() {
		list, err := pages.NextPage(ctx)
		if err != nil {
			if isAWSCode(err, "ValidationException", "ResourceNotFound") {
				return FindModelOutput{}, nonRetryable(ErrModelNotFound, "no model package group %q: train the model first (%v)", in.ModelName, err)
			}
			return FindModelOutput{}, awsError(fmt.Sprintf("list approved model packages of %q", in.ModelName), err)
		}
		for i, p := range list.ModelPackageSummaryList {
			if best == nil || aws.ToInt32(p.ModelPackageVersion) > aws.ToInt32(best.ModelPackageVersion) {
				best = &list.ModelPackageSummaryList[i]
			}
		}
	}
	if best == nil {
		return FindModelOutput{}, nonRetryable(ErrModelNotFound,
			"unable to find model: no Approved model package in group %q; train the model first or approve a version", in.ModelName)
	}
	arn := best.ModelPackageArn
	desc, err := a.sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: arn})
	if err != nil {
		return FindModelOutput{}, awsError(fmt.Sprintf("describe model package %q", aws.ToString(arn)), err)
	}
	model := desc.CustomerMetadataProperties[MetaSageMakerModelName]
	if model == "" {
		return FindModelOutput{}, nonRetryable(ErrModelNotFound,
			"model package %q has no %s metadata: it was not registered by mdlc", aws.ToString(arn), MetaSageMakerModelName)
	}
	out := FindModelOutput{
		ModelPackageArn:     aws.ToString(desc.ModelPackageArn),
		ModelPackageVersion: aws.ToInt32(desc.ModelPackageVersion),
		SageMakerModelName:  model,
		DataDate:            desc.CustomerMetadataProperties[MetaDataDate],
	}
	if spec := desc.InferenceSpecification; spec != nil && len(spec.Containers) > 0 {
		out.ModelDataURL = aws.ToString(spec.Containers[0].ModelDataUrl)
	}
	return out, nil
}
