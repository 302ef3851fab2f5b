package demodata

import (
	"context"
	"io"
	"testing"
)

// BenchmarkGenerate measures the generator alone: one default-sized train file (15,000 rows).
func BenchmarkGenerate(b *testing.B) {
	d, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	f := d.Files()[0]
	var size int64
	for b.Loop() {
		r, err := d.Open(f)
		if err != nil {
			b.Fatal(err)
		}
		if size, err = io.Copy(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(size)
}

// BenchmarkUpload measures Upload of the default dataset (two dates) to an in-memory S3 over loopback.
func BenchmarkUpload(b *testing.B) {
	client := newS3(b, "us-east-1")
	cfg := DefaultConfig()
	cfg.Bucket, cfg.CreateBucket = "mdlc-demo", true
	for b.Loop() {
		if err := Upload(context.Background(), client, cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
}
