package algorithm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Benchmarks for BENCHMARKS.md: run with
//
//	go test ./localaws/algorithm/ -run '^$' -bench . -benchtime 1x -timeout 30m
const benchRows, benchFeatures = 1_000_000, 10

// benchJob writes a job with the workshop hyperparameters and a generated train channel of benchRows rows.
func benchJob(b *testing.B) (root, trainFile string) {
	b.Helper()
	root = makeJob(b, workshopHyperparameters(), map[string]channel{
		"train": {"text/csv", map[string]string{"train.csv": makeDataset(21, benchRows, benchFeatures).csv(true)}},
	})
	return root, filepath.Join(root, "input", "data", "train", "train.csv")
}

// BenchmarkTrain compares the Trainer (hyperparameter translation, checking and copying the channel, the CLI)
// with running the CLI directly on the same file with the same parameters.
func BenchmarkTrain(b *testing.B) {
	x := newXGBoost(b)
	b.Run("Trainer", func(b *testing.B) {
		root, _ := benchJob(b)
		b.ResetTimer()
		for range b.N {
			if _, err := x.Train(context.Background(), root, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("CLI", func(b *testing.B) {
		_, train := benchJob(b)
		params, err := parseXGBoostHyperparameters(workshopHyperparameters())
		must(b, err)
		uri := `"` + train + `?format=csv&label_column=0"`
		conf := filepath.Join(b.TempDir(), "train.conf")
		lines := append([]string{"task = train", "data = " + uri, "eval[train] = " + uri, "num_round = 200",
			"model_out = " + filepath.Join(filepath.Dir(conf), "model")}, params.config...)
		must(b, os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
		b.ResetTimer()
		for range b.N {
			if out, err := exec.Command(x.Program, conf).CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
		}
		b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

// BenchmarkPredict measures Predict's throughput on benchRows feature rows with the workshop model.
func BenchmarkPredict(b *testing.B) {
	x := newXGBoost(b)
	root := makeJob(b, workshopHyperparameters(), map[string]channel{
		"train": {"text/csv", map[string]string{"train.csv": makeDataset(22, 20_000, benchFeatures).csv(true)}},
	})
	if _, err := x.Train(context.Background(), root, nil); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	input := filepath.Join(dir, "holdout.csv")
	must(b, os.WriteFile(input, []byte(makeDataset(23, benchRows, benchFeatures).csv(false)), 0o644))
	b.ResetTimer()
	for range b.N {
		if err := x.Predict(context.Background(), filepath.Join(root, "model"), input, input+".out"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkChannelCheck isolates what the Trainer adds before the CLI starts: checking every record of a
// benchRows-row CSV channel and copying it to the scratch file the CLI reads.
func BenchmarkChannelCheck(b *testing.B) {
	root, _ := benchJob(b)
	dst := filepath.Join(b.TempDir(), "train.data")
	b.ResetTimer()
	for range b.N {
		if _, err := concatChannel(filepath.Join(root, "input", "data", "train"), "train", CSV, dst); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
