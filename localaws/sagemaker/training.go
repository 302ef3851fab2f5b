package sagemaker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mdlc/mdlc/localaws/algorithm"
	"github.com/mdlc/mdlc/localaws/awserr"
	"github.com/mdlc/mdlc/localaws/logs"
)

// Secondary statuses of training jobs.
const (
	secondaryStarting           = "Starting"
	secondaryDownloading        = "Downloading"
	secondaryTraining           = "Training"
	secondaryUploading          = "Uploading"
	secondaryMaxRuntimeExceeded = "MaxRuntimeExceeded"
)

// Limits on StoppingCondition.MaxRuntimeInSeconds: AWS's default (one day) and maximum (28 days).
const (
	defaultMaxRuntime = 86400
	maxMaxRuntime     = 28 * 86400
)

// transition ends the current secondary status and starts the next one.
func (j *trainingJob) transition(status, message string, now time.Time) {
	if n := len(j.SecondaryStatusTransitions); n > 0 && j.SecondaryStatusTransitions[n-1].EndTime == nil {
		j.SecondaryStatusTransitions[n-1].EndTime = stamp(now)
	}
	t := secondaryStatusTransition{Status: status, StartTime: stamp(now), StatusMessage: message}
	switch status {
	case statusCompleted, statusFailed, statusStopped, secondaryMaxRuntimeExceeded:
		t.EndTime = stamp(now)
	}
	j.SecondaryStatusTransitions = append(j.SecondaryStatusTransitions, t)
	j.SecondaryStatus = status
	j.LastModifiedTime = stamp(now)
}

// trainingJobs is the kind of training jobs.
var trainingJobs = &jobKind[trainingJob, *trainingJob]{
	dir:    kindTraining,
	member: "trainingJobName",
	noun:   "training job",
	notFound: func(string) error {
		return awserr.New(awserr.SageMakerValidation, "Requested resource not found.")
	},
	jobs:          func(s *Service) map[string]*record[trainingJob] { return s.training },
	workingCopies: trainingWorkingCopies,
	algorithmDir:  func(jobDir string) string { return jobDir },
	list:          listSpec{sortKeys: []string{"CreationTime", "Name", "Status"}, defaultOrder: "Ascending", statuses: jobStatuses},
	listMember:    "TrainingJobSummaries",
	summary: func(j *trainingJob) listItem {
		return listItem{name: j.TrainingJobName, created: tsTime(j.CreationTime), modified: tsTime(j.LastModifiedTime), status: j.TrainingJobStatus,
			summary: trainingJobSummary{TrainingJobName: j.TrainingJobName, TrainingJobArn: j.TrainingJobArn, TrainingJobStatus: j.TrainingJobStatus,
				SecondaryStatus: j.SecondaryStatus, CreationTime: j.CreationTime, TrainingEndTime: j.TrainingEndTime, LastModifiedTime: j.LastModifiedTime}}
	},
}

func (j *trainingJob) name() string   { return j.TrainingJobName }
func (j *trainingJob) status() string { return j.TrainingJobStatus }

func (j *trainingJob) stop(now time.Time) {
	j.TrainingJobStatus = statusStopping
	j.transition(statusStopping, "Stopping the training job", now)
}

// end records how the job ended, with the secondary status and message AWS gives each outcome.
func (j *trainingJob) end(o outcome, reason string, now time.Time) {
	switch o {
	case outcomeCompleted:
		j.endWith(statusCompleted, statusCompleted, "Training job completed", now)
	case outcomeStopped:
		j.endWith(statusStopped, statusStopped, "Training job stopped", now)
	case outcomeMaxRuntime:
		j.endWith(statusStopped, secondaryMaxRuntimeExceeded, "Training job runtime exceeded MaxRuntimeInSeconds provided", now)
	default:
		j.FailureReason = reason
		j.endWith(statusFailed, statusFailed, reason, now)
	}
}

// endWith sets the job's final status and times.
func (j *trainingJob) endWith(status, secondary, message string, now time.Time) {
	j.TrainingJobStatus = status
	j.transition(secondary, message, now)
	j.TrainingEndTime = stamp(now)
	if j.TrainingStartTime != nil {
		secs := int64(math.Ceil(now.Sub(j.TrainingStartTime.Time).Seconds()))
		j.TrainingTimeInSeconds = &secs
		j.BillableTimeInSeconds = &secs
	}
}

func (s *Service) createTrainingJob(in *createTrainingJobInput) (any, error) {
	if err := validateTrainingJob(in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	key := strings.ToLower(in.TrainingJobName)
	arn := s.arn("training-job/" + in.TrainingJobName)
	if _, ok := s.training[key]; ok {
		return nil, awserr.New(awserr.SageMakerResourceInUse, "Training job names must be unique within an AWS account and region, and a training job with this name already exists (%s)", arn)
	}
	for _, c := range in.InputDataConfig {
		if err := s.checkInputPrefix(c.DataSource.S3DataSource.S3Uri, in.RoleArn); err != nil {
			return nil, err
		}
	}
	if in.StoppingCondition == nil {
		in.StoppingCondition = &stoppingCondition{}
	}
	if in.StoppingCondition.MaxRuntimeInSeconds == nil {
		d := int64(defaultMaxRuntime)
		in.StoppingCondition.MaxRuntimeInSeconds = &d
	}
	now := s.now()
	r := &record[trainingJob]{Tags: in.Tags, Resource: trainingJob{
		TrainingJobName:        in.TrainingJobName,
		TrainingJobArn:         arn,
		TrainingJobStatus:      statusInProgress,
		AlgorithmSpecification: in.AlgorithmSpecification,
		RoleArn:                in.RoleArn,
		InputDataConfig:        in.InputDataConfig,
		OutputDataConfig:       in.OutputDataConfig,
		ResourceConfig:         in.ResourceConfig,
		StoppingCondition:      in.StoppingCondition,
		HyperParameters:        in.HyperParameters,
		Environment:            in.Environment,
		EnableNetworkIsolation: in.EnableNetworkIsolation != nil && *in.EnableNetworkIsolation,
		CreationTime:           stamp(now),
	}}
	r.Resource.transition(secondaryStarting, "Launching requested ML instances", now)
	if err := trainingJobs.add(s, key, r, s.runTraining); err != nil {
		return nil, err
	}
	return map[string]string{"TrainingJobArn": arn}, nil
}

func validateTrainingJob(in *createTrainingJobInput) error {
	var v violations
	v.name("trainingJobName", in.TrainingJobName)
	v.roleArn("roleArn", in.RoleArn, true)
	if a := in.AlgorithmSpecification; v.required("algorithmSpecification", a != nil) {
		if v.required("algorithmSpecification.trainingInputMode", a.TrainingInputMode != "") {
			v.enum("algorithmSpecification.trainingInputMode", a.TrainingInputMode, "Pipe", "File", "FastFile")
		}
		v.maxLen("algorithmSpecification.trainingImage", a.TrainingImage, 255)
		if a.TrainingImage != "" {
			v.pattern("algorithmSpecification.trainingImage", a.TrainingImage, imageRe, imagePattern)
		}
	}
	if len(in.InputDataConfig) > 20 {
		v.add(fmt.Sprint(len(in.InputDataConfig)), "inputDataConfig", "Member must have length less than or equal to 20")
	}
	for i, c := range in.InputDataConfig {
		p := fmt.Sprintf("inputDataConfig.%d.member", i+1)
		if v.required(p+".channelName", c.ChannelName != "") {
			v.maxLen(p+".channelName", c.ChannelName, 64)
			v.pattern(p+".channelName", c.ChannelName, channelRe, channelPattern)
		}
		v.enum(p+".compressionType", c.CompressionType, "None", "Gzip")
		v.enum(p+".inputMode", c.InputMode, "Pipe", "File", "FastFile")
		v.enum(p+".recordWrapperType", c.RecordWrapperType, "None", "RecordIO")
		if v.required(p+".dataSource", c.DataSource != nil) && c.DataSource.S3DataSource != nil {
			ds := c.DataSource.S3DataSource
			sp := p + ".dataSource.s3DataSource"
			if v.required(sp+".s3DataType", ds.S3DataType != "") {
				v.enum(sp+".s3DataType", ds.S3DataType, "ManifestFile", "S3Prefix", "AugmentedManifestFile")
			}
			v.s3URI(sp+".s3Uri", ds.S3Uri)
			v.enum(sp+".s3DataDistributionType", ds.S3DataDistributionType, "FullyReplicated", "ShardedByS3Key")
		}
	}
	if o := in.OutputDataConfig; v.required("outputDataConfig", o != nil) {
		v.s3URI("outputDataConfig.s3OutputPath", o.S3OutputPath)
		v.enum("outputDataConfig.compressionType", o.CompressionType, "GZIP", "NONE")
	}
	if rc := in.ResourceConfig; v.required("resourceConfig", rc != nil) {
		v.required("resourceConfig.instanceType", rc.InstanceType != "")
		if rc.InstanceType != "" && !strings.HasPrefix(rc.InstanceType, "ml.") {
			v.add(rc.InstanceType, "resourceConfig.instanceType", "Member must satisfy enum value set: [ml.<family>.<size>]")
		}
		if v.required("resourceConfig.instanceCount", rc.InstanceCount != nil) {
			v.between("resourceConfig.instanceCount", rc.InstanceCount, 1, math.MaxInt32)
		}
		if v.required("resourceConfig.volumeSizeInGB", rc.VolumeSizeInGB != nil) {
			v.between("resourceConfig.volumeSizeInGB", rc.VolumeSizeInGB, 1, math.MaxInt32)
		}
	}
	if sc := in.StoppingCondition; sc != nil {
		v.between("stoppingCondition.maxRuntimeInSeconds", sc.MaxRuntimeInSeconds, 1, maxMaxRuntime)
		v.between("stoppingCondition.maxWaitTimeInSeconds", sc.MaxWaitTimeInSeconds, 1, 3600*24*21)
	}
	v.stringMap("hyperParameters", in.HyperParameters, 100, 256, 2500)
	v.stringMap("environment", in.Environment, 100, 512, 512)
	v.tags("tags", in.Tags)
	if err := v.err(); err != nil {
		return err
	}
	a := in.AlgorithmSpecification
	switch {
	case a.AlgorithmName != "":
		return unsupported("AlgorithmName (marketplace or custom algorithms); give a TrainingImage")
	case a.TrainingImage == "":
		return awserr.New(awserr.SageMakerValidation, "Either TrainingImage or AlgorithmName must be specified in AlgorithmSpecification.")
	case a.TrainingInputMode != "File":
		return unsupported("TrainingInputMode %s; use File", a.TrainingInputMode)
	}
	seen := map[string]bool{}
	for _, c := range in.InputDataConfig {
		switch {
		case seen[c.ChannelName]:
			return awserr.New(awserr.SageMakerValidation, "Channel names must be unique: %s appears more than once.", c.ChannelName)
		case c.DataSource.S3DataSource == nil:
			return unsupported("channel %s's data source; give an S3DataSource", c.ChannelName)
		case c.DataSource.S3DataSource.S3DataType != "S3Prefix":
			return unsupported("S3DataType %s (channel %s); use S3Prefix", c.DataSource.S3DataSource.S3DataType, c.ChannelName)
		case c.InputMode != "" && c.InputMode != "File":
			return unsupported("InputMode %s (channel %s); use File", c.InputMode, c.ChannelName)
		case c.CompressionType == "Gzip":
			return unsupported("CompressionType Gzip (channel %s)", c.ChannelName)
		}
		seen[c.ChannelName] = true
		if _, err := parseS3URI(c.DataSource.S3DataSource.S3Uri); err != nil {
			return err
		}
	}
	if _, err := parseS3URI(in.OutputDataConfig.S3OutputPath); err != nil {
		return err
	}
	return checkTagKeys(in.Tags)
}

// checkInputPrefix rejects an input S3 prefix with no objects under it, as AWS does at create time.
func (s *Service) checkInputPrefix(uri, role string) error {
	loc, err := parseS3URI(uri)
	if err != nil {
		return err
	}
	objs, err := listObjects(s.opts.Objects, loc)
	if err != nil {
		return err
	}
	if len(objs) == 0 {
		return awserr.New(awserr.SageMakerValidation, "No S3 objects found under S3 URL %q given in input data source. Please ensure that the bucket exists in the selected region (%s), that objects exist under that S3 prefix, and that the role %q has \"s3:ListBucket\" permissions on bucket %q.", uri, s.opts.Region, role, loc.Bucket)
	}
	return nil
}

func (s *Service) describeTrainingJob(in *jobNameInput) (any, error) {
	return trainingJobs.describe(s, in.TrainingJobName)
}

func (s *Service) stopTrainingJob(in *jobNameInput) (any, error) {
	return trainingJobs.stopJob(s, in.TrainingJobName)
}

func (s *Service) listTrainingJobs(in *listInput) (any, error) { return trainingJobs.listJobs(s, in) }

// progress moves a job that is still InProgress to the next secondary status.
func (s *Service) progress(key, secondary, message string) {
	trainingJobs.update(s, key, func(j *trainingJob, now time.Time) {
		if j.TrainingJobStatus == statusInProgress {
			j.transition(secondary, message, now)
		}
	})
}

// runTraining runs one training job to its end.
func (s *Service) runTraining(ctx context.Context, key string) {
	s.mu.Lock()
	job := clone(&s.training[key].Resource)
	s.mu.Unlock()
	log := s.opts.Logger.With("training_job", job.TrainingJobName)

	if err := s.acquire(ctx); err != nil {
		s.endTraining(key, nil, "", err)
		return
	}
	defer s.release()
	runCtx, cancel := context.WithTimeoutCause(ctx, time.Duration(*job.StoppingCondition.MaxRuntimeInSeconds)*time.Second, errMaxRuntime)
	defer cancel()
	trainingJobs.update(s, key, func(j *trainingJob, now time.Time) {
		j.TrainingStartTime = stamp(now)
		if n := len(j.SecondaryStatusTransitions); j.TrainingJobStatus == statusInProgress && n > 0 {
			// Still Starting: AWS updates the message of the Starting transition rather than adding one.
			j.SecondaryStatusTransitions[n-1].StatusMessage = "Preparing the instances for training"
			j.LastModifiedTime = stamp(now)
		}
	})
	s.progress(key, secondaryDownloading, "Downloading input data")
	root := s.jobDir(kindTraining, key)
	metrics, artifacts, err := s.train(runCtx, root, job)
	if err != nil {
		log.Info("training job ended", "error", err)
	}
	if rerr := removeWorkingCopies(trainingWorkingCopies(root)); rerr != nil {
		log.Error("training job ended", "error", rerr)
	}
	s.endTraining(key, metrics, artifacts, err)
}

func clientError(format string, args ...any) error {
	return &jobError{reason: "ClientError: " + fmt.Sprintf(format, args...)}
}

// train does the work of a training job: input, algorithm, model upload. A context error comes back as the
// context's cause.
func (s *Service) train(ctx context.Context, root string, job *trainingJob) (ms []metricData, artifacts string, err error) {
	defer func() {
		if ctx.Err() != nil {
			err = context.Cause(ctx)
		}
	}()
	key := strings.ToLower(job.TrainingJobName)
	if err := os.RemoveAll(root); err != nil {
		return nil, "", fmt.Errorf("clean %s: %w", root, err)
	}
	layout := algorithm.Root(root)
	for _, d := range []string{layout.ConfigDir(), layout.DataDir(), layout.ModelDir(), layout.OutputDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, "", fmt.Errorf("prepare %s: %w", root, err)
		}
	}
	channels := map[string]map[string]string{}
	for _, c := range job.InputDataConfig {
		loc, err := parseS3URI(c.DataSource.S3DataSource.S3Uri)
		if err != nil {
			return nil, "", clientError("%v", err)
		}
		objs, err := listObjects(s.opts.Objects, loc)
		if err != nil {
			return nil, "", clientError("%v", err)
		}
		if len(objs) == 0 {
			return nil, "", clientError("No S3 objects found under S3 URL %q given in input data source.", c.DataSource.S3DataSource.S3Uri)
		}
		for _, o := range objs {
			if ctx.Err() != nil {
				return nil, "", ctx.Err()
			}
			dst := filepath.Join(layout.Channel(c.ChannelName), filepath.FromSlash(o.Rel))
			if err := download(s.opts.Objects, loc.Bucket, o.Key, dst); err != nil {
				return nil, "", clientError("Data download failed: %v", err)
			}
		}
		channels[c.ChannelName] = map[string]string{
			"ContentType": c.ContentType, "TrainingInputMode": "File",
			"S3DistributionType": orDefault(c.DataSource.S3DataSource.S3DataDistributionType, "FullyReplicated"),
			"RecordWrapperType":  orDefault(c.RecordWrapperType, "None"),
		}
	}
	hp := job.HyperParameters
	if hp == nil {
		hp = map[string]string{}
	}
	for file, v := range map[string]any{
		layout.Hyperparameters(): hp,
		layout.InputDataConfig(): channels,
		layout.ResourceConfig():  map[string]any{"current_host": "algo-1", "hosts": []string{"algo-1"}},
	} {
		b, _ := json.Marshal(v) // maps of strings always encode
		if err := os.WriteFile(file, b, 0o644); err != nil {
			return nil, "", fmt.Errorf("write %s: %w", filepath.Base(file), err)
		}
	}
	alg, err := s.opts.Algorithms.Resolve(job.AlgorithmSpecification.TrainingImage)
	if err != nil {
		return nil, "", clientError("%v", err)
	}
	s.progress(key, secondaryTraining, "Training image download completed. Training in progress.")
	logs, err := logs.Create(filepath.Join(root, trainingLog), s.opts.Clock)
	if err != nil {
		return nil, "", fmt.Errorf("open algorithm log: %w", err)
	}
	metrics, trainErr := alg.Train(ctx, root, logs)
	ms = finalMetrics(metrics, logs)
	if err := logs.Close(); err != nil && trainErr == nil {
		trainErr = fmt.Errorf("close algorithm log: %w", err)
	}
	if ctx.Err() != nil {
		return nil, "", ctx.Err()
	}
	if trainErr != nil {
		// The algorithm authors the whole reason, its ClientError/AlgorithmError prefix included (Trainer).
		return nil, "", &jobError{reason: trainErr.Error()}
	}
	s.progress(key, secondaryUploading, "Uploading generated training model")
	tarball := filepath.Join(layout.OutputDir(), modelArchive)
	if err := tarGz(layout.ModelDir(), tarball); err != nil {
		return nil, "", err
	}
	out, err := parseS3URI(job.OutputDataConfig.S3OutputPath)
	if err != nil {
		return nil, "", clientError("%v", err)
	}
	dst := out.join(job.TrainingJobName, "output", modelArchive)
	if err := upload(s.opts.Objects, tarball, dst); err != nil {
		return nil, "", clientError("Failed to upload model artifacts: %v", err)
	}
	return ms, dst.String(), nil
}

// finalMetrics are the metrics a job reports in FinalMetricDataList. SageMaker captures a metric from the
// algorithm's log with a regular expression for a decimal number (the built-in XGBoost's definitions match
// [-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?), so a value printed as inf or nan is never captured: such a
// metric is left out, and the job's log says so.
func finalMetrics(metrics []algorithm.Metric, logs io.Writer) []metricData {
	var ms []metricData
	for _, m := range metrics {
		if math.IsInf(m.Value, 0) || math.IsNaN(m.Value) {
			fmt.Fprintf(logs, "metric %s is %v, which SageMaker does not capture: left out of FinalMetricDataList\n", m.Name, m.Value)
			continue
		}
		ms = append(ms, metricData{MetricName: m.Name, Value: m.Value})
	}
	return ms
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// endTraining records how a training job ended: err nil is success, otherwise a context cause or a failure.
func (s *Service) endTraining(key string, metrics []metricData, artifacts string, err error) {
	trainingJobs.finish(s, key, err, func(j *trainingJob, now time.Time) {
		for i := range metrics {
			metrics[i].Timestamp = stamp(now)
		}
		j.FinalMetricDataList = metrics
		j.ModelArtifacts = &modelArtifacts{S3ModelArtifacts: artifacts}
	})
}
