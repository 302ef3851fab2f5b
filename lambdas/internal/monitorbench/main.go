// Command monitorbench measures monitor-performance on large files: it writes a prediction file and a target
// file of -rows rows to a temporary directory, runs the handler over them through a file-backed S3API (so
// the process never holds the files in memory), and prints the wall time and the process's peak resident
// memory (VmHWM) before and during the run. lambdas/BENCHMARKS.md records its results.
//
// Usage: go run ./lambdas/internal/monitorbench -rows 10000000
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mdlc/mdlc/lambdas"
	"github.com/mdlc/mdlc/lambdas/contract"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "monitorbench:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("monitorbench", flag.ContinueOnError)
	rows := fs.Int("rows", 1_000_000, "rows in each file")
	dir := fs.String("dir", "", "directory for the generated files (default: a temporary one, removed after)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rows < 2 {
		return errors.New("-rows must be at least 2")
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "monitorbench")
		if err != nil {
			return fmt.Errorf("create temporary directory: %w", err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	if err := generate(*dir, *rows); err != nil {
		return err
	}
	runtime.GC()
	before, err := peakRSS()
	if err != nil {
		return err
	}
	h := lambdas.New(fileS3{dir: *dir})
	cpuStart, err := cpuTime()
	if err != nil {
		return err
	}
	start := time.Now()
	out, err := h.MonitorPerformance(context.Background(), contract.MonitorEvent{
		PredictionInput: "s3://bench/predictions.csv.out", TargetInput: "s3://bench/target.csv"})
	elapsed := time.Since(start)
	if err != nil {
		return err
	}
	cpuEnd, err := cpuTime()
	if err != nil {
		return err
	}
	after, err := peakRSS()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rows=%d auc=%.6f time=%s cpu=%s peak_rss_before=%dMiB peak_rss=%dMiB bytes_per_row=%.1f GOMAXPROCS=%d\n",
		*rows, out.ModelPerformance, elapsed.Round(time.Millisecond), (cpuEnd - cpuStart).Round(time.Millisecond), before>>20, after>>20,
		float64(after-before)/float64(*rows), runtime.GOMAXPROCS(0))
	return nil
}

// generate writes predictions like XGBoost's batch-transform output (full float64 precision) and 0/1 targets.
func generate(dir string, rows int) error {
	pf, err := os.Create(filepath.Join(dir, "predictions.csv.out"))
	if err != nil {
		return fmt.Errorf("create predictions: %w", err)
	}
	defer pf.Close()
	tf, err := os.Create(filepath.Join(dir, "target.csv"))
	if err != nil {
		return fmt.Errorf("create target: %w", err)
	}
	defer tf.Close()
	pw, tw := bufio.NewWriter(pf), bufio.NewWriter(tf)
	rng := rand.New(rand.NewPCG(1, 1))
	var buf []byte
	for range rows {
		label := rng.IntN(2)
		score := rng.Float64()*0.8 + 0.2*float64(label)
		buf = strconv.AppendFloat(buf[:0], score, 'g', -1, 64)
		buf = append(buf, '\n')
		pw.Write(buf)
		tw.WriteString(strconv.Itoa(label) + "\n")
	}
	if err := pw.Flush(); err != nil {
		return fmt.Errorf("write predictions: %w", err)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write target: %w", err)
	}
	return nil
}

// cpuTime returns the user plus system CPU time the process has used: unlike wall time, it does not grow
// when other processes compete for the cores.
func cpuTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("read cpu time: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// peakRSS reads the process's peak resident set size from /proc/self/status.
func peakRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read peak memory: %w", err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmHWM %q: %w", rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}

// fileS3 serves GetObject from files in dir (s3://any-bucket/<name> is dir/<name>); the handler only reads.
type fileS3 struct{ dir string }

func (f fileS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	file, err := os.Open(filepath.Join(f.dir, filepath.Base(aws.ToString(in.Key))))
	if err != nil {
		return nil, err
	}
	info, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, err
	}
	return &s3.GetObjectOutput{Body: file, ContentLength: aws.Int64(info.Size())}, nil
}

func (fileS3) PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	return nil, errors.New("read-only")
}

func (fileS3) HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	return nil, errors.New("read-only")
}

func (fileS3) ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	return nil, errors.New("read-only")
}
