package sagemaker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mdlc/mdlc/localaws/awserr"
	"github.com/mdlc/mdlc/localaws/logs"
)

// transformJobs is the kind of transform jobs.
var transformJobs = &jobKind[transformJob, *transformJob]{
	dir:    kindTransform,
	member: "transformJobName",
	noun:   "transform job",
	notFound: func(name string) error {
		return awserr.New(awserr.SageMakerValidation, "Could not find requested job with name %s", name)
	},
	jobs:          func(s *Service) map[string]*record[transformJob] { return s.transforms },
	workingCopies: transformWorkingCopies,
	// A transform's algorithm runs in the job's model directory.
	algorithmDir: func(jobDir string) string { return filepath.Join(jobDir, "model") },
	list:         listSpec{sortKeys: []string{"CreationTime", "Name", "Status"}, defaultOrder: "Descending", statuses: jobStatuses},
	listMember:   "TransformJobSummaries",
	summary: func(j *transformJob) listItem {
		return listItem{name: j.TransformJobName, created: tsTime(j.CreationTime), modified: tsTime(j.LastModifiedTime), status: j.TransformJobStatus,
			summary: transformJobSummary{TransformJobName: j.TransformJobName, TransformJobArn: j.TransformJobArn, TransformJobStatus: j.TransformJobStatus,
				FailureReason: j.FailureReason, CreationTime: j.CreationTime, TransformEndTime: j.TransformEndTime, LastModifiedTime: j.LastModifiedTime}}
	},
}

func (j *transformJob) name() string   { return j.TransformJobName }
func (j *transformJob) status() string { return j.TransformJobStatus }

func (j *transformJob) stop(now time.Time) {
	j.TransformJobStatus = statusStopping
	j.LastModifiedTime = stamp(now)
}

// end records how the job ended (a transform job has no MaxRuntimeInSeconds nor secondary statuses).
func (j *transformJob) end(o outcome, reason string, now time.Time) {
	switch o {
	case outcomeCompleted:
		j.TransformJobStatus = statusCompleted
	case outcomeStopped, outcomeMaxRuntime:
		j.TransformJobStatus = statusStopped
	default:
		j.FailureReason = reason
		j.TransformJobStatus = statusFailed
	}
	j.TransformEndTime = stamp(now)
	j.LastModifiedTime = stamp(now)
}

func (s *Service) createTransformJob(in *createTransformJobInput) (any, error) {
	if err := validateTransformJob(in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	key := strings.ToLower(in.TransformJobName)
	arn := s.arn("transform-job/" + in.TransformJobName)
	if _, ok := s.transforms[key]; ok {
		return nil, awserr.New(awserr.SageMakerResourceInUse, "Job name must be unique within an AWS account and region, and a job with this name already exists (%s)", arn)
	}
	if _, ok := s.models[strings.ToLower(in.ModelName)]; !ok {
		return nil, awserr.New(awserr.SageMakerValidation, "Could not find model %q.", s.arn("model/"+in.ModelName))
	}
	if err := s.checkInputPrefix(in.TransformInput.DataSource.S3DataSource.S3Uri, ""); err != nil {
		return nil, err
	}
	now := s.now()
	r := &record[transformJob]{Tags: in.Tags, Resource: transformJob{
		TransformJobName:        in.TransformJobName,
		TransformJobArn:         arn,
		TransformJobStatus:      statusInProgress,
		ModelName:               in.ModelName,
		MaxConcurrentTransforms: in.MaxConcurrentTransforms,
		MaxPayloadInMB:          in.MaxPayloadInMB,
		BatchStrategy:           in.BatchStrategy,
		Environment:             in.Environment,
		TransformInput:          in.TransformInput,
		TransformOutput:         in.TransformOutput,
		TransformResources:      in.TransformResources,
		CreationTime:            stamp(now),
		LastModifiedTime:        stamp(now),
	}}
	if err := transformJobs.add(s, key, r, s.runTransform); err != nil {
		return nil, err
	}
	return map[string]string{"TransformJobArn": arn}, nil
}

func validateTransformJob(in *createTransformJobInput) error {
	var v violations
	v.name("transformJobName", in.TransformJobName)
	v.name("modelName", in.ModelName)
	v.between("maxConcurrentTransforms", in.MaxConcurrentTransforms, 0, math.MaxInt32)
	v.between("maxPayloadInMB", in.MaxPayloadInMB, 0, 100)
	v.enum("batchStrategy", in.BatchStrategy, "MultiRecord", "SingleRecord")
	v.stringMap("environment", in.Environment, 16, 1024, 10240)
	if ti := in.TransformInput; v.required("transformInput", ti != nil) {
		if v.required("transformInput.dataSource", ti.DataSource != nil) &&
			v.required("transformInput.dataSource.s3DataSource", ti.DataSource.S3DataSource != nil) {
			ds := ti.DataSource.S3DataSource
			if v.required("transformInput.dataSource.s3DataSource.s3DataType", ds.S3DataType != "") {
				v.enum("transformInput.dataSource.s3DataSource.s3DataType", ds.S3DataType, "ManifestFile", "S3Prefix", "AugmentedManifestFile")
			}
			v.s3URI("transformInput.dataSource.s3DataSource.s3Uri", ds.S3Uri)
		}
		v.enum("transformInput.compressionType", ti.CompressionType, "None", "Gzip")
		v.enum("transformInput.splitType", ti.SplitType, "None", "Line", "RecordIO", "TFRecord")
		v.maxLen("transformInput.contentType", ti.ContentType, 256)
	}
	if to := in.TransformOutput; v.required("transformOutput", to != nil) {
		v.s3URI("transformOutput.s3OutputPath", to.S3OutputPath)
		v.enum("transformOutput.assembleWith", to.AssembleWith, "None", "Line")
		v.maxLen("transformOutput.accept", to.Accept, 256)
	}
	if tr := in.TransformResources; v.required("transformResources", tr != nil) {
		if v.required("transformResources.instanceType", tr.InstanceType != "") && !strings.HasPrefix(tr.InstanceType, "ml.") {
			v.add(tr.InstanceType, "transformResources.instanceType", "Member must satisfy enum value set: [ml.<family>.<size>]")
		}
		if v.required("transformResources.instanceCount", tr.InstanceCount != nil) {
			v.between("transformResources.instanceCount", tr.InstanceCount, 1, math.MaxInt32)
		}
	}
	v.tags("tags", in.Tags)
	if err := v.err(); err != nil {
		return err
	}
	ti, to := in.TransformInput, in.TransformOutput
	switch {
	case ti.DataSource.S3DataSource.S3DataType != "S3Prefix":
		return unsupported("S3DataType %s for batch transform; use S3Prefix", ti.DataSource.S3DataSource.S3DataType)
	case ti.SplitType != "Line":
		return unsupported("SplitType %s for batch transform; use Line", orDefault(ti.SplitType, "None"))
	case ti.CompressionType == "Gzip":
		return unsupported("CompressionType Gzip for batch transform")
	case ti.ContentType != "" && ti.ContentType != "text/csv" && ti.ContentType != "text/libsvm":
		return unsupported("ContentType %s for batch transform; use text/csv or text/libsvm", ti.ContentType)
	case to.Accept != "" && to.Accept != "text/csv":
		return unsupported("Accept %s for batch transform; use text/csv", to.Accept)
	}
	if _, err := parseS3URI(ti.DataSource.S3DataSource.S3Uri); err != nil {
		return err
	}
	if _, err := parseS3URI(to.S3OutputPath); err != nil {
		return err
	}
	return checkTagKeys(in.Tags)
}

func (s *Service) describeTransformJob(in *jobNameInput) (any, error) {
	j, err := transformJobs.describe(s, in.TransformJobName)
	if err != nil {
		return nil, err
	}
	return transformJobDescription{transformJob: j}, nil
}

// transformJobDescription is the DescribeTransformJob answer: the stored job without LastModifiedTime, which
// the operation does not have (ListTransformJobs' summaries do). The outer field hides the embedded one.
type transformJobDescription struct {
	*transformJob
	LastModifiedTime *struct{} `json:"LastModifiedTime,omitempty"` // always nil: omitted
}

func (s *Service) stopTransformJob(in *jobNameInput) (any, error) {
	return transformJobs.stopJob(s, in.TransformJobName)
}

func (s *Service) listTransformJobs(in *listInput) (any, error) { return transformJobs.listJobs(s, in) }

// runTransform runs one transform job to its end.
func (s *Service) runTransform(ctx context.Context, key string) {
	s.mu.Lock()
	job := clone(&s.transforms[key].Resource)
	var m *model
	if r, ok := s.models[strings.ToLower(job.ModelName)]; ok {
		m = clone(&r.Resource)
	}
	s.mu.Unlock()

	err := s.acquire(ctx)
	if err == nil {
		transformJobs.update(s, key, func(j *transformJob, now time.Time) { j.TransformStartTime = stamp(now) })
		dir := s.jobDir(kindTransform, key)
		err = s.transform(ctx, dir, job, m)
		s.release()
		if rerr := removeWorkingCopies(transformWorkingCopies(dir)); rerr != nil {
			s.opts.Logger.Error("transform job ended", "transform_job", job.TransformJobName, "error", rerr)
		}
	}
	if err != nil && !errors.Is(err, errReset) {
		s.opts.Logger.Info("transform job ended", "transform_job", job.TransformJobName, "error", err)
	}
	transformJobs.finish(s, key, err, nil)
}

// transform does the work of a transform job. A context error comes back as the context's cause.
func (s *Service) transform(ctx context.Context, dir string, job *transformJob, m *model) (err error) {
	defer func() {
		if ctx.Err() != nil {
			err = context.Cause(ctx)
		}
	}()
	if m == nil {
		return clientError("Could not find model %q.", s.arn("model/"+job.ModelName))
	}
	c := m.PrimaryContainer
	if c == nil {
		if len(m.Containers) != 1 {
			return clientError("localaws batch transform needs a model with exactly one container; model %s has %d", m.ModelName, len(m.Containers))
		}
		c = &m.Containers[0]
	}
	if c.ModelDataUrl == "" {
		return clientError("model %s has no ModelDataUrl", m.ModelName)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clean %s: %w", dir, err)
	}
	modelDir := filepath.Join(dir, "model")
	if err := os.MkdirAll(modelDir, 0o755); err != nil {
		return fmt.Errorf("prepare %s: %w", dir, err)
	}
	logs, err := logs.Create(filepath.Join(dir, transformLog), s.opts.Clock)
	if err != nil {
		return fmt.Errorf("open transform log: %w", err)
	}
	defer logs.Close()
	if err := s.unpackModel(c.ModelDataUrl, modelDir); err != nil {
		return err
	}
	alg, err := s.opts.Algorithms.Resolve(c.Image)
	if err != nil {
		return clientError("%v", err)
	}
	in, err := parseS3URI(job.TransformInput.DataSource.S3DataSource.S3Uri)
	if err != nil {
		return clientError("%v", err)
	}
	out, err := parseS3URI(job.TransformOutput.S3OutputPath)
	if err != nil {
		return clientError("%v", err)
	}
	objs, err := listObjects(s.opts.Objects, in)
	if err != nil {
		return clientError("%v", err)
	}
	if len(objs) == 0 {
		return clientError("No S3 objects found under S3 URL %q given in input data source.", in)
	}
	for _, o := range objs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Fprintf(logs, "transforming s3://%s/%s\n", in.Bucket, o.Key)
		raw := filepath.Join(dir, "input", filepath.FromSlash(o.Rel))
		if err := download(s.opts.Objects, in.Bucket, o.Key, raw); err != nil {
			return clientError("Data download failed: %v", err)
		}
		records := filepath.Join(dir, "records", filepath.FromSlash(o.Rel))
		n, err := copyRecords(raw, records)
		if err != nil {
			return err
		}
		predicted := filepath.Join(dir, "predictions", filepath.FromSlash(o.Rel)+".raw")
		if err := os.MkdirAll(filepath.Dir(predicted), 0o755); err != nil {
			return fmt.Errorf("prepare predictions: %w", err)
		}
		if n > 0 {
			if err := alg.Predict(ctx, modelDir, records, predicted); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				fmt.Fprintf(logs, "predict %s: %v\n", o.Key, err)
				return &jobError{reason: fmt.Sprintf("AlgorithmError: predict %s: %v", o.Key, err)}
			}
		} else if err := os.WriteFile(predicted, nil, 0o644); err != nil {
			return fmt.Errorf("write predictions: %w", err)
		}
		assembled := filepath.Join(dir, "output", filepath.FromSlash(o.Rel)+".out")
		got, err := assemble(predicted, assembled, job.TransformOutput.AssembleWith)
		if err != nil {
			return err
		}
		if got != n {
			return &jobError{reason: fmt.Sprintf("AlgorithmError: the model returned %d predictions for the %d records of s3://%s/%s", got, n, in.Bucket, o.Key)}
		}
		if err := upload(s.opts.Objects, assembled, out.join(o.Rel+".out")); err != nil {
			return clientError("Failed to upload output: %v", err)
		}
	}
	return nil
}

// unpackModel downloads a model.tar.gz and unpacks it into dir.
func (s *Service) unpackModel(url, dir string) error {
	loc, err := parseS3URI(url)
	if err != nil {
		return clientError("%v", err)
	}
	obj, err := s.opts.Objects.GetObject(loc.Bucket, loc.Key, nil)
	if err != nil {
		return clientError("Could not download model data from %s: %v", url, err)
	}
	defer obj.Contents.Close()
	if err := untarGz(obj.Contents, dir, s.opts.MaxModelBytes); err != nil {
		// Nothing of a half-unpacked model stays on disk.
		if rerr := os.RemoveAll(dir); rerr != nil {
			s.opts.Logger.Error("remove partly unpacked model", "dir", dir, "error", rerr)
		}
		if errors.Is(err, errTooLarge) {
			return clientError("Could not unpack model data from %s: %v (localaws --max-model-bytes sets the limit)", url, err)
		}
		return clientError("Could not unpack model data from %s: %v", url, err)
	}
	return nil
}

// copyRecords copies the non-empty lines of src to dst (a SplitType Line record is a non-empty line) and
// counts them.
func copyRecords(src, dst string) (n int, err error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, fmt.Errorf("read records: %w", err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, fmt.Errorf("write records: %w", err)
	}
	out, err := os.Create(dst)
	if err != nil {
		return 0, fmt.Errorf("write records: %w", err)
	}
	defer func() { err = errors.Join(err, out.Close()) }()
	w := bufio.NewWriter(out)
	r := bufio.NewReader(in)
	for {
		line, rerr := r.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if strings.TrimSpace(line) != "" {
			n++
			if _, err := w.WriteString(line + "\n"); err != nil {
				return 0, fmt.Errorf("write records: %w", err)
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return 0, fmt.Errorf("read records %s: %w", src, rerr)
		}
	}
	if err := w.Flush(); err != nil {
		return 0, fmt.Errorf("write records: %w", err)
	}
	return n, nil
}

// assemble writes the predictions of src to dst: one a line (AssembleWith Line), or back to back
// (None). It returns the number of predictions.
func assemble(src, dst, with string) (n int, err error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return 0, fmt.Errorf("read predictions: %w", err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			lines = append(lines, l)
		}
	}
	sep := "\n"
	if with != "Line" {
		sep = ""
	}
	var sb strings.Builder
	for _, l := range lines {
		sb.WriteString(l)
		sb.WriteString(sep)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, fmt.Errorf("write output: %w", err)
	}
	if err := os.WriteFile(dst, []byte(sb.String()), 0o644); err != nil {
		return 0, fmt.Errorf("write output: %w", err)
	}
	return len(lines), nil
}
