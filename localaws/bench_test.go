package localaws_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/demodata"
	"github.com/mdlc/mdlc/localaws"
)

// BenchmarkLocalAWSJobs measures a SageMaker training job through localaws against running the xgboost
// program directly on the same files with the same parameters, and batch-transform throughput. Results go to
// BENCHMARKS.md at the repository root. Run (rows default to 1,000,000; MDLC_BENCH_ROWS changes it):
//
//	go test ./localaws -run '^$' -bench LocalAWSJobs -benchtime 1x -timeout 60m
func BenchmarkLocalAWSJobs(b *testing.B) {
	rows := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("MDLC_BENCH_ROWS")); err == nil && v > 0 {
		rows = v
	}
	ctx := context.Background()
	cfg := demodata.DefaultConfig()
	cfg.Dates = []string{"2019-10-01"}
	cfg.TrainRows, cfg.ValidationRows, cfg.HoldoutRows = rows, rows/10, rows
	ds, err := demodata.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	data := b.TempDir()
	if err := ds.WriteDir(data, nil); err != nil {
		b.Fatal(err)
	}
	srv, err := localaws.New(ctx, localaws.Options{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer func() { hs.Close(); _ = srv.Close() }()
	awsCfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), Credentials: credentials.NewStaticCredentialsProvider("b", "b", "")}
	s3c := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true })
	sm := sagemaker.NewFromConfig(awsCfg)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bench")}); err != nil {
		b.Fatal(err)
	}
	err = filepath.Walk(data, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		key, _ := filepath.Rel(data, path)
		_, err = s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String(filepath.ToSlash(key)), Body: f, ContentLength: aws.Int64(info.Size())})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	hp := activities.DefaultHyperparameters()
	plan := activities.TrainingPlan{
		TrainingInput:   activities.S3Location{S3Uri: "s3://bench/input-data/2019-10-01/train"},
		ValidationInput: activities.S3Location{S3Uri: "s3://bench/input-data/2019-10-01/validation"},
		TrainingOutput:  activities.S3Location{S3Uri: "s3://bench/model"},
	}
	acfg := activities.Config{Bucket: "bench", RoleArn: "arn:aws:iam::000000000000:role/bench"}.WithDefaults()
	var artifacts string

	b.Run("training-job-through-localaws", func(b *testing.B) {
		for i := range b.N {
			plan.TrainingJobName = fmt.Sprintf("bench-train-%d", i)
			start := time.Now()
			if _, err := sm.CreateTrainingJob(ctx, activities.TrainingJobRequest(acfg, plan, "")); err != nil {
				b.Fatal(err)
			}
			d := waitJob(b, func() (string, string, error) {
				out, err := sm.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String(plan.TrainingJobName)})
				if err != nil {
					return "", "", err
				}
				if out.ModelArtifacts != nil {
					artifacts = aws.ToString(out.ModelArtifacts.S3ModelArtifacts)
				}
				return string(out.TrainingJobStatus), aws.ToString(out.FailureReason), nil
			})
			b.ReportMetric(d.Seconds(), "s/job")
			b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
			if os.Getenv("MDLC_BENCH_VERBOSE") != "" {
				out, _ := sm.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String(plan.TrainingJobName)})
				for _, tr := range out.SecondaryStatusTransitions {
					b.Logf("%s %v → %v %s", tr.Status, tr.StartTime.Format("15:04:05.000"), aws.ToTime(tr.EndTime).Format("15:04:05.000"), aws.ToString(tr.StatusMessage))
				}
			}
		}
	})

	b.Run("xgboost-program-directly", func(b *testing.B) {
		dir := b.TempDir()
		train := filepath.Join(data, "input-data/2019-10-01/train/train.csv") + "?format=csv&label_column=0"
		validation := filepath.Join(data, "input-data/2019-10-01/validation/validation.csv") + "?format=csv&label_column=0"
		// The workshop's hyperparameters as the xgboost program takes them (learning_rate wins over its alias eta,
		// as in SageMaker's container); evaluation on train and validation every round, as the container does.
		conf := strings.Join([]string{
			"task = train", `data = "` + train + `"`, `eval[train] = "` + train + `"`, `eval[validation] = "` + validation + `"`,
			"objective = binary:logistic", "colsample_bytree = 0.7", "max_depth = 4", "eta = 0.075", "gamma = 4",
			"min_child_weight = 6", "subsample = 0.7", "seed = 0", "num_round = " + hp["num_round"],
			"model_out = " + filepath.Join(dir, "xgboost-model"),
		}, "\n") + "\n"
		path := filepath.Join(dir, "train.conf")
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			b.Fatal(err)
		}
		for range b.N {
			start := time.Now()
			if out, err := exec.Command("xgboost", path).CombinedOutput(); err != nil {
				b.Fatalf("xgboost: %v\n%s", err, out)
			}
			b.ReportMetric(time.Since(start).Seconds(), "s/job")
			b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
		}
	})

	b.Run("batch-transform-through-localaws", func(b *testing.B) {
		if artifacts == "" {
			b.Fatal("no model: run the training benchmark first (it runs first in this function)")
		}
		if _, err := sm.CreateModel(ctx, activities.ModelRequest(acfg, "bench-model", artifacts, "")); err != nil {
			b.Fatal(err)
		}
		for i := range b.N {
			name := fmt.Sprintf("bench-transform-%d", i)
			iplan := activities.InferencePlan{
				InferenceJobName: name,
				InferenceInput:   activities.S3Location{S3Uri: "s3://bench/input-data/2019-10-01/holdout_data"},
				InferenceOutput:  activities.S3Location{S3Uri: "s3://bench/output/" + name},
			}
			start := time.Now()
			if _, err := sm.CreateTransformJob(ctx, activities.TransformJobRequest(acfg, iplan, "bench-model", "")); err != nil {
				b.Fatal(err)
			}
			waitJob(b, func() (string, string, error) {
				out, err := sm.DescribeTransformJob(ctx, &sagemaker.DescribeTransformJobInput{TransformJobName: aws.String(name)})
				if err != nil {
					return "", "", err
				}
				return string(out.TransformJobStatus), aws.ToString(out.FailureReason), nil
			})
			b.ReportMetric(time.Since(start).Seconds(), "s/job")
			b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
		}
	})
}

// waitJob polls describe every 100 ms until the job ends Completed, and returns how long that took.
func waitJob(b *testing.B, describe func() (status, reason string, err error)) time.Duration {
	b.Helper()
	start := time.Now()
	for {
		status, reason, err := describe()
		if err != nil {
			b.Fatal(err)
		}
		switch status {
		case string(smtypes.TrainingJobStatusCompleted):
			return time.Since(start)
		case string(smtypes.TrainingJobStatusFailed), string(smtypes.TrainingJobStatusStopped):
			b.Fatalf("job ended %s: %s", status, reason)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
