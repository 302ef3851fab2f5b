package sagemaker

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// timestamp is a time on the wire of AWS JSON 1.1: epoch seconds as a JSON number (milliseconds kept).
type timestamp struct{ time.Time }

func stamp(t time.Time) *timestamp { return &timestamp{t} }

// MarshalJSON writes epoch seconds.
func (t timestamp) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)), nil
}

// UnmarshalJSON reads epoch seconds, or an RFC 3339 string as some clients send.
func (t *timestamp) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		p, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			if f, ferr := strconv.ParseFloat(s, 64); ferr == nil {
				t.Time = epoch(f)
				return nil
			}
			return fmt.Errorf("timestamp %q: %w", s, err)
		}
		t.Time = p.UTC()
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("timestamp %s: %w", b, err)
	}
	t.Time = epoch(f)
	return nil
}

func epoch(f float64) time.Time {
	return time.UnixMilli(int64(f*1000 + 0.5*sign(f))).UTC()
}

func sign(f float64) float64 {
	if f < 0 {
		return -1
	}
	return 1
}

// rawJSON is a member localaws keeps and echoes without reading it. A JSON null is kept as absent, so that
// an answer never carries a null member a client sent.
type rawJSON []byte

// UnmarshalJSON keeps a copy of b; null is absent.
func (r *rawJSON) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*r = nil
		return nil
	}
	*r = append((*r)[:0], b...)
	return nil
}

// MarshalJSON writes what was kept.
func (r rawJSON) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil // only reached without omitempty
	}
	return r, nil
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// Training jobs.

type metricDefinition struct {
	Name  string `json:"Name"`
	Regex string `json:"Regex"`
}

type algorithmSpecification struct {
	TrainingImage                    string             `json:"TrainingImage,omitempty"`
	AlgorithmName                    string             `json:"AlgorithmName,omitempty"`
	TrainingInputMode                string             `json:"TrainingInputMode,omitempty"`
	MetricDefinitions                []metricDefinition `json:"MetricDefinitions,omitempty"`
	EnableSageMakerMetricsTimeSeries *bool              `json:"EnableSageMakerMetricsTimeSeries,omitempty"`
	ContainerEntrypoint              []string           `json:"ContainerEntrypoint,omitempty"`
	ContainerArguments               []string           `json:"ContainerArguments,omitempty"`
}

type s3DataSource struct {
	S3DataType             string   `json:"S3DataType,omitempty"`
	S3Uri                  string   `json:"S3Uri,omitempty"`
	S3DataDistributionType string   `json:"S3DataDistributionType,omitempty"`
	AttributeNames         []string `json:"AttributeNames,omitempty"`
}

type dataSource struct {
	S3DataSource         *s3DataSource `json:"S3DataSource,omitempty"`
	FileSystemDataSource rawJSON       `json:"FileSystemDataSource,omitempty"`
	DatasetSource        rawJSON       `json:"DatasetSource,omitempty"`
}

type shuffleConfig struct {
	Seed int64 `json:"Seed"`
}

type channel struct {
	ChannelName       string         `json:"ChannelName,omitempty"`
	DataSource        *dataSource    `json:"DataSource,omitempty"`
	ContentType       string         `json:"ContentType,omitempty"`
	CompressionType   string         `json:"CompressionType,omitempty"`
	RecordWrapperType string         `json:"RecordWrapperType,omitempty"`
	InputMode         string         `json:"InputMode,omitempty"`
	ShuffleConfig     *shuffleConfig `json:"ShuffleConfig,omitempty"`
}

type outputDataConfig struct {
	S3OutputPath    string `json:"S3OutputPath,omitempty"`
	KmsKeyId        string `json:"KmsKeyId"` // AWS answers "" when none was given; clients read it unconditionally
	CompressionType string `json:"CompressionType,omitempty"`
}

type resourceConfig struct {
	InstanceType             string `json:"InstanceType,omitempty"`
	InstanceCount            *int64 `json:"InstanceCount,omitempty"`
	VolumeSizeInGB           *int64 `json:"VolumeSizeInGB,omitempty"`
	VolumeKmsKeyId           string `json:"VolumeKmsKeyId,omitempty"`
	KeepAlivePeriodInSeconds *int64 `json:"KeepAlivePeriodInSeconds,omitempty"`
}

type stoppingCondition struct {
	MaxRuntimeInSeconds     *int64 `json:"MaxRuntimeInSeconds,omitempty"`
	MaxWaitTimeInSeconds    *int64 `json:"MaxWaitTimeInSeconds,omitempty"`
	MaxPendingTimeInSeconds *int64 `json:"MaxPendingTimeInSeconds,omitempty"`
}

type modelArtifacts struct {
	S3ModelArtifacts string `json:"S3ModelArtifacts"`
}

type metricData struct {
	MetricName string     `json:"MetricName"`
	Value      float64    `json:"Value"`
	Timestamp  *timestamp `json:"Timestamp,omitempty"`
}

type secondaryStatusTransition struct {
	Status        string     `json:"Status"`
	StartTime     *timestamp `json:"StartTime"`
	EndTime       *timestamp `json:"EndTime,omitempty"`
	StatusMessage string     `json:"StatusMessage,omitempty"`
}

type createTrainingJobInput struct {
	TrainingJobName        string                  `json:"TrainingJobName"`
	AlgorithmSpecification *algorithmSpecification `json:"AlgorithmSpecification"`
	RoleArn                string                  `json:"RoleArn"`
	InputDataConfig        []channel               `json:"InputDataConfig"`
	OutputDataConfig       *outputDataConfig       `json:"OutputDataConfig"`
	ResourceConfig         *resourceConfig         `json:"ResourceConfig"`
	StoppingCondition      *stoppingCondition      `json:"StoppingCondition"`
	HyperParameters        map[string]string       `json:"HyperParameters"`
	Environment            map[string]string       `json:"Environment"`
	EnableNetworkIsolation *bool                   `json:"EnableNetworkIsolation"`
	Tags                   []tag                   `json:"Tags"`
}

// trainingJob is both the stored state of a training job and the DescribeTrainingJob answer.
type trainingJob struct {
	TrainingJobName            string                      `json:"TrainingJobName"`
	TrainingJobArn             string                      `json:"TrainingJobArn"`
	TrainingJobStatus          string                      `json:"TrainingJobStatus"`
	SecondaryStatus            string                      `json:"SecondaryStatus"`
	FailureReason              string                      `json:"FailureReason,omitempty"`
	AlgorithmSpecification     *algorithmSpecification     `json:"AlgorithmSpecification,omitempty"`
	RoleArn                    string                      `json:"RoleArn,omitempty"`
	InputDataConfig            []channel                   `json:"InputDataConfig,omitempty"`
	OutputDataConfig           *outputDataConfig           `json:"OutputDataConfig,omitempty"`
	ResourceConfig             *resourceConfig             `json:"ResourceConfig,omitempty"`
	StoppingCondition          *stoppingCondition          `json:"StoppingCondition,omitempty"`
	HyperParameters            map[string]string           `json:"HyperParameters,omitempty"`
	Environment                map[string]string           `json:"Environment,omitempty"`
	EnableNetworkIsolation     bool                        `json:"EnableNetworkIsolation"`
	ModelArtifacts             *modelArtifacts             `json:"ModelArtifacts,omitempty"`
	FinalMetricDataList        []metricData                `json:"FinalMetricDataList,omitempty"`
	SecondaryStatusTransitions []secondaryStatusTransition `json:"SecondaryStatusTransitions,omitempty"`
	CreationTime               *timestamp                  `json:"CreationTime"`
	TrainingStartTime          *timestamp                  `json:"TrainingStartTime,omitempty"`
	TrainingEndTime            *timestamp                  `json:"TrainingEndTime,omitempty"`
	LastModifiedTime           *timestamp                  `json:"LastModifiedTime,omitempty"`
	TrainingTimeInSeconds      *int64                      `json:"TrainingTimeInSeconds,omitempty"`
	BillableTimeInSeconds      *int64                      `json:"BillableTimeInSeconds,omitempty"`
}

type trainingJobSummary struct {
	TrainingJobName   string     `json:"TrainingJobName"`
	TrainingJobArn    string     `json:"TrainingJobArn"`
	TrainingJobStatus string     `json:"TrainingJobStatus"`
	SecondaryStatus   string     `json:"SecondaryStatus,omitempty"`
	CreationTime      *timestamp `json:"CreationTime"`
	TrainingEndTime   *timestamp `json:"TrainingEndTime,omitempty"`
	LastModifiedTime  *timestamp `json:"LastModifiedTime,omitempty"`
}

type jobNameInput struct {
	TrainingJobName  string `json:"TrainingJobName"`
	TransformJobName string `json:"TransformJobName"`
}

// listInput holds the members every List operation shares, and the filters of some of them.
type listInput struct {
	NameContains           string     `json:"NameContains"`
	StatusEquals           string     `json:"StatusEquals"`
	CreationTimeAfter      *timestamp `json:"CreationTimeAfter"`
	CreationTimeBefore     *timestamp `json:"CreationTimeBefore"`
	LastModifiedTimeAfter  *timestamp `json:"LastModifiedTimeAfter"`
	LastModifiedTimeBefore *timestamp `json:"LastModifiedTimeBefore"`
	SortBy                 string     `json:"SortBy"`
	SortOrder              string     `json:"SortOrder"`
	MaxResults             *int64     `json:"MaxResults"`
	NextToken              string     `json:"NextToken"`
	ModelPackageGroupName  string     `json:"ModelPackageGroupName"`
	ModelApprovalStatus    string     `json:"ModelApprovalStatus"`
	ModelPackageType       string     `json:"ModelPackageType"`
}

// Models.

type containerDefinition struct {
	ContainerHostname string            `json:"ContainerHostname,omitempty"`
	Image             string            `json:"Image,omitempty"`
	ModelDataUrl      string            `json:"ModelDataUrl,omitempty"`
	Environment       map[string]string `json:"Environment,omitempty"`
	Mode              string            `json:"Mode,omitempty"`
	ModelPackageName  string            `json:"ModelPackageName,omitempty"`
}

type createModelInput struct {
	ModelName              string                `json:"ModelName"`
	PrimaryContainer       *containerDefinition  `json:"PrimaryContainer"`
	Containers             []containerDefinition `json:"Containers"`
	ExecutionRoleArn       string                `json:"ExecutionRoleArn"`
	EnableNetworkIsolation *bool                 `json:"EnableNetworkIsolation"`
	Tags                   []tag                 `json:"Tags"`
}

// model is both the stored state of a model and the DescribeModel answer.
type model struct {
	ModelName              string                `json:"ModelName"`
	ModelArn               string                `json:"ModelArn"`
	PrimaryContainer       *containerDefinition  `json:"PrimaryContainer,omitempty"`
	Containers             []containerDefinition `json:"Containers,omitempty"`
	ExecutionRoleArn       string                `json:"ExecutionRoleArn,omitempty"`
	EnableNetworkIsolation bool                  `json:"EnableNetworkIsolation"`
	CreationTime           *timestamp            `json:"CreationTime"`
}

type modelSummary struct {
	ModelName    string     `json:"ModelName"`
	ModelArn     string     `json:"ModelArn"`
	CreationTime *timestamp `json:"CreationTime"`
}

type modelNameInput struct {
	ModelName string `json:"ModelName"`
}

// Transform jobs.

type transformS3DataSource struct {
	S3DataType string `json:"S3DataType,omitempty"`
	S3Uri      string `json:"S3Uri,omitempty"`
}

type transformDataSource struct {
	S3DataSource *transformS3DataSource `json:"S3DataSource,omitempty"`
}

type transformInput struct {
	DataSource      *transformDataSource `json:"DataSource,omitempty"`
	ContentType     string               `json:"ContentType,omitempty"`
	CompressionType string               `json:"CompressionType,omitempty"`
	SplitType       string               `json:"SplitType,omitempty"`
}

type transformOutput struct {
	S3OutputPath string `json:"S3OutputPath,omitempty"`
	Accept       string `json:"Accept,omitempty"`
	AssembleWith string `json:"AssembleWith,omitempty"`
	KmsKeyId     string `json:"KmsKeyId,omitempty"`
}

type transformResources struct {
	InstanceType   string `json:"InstanceType,omitempty"`
	InstanceCount  *int64 `json:"InstanceCount,omitempty"`
	VolumeKmsKeyId string `json:"VolumeKmsKeyId,omitempty"`
}

type createTransformJobInput struct {
	TransformJobName        string              `json:"TransformJobName"`
	ModelName               string              `json:"ModelName"`
	MaxConcurrentTransforms *int64              `json:"MaxConcurrentTransforms"`
	MaxPayloadInMB          *int64              `json:"MaxPayloadInMB"`
	BatchStrategy           string              `json:"BatchStrategy"`
	Environment             map[string]string   `json:"Environment"`
	TransformInput          *transformInput     `json:"TransformInput"`
	TransformOutput         *transformOutput    `json:"TransformOutput"`
	TransformResources      *transformResources `json:"TransformResources"`
	DataProcessing          json.RawMessage     `json:"DataProcessing"`
	Tags                    []tag               `json:"Tags"`
}

// transformJob is both the stored state of a transform job and the DescribeTransformJob answer.
type transformJob struct {
	TransformJobName        string              `json:"TransformJobName"`
	TransformJobArn         string              `json:"TransformJobArn"`
	TransformJobStatus      string              `json:"TransformJobStatus"`
	FailureReason           string              `json:"FailureReason,omitempty"`
	ModelName               string              `json:"ModelName"`
	MaxConcurrentTransforms *int64              `json:"MaxConcurrentTransforms,omitempty"`
	MaxPayloadInMB          *int64              `json:"MaxPayloadInMB,omitempty"`
	BatchStrategy           string              `json:"BatchStrategy,omitempty"`
	Environment             map[string]string   `json:"Environment,omitempty"`
	TransformInput          *transformInput     `json:"TransformInput"`
	TransformOutput         *transformOutput    `json:"TransformOutput,omitempty"`
	TransformResources      *transformResources `json:"TransformResources"`
	CreationTime            *timestamp          `json:"CreationTime"`
	TransformStartTime      *timestamp          `json:"TransformStartTime,omitempty"`
	TransformEndTime        *timestamp          `json:"TransformEndTime,omitempty"`
	LastModifiedTime        *timestamp          `json:"LastModifiedTime,omitempty"`
}

type transformJobSummary struct {
	TransformJobName   string     `json:"TransformJobName"`
	TransformJobArn    string     `json:"TransformJobArn"`
	TransformJobStatus string     `json:"TransformJobStatus"`
	FailureReason      string     `json:"FailureReason,omitempty"`
	CreationTime       *timestamp `json:"CreationTime"`
	TransformEndTime   *timestamp `json:"TransformEndTime,omitempty"`
	LastModifiedTime   *timestamp `json:"LastModifiedTime,omitempty"`
}

// Model registry.

type createModelPackageGroupInput struct {
	ModelPackageGroupName        string `json:"ModelPackageGroupName"`
	ModelPackageGroupDescription string `json:"ModelPackageGroupDescription"`
	Tags                         []tag  `json:"Tags"`
}

// modelPackageGroup is both the stored state of a group and the DescribeModelPackageGroup answer.
type modelPackageGroup struct {
	ModelPackageGroupName        string     `json:"ModelPackageGroupName"`
	ModelPackageGroupArn         string     `json:"ModelPackageGroupArn"`
	ModelPackageGroupDescription string     `json:"ModelPackageGroupDescription,omitempty"`
	ModelPackageGroupStatus      string     `json:"ModelPackageGroupStatus"`
	CreationTime                 *timestamp `json:"CreationTime"`
	CreatedBy                    struct{}   `json:"CreatedBy"`
}

type modelPackageGroupSummary struct {
	ModelPackageGroupName        string     `json:"ModelPackageGroupName"`
	ModelPackageGroupArn         string     `json:"ModelPackageGroupArn"`
	ModelPackageGroupDescription string     `json:"ModelPackageGroupDescription,omitempty"`
	CreationTime                 *timestamp `json:"CreationTime"`
	ModelPackageGroupStatus      string     `json:"ModelPackageGroupStatus"`
}

type modelPackageGroupNameInput struct {
	ModelPackageGroupName string `json:"ModelPackageGroupName"`
}

type modelPackageContainerDefinition struct {
	ContainerHostname string            `json:"ContainerHostname,omitempty"`
	Image             string            `json:"Image,omitempty"`
	ImageDigest       string            `json:"ImageDigest,omitempty"`
	ModelDataUrl      string            `json:"ModelDataUrl,omitempty"`
	ProductId         string            `json:"ProductId,omitempty"`
	Environment       map[string]string `json:"Environment,omitempty"`
	Framework         string            `json:"Framework,omitempty"`
	FrameworkVersion  string            `json:"FrameworkVersion,omitempty"`
	NearestModelName  string            `json:"NearestModelName,omitempty"`
}

type inferenceSpecification struct {
	Containers                              []modelPackageContainerDefinition `json:"Containers"`
	SupportedTransformInstanceTypes         []string                          `json:"SupportedTransformInstanceTypes,omitempty"`
	SupportedRealtimeInferenceInstanceTypes []string                          `json:"SupportedRealtimeInferenceInstanceTypes,omitempty"`
	SupportedContentTypes                   []string                          `json:"SupportedContentTypes,omitempty"`
	SupportedResponseMIMETypes              []string                          `json:"SupportedResponseMIMETypes,omitempty"`
}

// modelMetrics is a model package's ModelMetrics: where its quality, bias and explainability reports are
// (each a metricsSource). Absent members are left out of answers, as AWS does.
type modelMetrics struct {
	ModelQuality     *statisticsAndConstraints `json:"ModelQuality,omitempty"`
	ModelDataQuality *statisticsAndConstraints `json:"ModelDataQuality,omitempty"`
	Bias             *struct {
		Report             *metricsSource `json:"Report,omitempty"`
		PreTrainingReport  *metricsSource `json:"PreTrainingReport,omitempty"`
		PostTrainingReport *metricsSource `json:"PostTrainingReport,omitempty"`
	} `json:"Bias,omitempty"`
	Explainability *struct {
		Report *metricsSource `json:"Report,omitempty"`
	} `json:"Explainability,omitempty"`
}

// statisticsAndConstraints is ModelQuality's and ModelDataQuality's shape.
type statisticsAndConstraints struct {
	Statistics  *metricsSource `json:"Statistics,omitempty"`
	Constraints *metricsSource `json:"Constraints,omitempty"`
}

// metricsSource is one report: its content type, where it is and, optionally, its SHA-256 digest.
type metricsSource struct {
	ContentType   *string `json:"ContentType,omitempty"`
	S3Uri         *string `json:"S3Uri,omitempty"`
	ContentDigest *string `json:"ContentDigest,omitempty"`
}

type createModelPackageInput struct {
	ModelPackageName           string                  `json:"ModelPackageName"`
	ModelPackageGroupName      string                  `json:"ModelPackageGroupName"`
	ModelPackageDescription    string                  `json:"ModelPackageDescription"`
	InferenceSpecification     *inferenceSpecification `json:"InferenceSpecification"`
	ModelApprovalStatus        *string                 `json:"ModelApprovalStatus"`
	CustomerMetadataProperties map[string]string       `json:"CustomerMetadataProperties"`
	MetadataProperties         rawJSON                 `json:"MetadataProperties"`
	ModelMetrics               *modelMetrics           `json:"ModelMetrics"`
	Domain                     string                  `json:"Domain"`
	Task                       string                  `json:"Task"`
	SamplePayloadUrl           string                  `json:"SamplePayloadUrl"`
	CertifyForMarketplace      *bool                   `json:"CertifyForMarketplace"`
	ClientToken                string                  `json:"ClientToken"`
	Tags                       []tag                   `json:"Tags"`
}

type modelPackageStatusDetails struct {
	ValidationStatuses []struct{} `json:"ValidationStatuses"`
	ImageScanStatuses  []struct{} `json:"ImageScanStatuses"`
}

// modelPackage is both the stored state of a (versioned) model package and the DescribeModelPackage answer.
type modelPackage struct {
	ModelPackageName           string                    `json:"ModelPackageName"`
	ModelPackageGroupName      string                    `json:"ModelPackageGroupName"`
	ModelPackageVersion        int64                     `json:"ModelPackageVersion"`
	ModelPackageArn            string                    `json:"ModelPackageArn"`
	ModelPackageDescription    string                    `json:"ModelPackageDescription,omitempty"`
	CreationTime               *timestamp                `json:"CreationTime"`
	LastModifiedTime           *timestamp                `json:"LastModifiedTime,omitempty"`
	InferenceSpecification     *inferenceSpecification   `json:"InferenceSpecification,omitempty"`
	ModelPackageStatus         string                    `json:"ModelPackageStatus"`
	ModelPackageStatusDetails  modelPackageStatusDetails `json:"ModelPackageStatusDetails"`
	CertifyForMarketplace      bool                      `json:"CertifyForMarketplace"`
	ModelApprovalStatus        string                    `json:"ModelApprovalStatus"`
	ApprovalDescription        string                    `json:"ApprovalDescription,omitempty"`
	CustomerMetadataProperties map[string]string         `json:"CustomerMetadataProperties,omitempty"`
	MetadataProperties         rawJSON                   `json:"MetadataProperties,omitempty"`
	ModelMetrics               *modelMetrics             `json:"ModelMetrics,omitempty"`
	Domain                     string                    `json:"Domain,omitempty"`
	Task                       string                    `json:"Task,omitempty"`
	SamplePayloadUrl           string                    `json:"SamplePayloadUrl,omitempty"`
	CreatedBy                  struct{}                  `json:"CreatedBy"`
}

type modelPackageSummary struct {
	ModelPackageName        string     `json:"ModelPackageName"`
	ModelPackageGroupName   string     `json:"ModelPackageGroupName"`
	ModelPackageVersion     int64      `json:"ModelPackageVersion"`
	ModelPackageArn         string     `json:"ModelPackageArn"`
	ModelPackageDescription string     `json:"ModelPackageDescription,omitempty"`
	CreationTime            *timestamp `json:"CreationTime"`
	ModelPackageStatus      string     `json:"ModelPackageStatus"`
	ModelApprovalStatus     string     `json:"ModelApprovalStatus"`
}

type modelPackageNameInput struct {
	ModelPackageName string `json:"ModelPackageName"`
}

type updateModelPackageInput struct {
	ModelPackageArn                    string            `json:"ModelPackageArn"`
	ModelApprovalStatus                *string           `json:"ModelApprovalStatus"`
	ApprovalDescription                *string           `json:"ApprovalDescription"`
	CustomerMetadataProperties         map[string]string `json:"CustomerMetadataProperties"`
	CustomerMetadataPropertiesToRemove []string          `json:"CustomerMetadataPropertiesToRemove"`
}

// Tags.

type tagsInput struct {
	ResourceArn string   `json:"ResourceArn"`
	Tags        []tag    `json:"Tags"`
	TagKeys     []string `json:"TagKeys"`
	MaxResults  *int64   `json:"MaxResults"`
	NextToken   string   `json:"NextToken"`
}
