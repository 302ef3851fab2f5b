package sagemaker

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"

	"github.com/mdlc/mdlc/localaws/algorithm"
)

// The built-in XGBoost image the workshop trains with.
const xgboostImage = "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"

// synthetic returns n rows "label,f1,...,f4" whose label depends on the first two features, and the same rows
// without labels.
func synthetic(seed uint64, n int) (labelled, features string, labels []float64) {
	r := rand.New(rand.NewPCG(seed, 1))
	var lb, fb strings.Builder
	for range n {
		f := []float64{r.Float64(), r.Float64(), r.Float64(), r.Float64()}
		label := 0.0
		if f[0]+f[1]+0.3*r.NormFloat64() > 1 {
			label = 1
		}
		cols := make([]string, len(f))
		for i, v := range f {
			cols[i] = strconv.FormatFloat(v, 'f', 6, 64)
		}
		fmt.Fprintf(&lb, "%g,%s\n", label, strings.Join(cols, ","))
		fmt.Fprintf(&fb, "%s\n", strings.Join(cols, ","))
		labels = append(labels, label)
	}
	return lb.String(), fb.String(), labels
}

// auc is the ROC AUC of scores against 0/1 labels (the Mann-Whitney statistic).
func auc(labels, scores []float64) float64 {
	var pos, neg, wins float64
	for i := range labels {
		for j := range labels {
			if labels[i] == 1 && labels[j] == 0 {
				switch {
				case scores[i] > scores[j]:
					wins++
				case scores[i] == scores[j]:
					wins += 0.5
				}
			}
		}
		if labels[i] == 1 {
			pos++
		} else {
			neg++
		}
	}
	return wins / (pos * neg)
}

// TestXGBoostEndToEnd trains with the real XGBoost program, serves the model through batch transform, and checks
// the predictions against the Python XGBoost package loading the same model.tar.gz.
func TestXGBoostEndToEnd(t *testing.T) {
	for _, bin := range []string{"/usr/bin/xgboost", "/usr/bin/python3"} {
		_, err := os.Stat(bin)
		require.NoError(t, err, "this test needs %s (apt-get install xgboost python3-xgboost)", bin)
	}
	resolver, err := algorithm.NewResolver(algorithm.Config{XGBoost: "/usr/bin/xgboost"})
	require.NoError(t, err)
	objects := s3mem.New()
	require.NoError(t, objects.CreateBucket(testBucket))
	e := newEnvOn(t, t.TempDir(), objects, nil, func(o *Options) { o.Algorithms = resolver })
	ctx := context.Background()

	train, _, _ := synthetic(1, 600)
	validation, _, _ := synthetic(2, 200)
	_, holdout, holdoutLabels := synthetic(3, 200)
	in := e.trainingInput(t, "xgb-1") // replaces its small data set with the synthetic one below
	e.put(t, "input-data/d1/holdout_data/holdout_data.csv", holdout)
	e.put(t, "input-data/d1/train/train.csv", train)
	e.put(t, "input-data/d1/validation/validation.csv", validation)
	in.AlgorithmSpecification.TrainingImage = aws.String(xgboostImage)
	in.HyperParameters = map[string]string{
		"objective": "binary:logistic", "colsample_bytree": "0.7", "max_depth": "4", "eta": "0.2", "gamma": "4",
		"min_child_weight": "6", "subsample": "0.7", "silent": "0", "num_round": "20", "seed": "0", "eval_metric": "auc",
	}
	_, err = e.client.CreateTrainingJob(ctx, in)
	require.NoError(t, err)
	job := e.waitTraining(t, "xgb-1")
	require.Equal(t, types.TrainingJobStatusCompleted, job.TrainingJobStatus, aws.ToString(job.FailureReason))
	metrics := map[string]float32{}
	for _, m := range job.FinalMetricDataList {
		metrics[aws.ToString(m.MetricName)] = aws.ToFloat32(m.Value)
	}
	require.Contains(t, metrics, "validation:auc")
	require.Greater(t, metrics["validation:auc"], float32(0.8))

	_, err = e.client.CreateModel(ctx, &sm.CreateModelInput{ModelName: aws.String("xgb-1"), ExecutionRoleArn: aws.String(testRole),
		PrimaryContainer: &types.ContainerDefinition{Image: aws.String(xgboostImage), ModelDataUrl: job.ModelArtifacts.S3ModelArtifacts}})
	require.NoError(t, err)
	_, err = e.client.CreateTransformJob(ctx, newTransformInput("xgb-1-infer", "xgb-1", "input-data/d1/holdout_data"))
	require.NoError(t, err)
	tj := e.waitTransform(t, "xgb-1-infer")
	require.Equal(t, types.TransformJobStatusCompleted, tj.TransformJobStatus, aws.ToString(tj.FailureReason))

	var got []float64
	for _, line := range strings.Split(strings.TrimSpace(string(e.get(t, "output-data/d1/run1/holdout_data.csv.out"))), "\n") {
		v, err := strconv.ParseFloat(line, 64)
		require.NoError(t, err, "prediction %q", line)
		got = append(got, v)
	}
	require.Len(t, got, len(holdoutLabels))
	require.Greater(t, auc(holdoutLabels, got), 0.8)

	// Oracle: Python's XGBoost loads the uploaded model.tar.gz as SageMaker's container would.
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "model.tar.gz"), e.get(t, "model/d1/xgb-1/output/model.tar.gz"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "holdout.csv"), []byte(holdout), 0o644))
	script := `
import sys, tarfile, numpy, xgboost
d = sys.argv[1]
tarfile.open(d + "/model.tar.gz").extractall(d + "/model")
b = xgboost.Booster(model_file=d + "/model/xgboost-model")
x = numpy.loadtxt(d + "/holdout.csv", delimiter=",", ndmin=2)
for p in b.predict(xgboost.DMatrix(x)):
    print(repr(float(p)))
`
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", "-c", script, dir)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	want := strings.Fields(string(out))
	require.Len(t, want, len(got))
	for i, w := range want {
		v, err := strconv.ParseFloat(w, 64)
		require.NoError(t, err)
		require.LessOrEqual(t, math.Abs(v-got[i]), 1e-5, "prediction %d", i)
	}
}

// TestXGBoostFailureReason runs the real XGBoost runner inside the service on failing jobs: the job's
// FailureReason is the runner's reason, with the one prefix the runner chose, and the failure file says the same.
func TestXGBoostFailureReason(t *testing.T) {
	resolver, err := algorithm.NewResolver(algorithm.Config{XGBoost: "/usr/bin/xgboost"})
	require.NoError(t, err, "this test needs /usr/bin/xgboost (apt-get install xgboost)")
	e := newEnv(t, nil, func(o *Options) { o.Algorithms = resolver })
	ctx := context.Background()
	for _, tc := range []struct {
		name, prefix, want string
		edit               func(in *sm.CreateTrainingJobInput)
	}{
		{"bad hyperparameter", "ClientError: ", "eta", func(in *sm.CreateTrainingJobInput) { in.HyperParameters["eta"] = "1.5" }},
		{"label outside [0,1]", "AlgorithmError: ", "label", func(*sm.CreateTrainingJobInput) {
			e.put(t, "input-data/d1/train/train.csv", "2,0.1,0.2\n0,0.3,0.4\n")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.ReplaceAll(strings.ReplaceAll(tc.name, " ", "-"), ",", "")
			name = strings.Trim(strings.NewReplacer("[", "", "]", "").Replace(name), "-")
			in := e.trainingInput(t, name)
			in.AlgorithmSpecification.TrainingImage = aws.String(xgboostImage)
			tc.edit(in)
			_, err := e.client.CreateTrainingJob(ctx, in)
			require.NoError(t, err)
			job := e.waitTraining(t, name)
			require.Equal(t, types.TrainingJobStatusFailed, job.TrainingJobStatus)
			reason := aws.ToString(job.FailureReason)
			require.True(t, strings.HasPrefix(reason, tc.prefix), reason)
			require.Equal(t, 1, strings.Count(reason, "Error: "), "one prefix: %s", reason)
			require.Contains(t, reason, tc.want)
			failure, err := os.ReadFile(filepath.Join(e.svc.jobDir(kindTraining, name), "output", "failure"))
			require.NoError(t, err)
			require.Equal(t, reason, strings.TrimSpace(string(failure)))
		})
	}
}
