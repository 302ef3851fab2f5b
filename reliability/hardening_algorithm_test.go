package reliability_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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

	"github.com/mdlc/mdlc/internal/stack"
)

// sleepingAlgorithm is a mapped --image-command program that records its pid and a helper's (a child it
// starts) in $ALGORITHM_PIDS, then waits for the helper, which sleeps.
const sleepingAlgorithm = `#!/bin/sh
sleep 600 &
echo $! > "$ALGORITHM_PIDS/helper.pid"
echo $$ > "$ALGORITHM_PIDS/program.pid"
wait
`

// localAWSProcess is one localaws started from the built binary, alone (no Temporal, no worker).
type localAWSProcess struct {
	cmd *exec.Cmd
	url string
}

func startLocalAWS(t *testing.T, ctx context.Context, bin, dataDir string, env []string, args ...string) *localAWSProcess {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	log, err := os.OpenFile(filepath.Join(dataDir+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(t, err)
	t.Cleanup(func() { log.Close() })
	cmd := exec.Command(bin, append([]string{"--addr", addr, "--data-dir", dataDir}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(t, cmd.Start())
	p := &localAWSProcess{cmd: cmd, url: "http://" + addr}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
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

// running says whether pid is a process that has not ended (a zombie has).
func running(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	return !strings.HasPrefix(strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[0], "Z")
}

func waitForPID(t *testing.T, ctx context.Context, file string) int {
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

func waitUntilGone(t *testing.T, ctx context.Context, pid int, what string) {
	t.Helper()
	for running(pid) {
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
	require.NoError(t, os.WriteFile(program, []byte(sleepingAlgorithm), 0o755))
	pids := filepath.Join(dir, "pids")
	require.NoError(t, os.MkdirAll(pids, 0o755))
	const image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sleeper:1"
	env := []string{"ALGORITHM_PIDS=" + pids}
	args := []string{"--image-command", `.*/sleeper:.*=` + program}
	data := filepath.Join(dir, "data")

	first := startLocalAWS(t, ctx, bins["localaws"], data, env, args...)
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
	programPID := waitForPID(t, ctx, filepath.Join(pids, "program.pid"))
	helperPID := waitForPID(t, ctx, filepath.Join(pids, "helper.pid"))
	require.True(t, running(programPID) && running(helperPID), "the algorithm is running")

	require.NoError(t, first.cmd.Process.Signal(syscall.SIGKILL))
	_ = first.cmd.Wait()
	waitUntilGone(t, ctx, programPID, "the algorithm, after localaws was killed,")

	second := startLocalAWS(t, ctx, bins["localaws"], data, env, args...)
	waitUntilGone(t, ctx, helperPID, "the algorithm's helper, after localaws restarted,")
	sm = sagemaker.New(sagemaker.Options{BaseEndpoint: aws.String(second.url), Region: "us-east-1", Credentials: creds})
	out, err := sm.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String("sleeper-1")})
	require.NoError(t, err)
	require.Equal(t, smtypes.TrainingJobStatusFailed, out.TrainingJobStatus, fmt.Sprint(aws.ToString(out.FailureReason)))
}
