package reliability_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/require"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/stack"
)

// algoSleeper is a mapped --image-command program that records its pid and a helper's (a child it
// starts) in $ALGORITHM_PIDS, then waits for the helper, which sleeps.
const algoSleeper = `#!/bin/sh
sleep 600 &
echo $! > "$ALGORITHM_PIDS/helper.pid"
echo $$ > "$ALGORITHM_PIDS/program.pid"
wait
`

// algoLocalAWS is one localaws started from the built binary, alone (no Temporal, no worker).
type algoLocalAWS struct {
	cmd *exec.Cmd
	url string
}

func algoStartLocalAWS(t *testing.T, ctx context.Context, bin, dataDir string, env []string, args ...string) *algoLocalAWS {
	t.Helper()
	log, err := os.OpenFile(filepath.Join(dataDir+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(t, err)
	t.Cleanup(func() { log.Close() })
	fi, err := log.Stat()
	require.NoError(t, err)
	// localaws picks a free port itself and prints it: a port found free here could be taken before it binds.
	cmd := exec.Command(bin, append([]string{"--addr", "127.0.0.1:0", "--data-dir", dataDir}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr, err := stack.WaitForLine(ctx, dataDir+".log", fi.Size(), cmd.Process.Pid, stack.LocalAWSListening)
	if err != nil {
		b, _ := os.ReadFile(dataDir + ".log")
		t.Fatalf("localaws did not start: %v\n%s", err, tail(string(b), 3000))
	}
	p := &algoLocalAWS{cmd: cmd, url: "http://" + addr}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/_localaws/health", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if ctx.Err() != nil {
			b, _ := os.ReadFile(dataDir + ".log")
			t.Fatalf("localaws did not answer: %v\n%s", ctx.Err(), tail(string(b), 3000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// algoRunning says whether pid is a process that has not ended (a zombie has).
func algoRunning(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	return !strings.HasPrefix(strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[0], "Z")
}

func algoWaitForPID(t *testing.T, ctx context.Context, file string) int {
	t.Helper()
	for {
		if b, err := os.ReadFile(file); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			require.NoError(t, err)
			return pid
		}
		require.NoError(t, ctx.Err(), "waiting for %s", file)
		time.Sleep(20 * time.Millisecond)
	}
}

func algoWaitGone(t *testing.T, ctx context.Context, pid int, what string) {
	t.Helper()
	for algoRunning(pid) {
		require.NoError(t, ctx.Err(), "%s (pid %d) is still running", what, pid)
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAlgorithmDiesWithLocalAWS kills localaws (SIGKILL) while a training job's mapped algorithm runs: the
// algorithm must not outlive it (parent-death signal), and the restarted localaws must end what the
// algorithm left behind (its helper, in the algorithm's process group) before it fails the job.
func TestAlgorithmDiesWithLocalAWS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bins, err := stack.Build(ctx, filepath.Join(dir, "bin"))
	require.NoError(t, err)
	program := filepath.Join(dir, "sleeping-algorithm.sh")
	require.NoError(t, os.WriteFile(program, []byte(algoSleeper), 0o755))
	pids := filepath.Join(dir, "pids")
	require.NoError(t, os.MkdirAll(pids, 0o755))
	const image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sleeper:1"
	env := []string{"ALGORITHM_PIDS=" + pids}
	args := []string{"--image-command", `.*/sleeper:.*=` + program}
	data := filepath.Join(dir, "data")

	first := algoStartLocalAWS(t, ctx, bins["localaws"], data, env, args...)
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	s3c := s3.New(s3.Options{BaseEndpoint: aws.String(first.url), Region: "us-east-1", UsePathStyle: true, Credentials: creds})
	_, err = s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("sleepy")})
	require.NoError(t, err)
	_, err = s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("sleepy"), Key: aws.String("train/a.csv"), Body: strings.NewReader("1,2\n")})
	require.NoError(t, err)
	sm := sagemaker.New(sagemaker.Options{BaseEndpoint: aws.String(first.url), Region: "us-east-1", Credentials: creds})
	_, err = sm.CreateTrainingJob(ctx, &sagemaker.CreateTrainingJobInput{
		TrainingJobName: aws.String("sleeper-1"),
		RoleArn:         aws.String("arn:aws:iam::000000000000:role/mdlc-local"),
		AlgorithmSpecification: &smtypes.AlgorithmSpecification{
			TrainingImage: aws.String(image), TrainingInputMode: smtypes.TrainingInputModeFile,
		},
		InputDataConfig: []smtypes.Channel{{ChannelName: aws.String("train"), ContentType: aws.String("text/csv"),
			DataSource: &smtypes.DataSource{S3DataSource: &smtypes.S3DataSource{
				S3DataType: smtypes.S3DataTypeS3Prefix, S3Uri: aws.String("s3://sleepy/train"),
			}}}},
		OutputDataConfig:  &smtypes.OutputDataConfig{S3OutputPath: aws.String("s3://sleepy/model")},
		ResourceConfig:    &smtypes.ResourceConfig{InstanceType: smtypes.TrainingInstanceTypeMlM5Large, InstanceCount: aws.Int32(1), VolumeSizeInGB: aws.Int32(1)},
		StoppingCondition: &smtypes.StoppingCondition{MaxRuntimeInSeconds: aws.Int32(3600)},
	})
	require.NoError(t, err)
	programPID := algoWaitForPID(t, ctx, filepath.Join(pids, "program.pid"))
	helperPID := algoWaitForPID(t, ctx, filepath.Join(pids, "helper.pid"))
	require.True(t, algoRunning(programPID) && algoRunning(helperPID), "the algorithm is running")

	require.NoError(t, first.cmd.Process.Signal(syscall.SIGKILL))
	_ = first.cmd.Wait()
	algoWaitGone(t, ctx, programPID, "the algorithm, after localaws was killed,")

	second := algoStartLocalAWS(t, ctx, bins["localaws"], data, env, args...)
	algoWaitGone(t, ctx, helperPID, "the algorithm's helper, after localaws restarted,")
	sm = sagemaker.New(sagemaker.Options{BaseEndpoint: aws.String(second.url), Region: "us-east-1", Credentials: creds})
	out, err := sm.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String("sleeper-1")})
	require.NoError(t, err)
	require.Equal(t, smtypes.TrainingJobStatusFailed, out.TrainingJobStatus, fmt.Sprint(aws.ToString(out.FailureReason)))
}

// algoSplitRows is run with Python XGBoost on the trained model: it writes to argv[2] one CSV record per split
// point of the model (and one float32 step either side), each written as decimals a CSV would hold (the
// shortest text, 9 digits, 4 to 6 decimals), the other features taken from argv[3].
const algoSplitRows = `
import sys, json, numpy as np, xgboost as xgb
b = xgb.Booster(model_file=sys.argv[1])
base = sys.argv[3].split(",")
rows = set()
def walk(n):
    if "split" in n:
        f, c = int(n["split"][1:]), np.float32(n["split_condition"])
        for v in (c, np.nextafter(c, np.float32(-np.inf)), np.nextafter(c, np.float32(np.inf))):
            for text in (str(v), "%.9g" % v, "%.4f" % v, "%.5f" % v, "%.6f" % v):
                row = list(base)
                row[f] = text
                rows.add(",".join(row))
        for c in n["children"]:
            walk(c)
for tree in b.get_dump(dump_format="json"):
    walk(json.loads(tree))
open(sys.argv[2], "w").write("\n".join(sorted(rows)) + "\n")
`

// algoContainerScores predicts argv[2] with the model argv[1] as the SageMaker XGBoost container's text/csv
// inference does (numpy parses each field to float64; DMatrix takes float32), or, with argv[3] "dmlc",
// with XGBoost's own text reader; it prints each prediction's float32 bits.
const algoContainerScores = `
import sys, numpy as np, xgboost as xgb
b = xgb.Booster(model_file=sys.argv[1])
if len(sys.argv) > 3:
    d = xgb.DMatrix(sys.argv[2] + "?format=csv")
else:
    text = open(sys.argv[2]).read().strip()
    d = xgb.DMatrix(np.array([l.split(",") for l in text.split("\n")]).astype(float))
for v in b.predict(d).astype(np.float32):
    print(int(v.view(np.uint32)))
`

// algoBucket holds TestXGBoostHardening's objects.
const algoBucket = "hardening"

func algoPut(t *testing.T, ctx context.Context, s3c *s3.Client, key, body string) {
	t.Helper()
	_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(algoBucket), Key: aws.String(key), Body: strings.NewReader(body)})
	require.NoError(t, err)
}

func algoPython(t *testing.T, script string, args ...string) string {
	t.Helper()
	out, err := exec.Command("/usr/bin/python3", append([]string{"-c", script}, args...)...).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Fatalf("python oracle (python3-xgboost): %v\n%s", err, ee.Stderr)
	}
	require.NoError(t, err)
	return string(out)
}

// TestXGBoostHardening runs the built-in XGBoost through localaws as a user would: a training job that asks
// for 10,000 threads runs with one per CPU and says so in its log; a batch transform of records that lie on
// the model's own split points predicts what the SageMaker container predicts, bit for bit.
func TestXGBoostHardening(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bins, err := stack.Build(ctx, filepath.Join(dir, "bin"))
	require.NoError(t, err)
	data := filepath.Join(dir, "data")
	l := algoStartLocalAWS(t, ctx, bins["localaws"], data, nil)
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	s3c := s3.New(s3.Options{BaseEndpoint: aws.String(l.url), Region: "us-east-1", UsePathStyle: true, Credentials: creds})
	sm := sagemaker.New(sagemaker.Options{BaseEndpoint: aws.String(l.url), Region: "us-east-1", Credentials: creds})
	_, err = s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(algoBucket)})
	require.NoError(t, err)
	put := func(key, body string) { algoPut(t, ctx, s3c, key, body) }

	// Training data with 4-decimal features, as the demo data has; the label follows the first three.
	rng := rand.New(rand.NewPCG(7, 7))
	var train strings.Builder
	for range 3000 {
		x := make([]string, 6)
		s := rng.NormFloat64() * 0.5
		for j := range x {
			v := math.Round(rng.NormFloat64()*1e4) / 1e4
			x[j] = strconv.FormatFloat(v, 'f', -1, 64)
			s += []float64{1, 0.5, -1, 0, 0, 0}[j] * v
		}
		label := "0"
		if s > 0 {
			label = "1"
		}
		train.WriteString(label + "," + strings.Join(x, ",") + "\n")
	}
	put("train/train.csv", train.String())
	_, err = sm.CreateTrainingJob(ctx, &sagemaker.CreateTrainingJobInput{
		TrainingJobName: aws.String("threads-1"),
		RoleArn:         aws.String("arn:aws:iam::000000000000:role/mdlc-local"),
		AlgorithmSpecification: &smtypes.AlgorithmSpecification{
			TrainingImage: aws.String(activities.DefaultTrainingImage), TrainingInputMode: smtypes.TrainingInputModeFile,
		},
		InputDataConfig: []smtypes.Channel{{ChannelName: aws.String("train"), ContentType: aws.String("text/csv"),
			DataSource: &smtypes.DataSource{S3DataSource: &smtypes.S3DataSource{
				S3DataType: smtypes.S3DataTypeS3Prefix, S3Uri: aws.String("s3://" + algoBucket + "/train"),
			}}}},
		OutputDataConfig:  &smtypes.OutputDataConfig{S3OutputPath: aws.String("s3://" + algoBucket + "/model")},
		ResourceConfig:    &smtypes.ResourceConfig{InstanceType: smtypes.TrainingInstanceTypeMlM5Large, InstanceCount: aws.Int32(1), VolumeSizeInGB: aws.Int32(1)},
		StoppingCondition: &smtypes.StoppingCondition{MaxRuntimeInSeconds: aws.Int32(3600)},
		HyperParameters: map[string]string{"objective": "binary:logistic", "max_depth": "4", "eta": "0.2", "num_round": "30",
			"subsample": "0.7", "seed": "0", "nthread": "10000"},
	})
	require.NoError(t, err)
	var job *sagemaker.DescribeTrainingJobOutput
	for {
		job, err = sm.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String("threads-1")})
		require.NoError(t, err)
		if job.TrainingJobStatus != smtypes.TrainingJobStatusInProgress {
			break
		}
		require.NoError(t, ctx.Err(), "training job threads-1 still InProgress")
		time.Sleep(200 * time.Millisecond)
	}
	require.Equal(t, smtypes.TrainingJobStatusCompleted, job.TrainingJobStatus, aws.ToString(job.FailureReason))
	t.Run("nthread capped", func(t *testing.T) {
		logs, err := filepath.Glob(filepath.Join(data, "*", "jobs", "training-jobs", "threads-1", "algorithm.log"))
		require.NoError(t, err)
		require.Len(t, logs, 1, "the training job's algorithm log")
		log, err := os.ReadFile(logs[0])
		require.NoError(t, err)
		require.Contains(t, string(log), fmt.Sprintf("nthread=10000 capped to %d, the CPUs of this host", runtime.NumCPU()))
	})
	t.Run("transform on split points", func(t *testing.T) { algoTransformOnSplitPoints(t, ctx, dir, s3c, sm, job) })
}

// algoTransformOnSplitPoints scores, through a batch transform of the trained model, records that lie on the
// model's own split points, and compares the predictions with the container's, bit for bit.
func algoTransformOnSplitPoints(t *testing.T, ctx context.Context, dir string, s3c *s3.Client, sm *sagemaker.Client, job *sagemaker.DescribeTrainingJobOutput) {
	put := func(key, body string) { algoPut(t, ctx, s3c, key, body) }
	get := func(key string) []byte {
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(algoBucket), Key: aws.String(key)})
		require.NoError(t, err)
		defer out.Body.Close()
		b, err := io.ReadAll(out.Body)
		require.NoError(t, err)
		return b
	}

	// The model, as a user would fetch it, for the oracle.
	artifacts := aws.ToString(job.ModelArtifacts.S3ModelArtifacts)
	key := strings.TrimPrefix(artifacts, "s3://"+algoBucket+"/")
	modelFile := filepath.Join(dir, "xgboost-model")
	zr, err := gzip.NewReader(bytes.NewReader(get(key)))
	require.NoError(t, err)
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		require.NoError(t, err, "model.tar.gz has no xgboost-model")
		if filepath.Base(h.Name) == "xgboost-model" {
			b, err := io.ReadAll(tr)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(modelFile, b, 0o644))
			break
		}
	}
	records := filepath.Join(dir, "splits.csv")
	algoPython(t, algoSplitRows, modelFile, records, "0.1,0.2,0.3,0.4,0.5,0.6")
	rows, err := os.ReadFile(records)
	require.NoError(t, err)
	put("holdout/splits.csv", string(rows))

	_, err = sm.CreateModel(ctx, &sagemaker.CreateModelInput{
		ModelName: aws.String("splits"), ExecutionRoleArn: aws.String("arn:aws:iam::000000000000:role/mdlc-local"),
		PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String(activities.DefaultTrainingImage), ModelDataUrl: aws.String(artifacts)},
	})
	require.NoError(t, err)
	_, err = sm.CreateTransformJob(ctx, &sagemaker.CreateTransformJobInput{
		TransformJobName: aws.String("splits-1"), ModelName: aws.String("splits"),
		TransformInput: &smtypes.TransformInput{ContentType: aws.String("text/csv"), SplitType: smtypes.SplitTypeLine, DataSource: &smtypes.TransformDataSource{S3DataSource: &smtypes.TransformS3DataSource{
			S3DataType: smtypes.S3DataTypeS3Prefix, S3Uri: aws.String("s3://" + algoBucket + "/holdout")}}},
		TransformOutput:    &smtypes.TransformOutput{S3OutputPath: aws.String("s3://" + algoBucket + "/scored"), AssembleWith: smtypes.AssemblyTypeLine},
		TransformResources: &smtypes.TransformResources{InstanceType: smtypes.TransformInstanceTypeMlC42xlarge, InstanceCount: aws.Int32(1)},
	})
	require.NoError(t, err)
	for {
		tj, err := sm.DescribeTransformJob(ctx, &sagemaker.DescribeTransformJobInput{TransformJobName: aws.String("splits-1")})
		require.NoError(t, err)
		if tj.TransformJobStatus != smtypes.TransformJobStatusInProgress {
			require.Equal(t, smtypes.TransformJobStatusCompleted, tj.TransformJobStatus, aws.ToString(tj.FailureReason))
			break
		}
		require.NoError(t, ctx.Err(), "transform job splits-1 still InProgress")
		time.Sleep(200 * time.Millisecond)
	}
	got := strings.Fields(string(get("scored/splits.csv.out")))
	want := strings.Fields(algoPython(t, algoContainerScores, modelFile, records))
	dmlc := strings.Fields(algoPython(t, algoContainerScores, modelFile, records, "dmlc"))
	lines := strings.Split(strings.TrimSpace(string(rows)), "\n")
	require.Len(t, got, len(lines))
	require.Len(t, want, len(lines))
	differ, bad := 0, 0
	for i := range lines {
		v, err := strconv.ParseFloat(got[i], 32)
		require.NoError(t, err)
		if strconv.FormatUint(uint64(math.Float32bits(float32(v))), 10) != want[i] {
			if bad++; bad <= 5 {
				bits, _ := strconv.ParseUint(want[i], 10, 32)
				t.Errorf("record %d (%s): localaws predicts %s, the container %v", i+1, lines[i], got[i], math.Float32frombits(uint32(bits)))
			}
		}
		if dmlc[i] != want[i] {
			differ++
		}
	}
	require.Zero(t, bad, "records predicted differently from the container, of %d", len(lines))
	t.Logf("%d records on split points; XGBoost's text reader predicts %d of them differently", len(lines), differ)
	require.NotZero(t, differ, "no record tells numpy's parse from XGBoost's text reader: the data no longer tests the parse")
}
