package lambdas

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mdlc/mdlc/lambdas/contract"
)

// benchS3 serves the same two bodies for every GetObject; the rest of S3API is unused by the monitor.
type benchS3 struct {
	S3API
	pred, target []byte
}

func (b benchS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	body := b.target
	if *in.Key == predKey {
		body = b.pred
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(body)), ContentLength: aws.Int64(int64(len(body)))}, nil
}

// benchFiles returns XGBoost-like predictions (full float64 precision) and 0/1 targets.
func benchFiles(rows int) (pred, target []byte) {
	rng := rand.New(rand.NewPCG(1, 1))
	pred = make([]byte, 0, rows*20)
	target = make([]byte, 0, rows*2)
	for range rows {
		label := rng.IntN(2)
		pred = strconv.AppendFloat(pred, rng.Float64()*0.8+0.2*float64(label), 'g', -1, 64)
		pred = append(pred, '\n')
		target = append(target, byte('0'+label), '\n')
	}
	return pred, target
}

// BenchmarkMonitorPerformance measures the whole handler on in-memory objects: parsing both files, the
// sort and the count. See BENCHMARKS.md.
func BenchmarkMonitorPerformance(b *testing.B) {
	for _, rows := range []int{1_000_000, 10_000_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			pred, target := benchFiles(rows)
			h := New(benchS3{pred: pred, target: target})
			event := contract.MonitorEvent{PredictionInput: predURI, TargetInput: targetURI}
			b.SetBytes(int64(len(pred) + len(target)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h.MonitorPerformance(context.Background(), event); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
