package demodata

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// newS3 starts an in-memory S3 (gofakes3) on loopback and returns a real SDK client for it.
func newS3(t testing.TB, region string) *s3.Client {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	return s3.New(s3.Options{
		Region:       region,
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:   srv.Client(),
	})
}

func bucketExists(t *testing.T, client *s3.Client, bucket string) bool {
	t.Helper()
	out, err := client.ListBuckets(context.Background(), &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range out.Buckets {
		if aws.ToString(b.Name) == bucket {
			return true
		}
	}
	return false
}

// checkObjects compares every object of the dataset of cfg in the bucket with the generated file.
func checkObjects(t *testing.T, client *s3.Client, cfg Config) {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range d.Files() {
		out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(cfg.Bucket), Key: aws.String(f.Key)})
		if err != nil {
			t.Fatalf("get %s: %v", f.Key, err)
		}
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if want := readAll(t, d, f); string(got) != want {
			t.Errorf("%s: object (%d bytes) differs from the generated file (%d bytes)", f.Key, len(got), len(want))
		}
		if ct := aws.ToString(out.ContentType); ct != csvContentType {
			t.Errorf("%s: content type %q, want %q", f.Key, ct, csvContentType)
		}
	}
}

func TestUpload(t *testing.T) {
	tests := []struct {
		name     string
		region   string
		exists   bool // the bucket is created before Upload
		create   bool // Config.CreateBucket
		wantErr  error
		runTwice bool
	}{
		{name: "creates a missing bucket", region: "us-east-1", create: true},
		{name: "creates a missing bucket outside us-east-1", region: "eu-west-1", create: true},
		{name: "uses an existing bucket", region: "us-east-1", exists: true},
		{name: "create is idempotent on an existing bucket", region: "us-east-1", exists: true, create: true},
		{name: "second run replaces the objects", region: "us-east-1", create: true, runTwice: true},
		{name: "missing bucket without create", region: "us-east-1", wantErr: ErrNoBucket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			client := newS3(t, tt.region)
			cfg := small()
			cfg.Bucket, cfg.CreateBucket = "mdlc-demo", tt.create
			if tt.exists {
				if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(cfg.Bucket)}); err != nil {
					t.Fatal(err)
				}
			}
			var written []Written
			err := Upload(ctx, client, cfg, func(w Written) { written = append(written, w) })
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Upload() = %v, want %v", err, tt.wantErr)
				}
				if bucketExists(t, client, cfg.Bucket) {
					t.Error("the bucket was created")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.runTwice {
				if err := Upload(ctx, client, cfg, nil); err != nil {
					t.Fatalf("second Upload: %v", err)
				}
			}
			checkObjects(t, client, cfg)
			if len(written) != len(cfg.Dates)*len(Splits) {
				t.Fatalf("progress reported %d files, want %d", len(written), len(cfg.Dates)*len(Splits))
			}
			for _, w := range written {
				if w.Location != "s3://mdlc-demo/"+w.Key || w.Bytes <= 0 {
					t.Errorf("progress %+v", w)
				}
			}
		})
	}
}

// TestUploadMultipart sends files larger than a part, as a large dataset does, and checks the objects.
func TestUploadMultipart(t *testing.T) {
	ctx := context.Background()
	client := newS3(t, "us-east-1")
	cfg := small()
	cfg.Dates = cfg.Dates[:1]
	cfg.Bucket, cfg.CreateBucket = "mdlc-demo", true
	cfg.TrainRows = 5000 // about 250 KiB: four parts of 64 KiB
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d.partSize = 64 << 10
	rec := &recorder{S3API: client}
	if err := d.Upload(ctx, rec, nil); err != nil {
		t.Fatal(err)
	}
	checkObjects(t, client, cfg)
	if rec.calls["UploadPart"] < 4 || rec.calls["CompleteMultipartUpload"] != 1 {
		t.Errorf("calls %v: want the train file in at least 4 parts", rec.calls)
	}
}

// TestUploadAbortsFailedMultipart checks that a failure in the middle of a multipart upload aborts it and
// leaves no object behind.
func TestUploadAbortsFailedMultipart(t *testing.T) {
	ctx := context.Background()
	client := newS3(t, "us-east-1")
	cfg := small()
	cfg.Dates = cfg.Dates[:1]
	cfg.Bucket, cfg.CreateBucket = "mdlc-demo", true
	cfg.TrainRows = 5000
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d.partSize = 64 << 10
	rec := &recorder{S3API: client, failPart: 2}
	err = d.Upload(ctx, rec, nil)
	if err == nil || !strings.Contains(err.Error(), "upload part 2") || !strings.Contains(err.Error(), Key(cfg.Dates[0], Train)) {
		t.Fatalf("Upload() = %v, want the failure of part 2 of the train file", err)
	}
	if rec.calls["AbortMultipartUpload"] != 1 {
		t.Errorf("calls %v: want one abort", rec.calls)
	}
	list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(cfg.Bucket)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range list.Contents {
		t.Errorf("object %s left behind", aws.ToString(o.Key))
	}
}

// TestUploadRejectsBadInputBeforeCallingS3 checks that an invalid config touches nothing.
func TestUploadRejectsBadInputBeforeCallingS3(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
	}{
		{"no bucket", func(c *Config) { c.Bucket = "" }},
		{"invalid bucket name", func(c *Config) { c.Bucket = "Not_A_Bucket" }},
		{"invalid date", func(c *Config) { c.Dates = []string{"2019-13-01"} }},
		{"no rows", func(c *Config) { c.HoldoutRows = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := small()
			cfg.Bucket, cfg.CreateBucket = "mdlc-demo", true
			tt.modify(&cfg)
			rec := &recorder{}
			if err := Upload(context.Background(), rec, cfg, nil); err == nil {
				t.Fatal("Upload accepted the config")
			}
			if len(rec.calls) > 0 {
				t.Errorf("S3 was called: %v", rec.calls)
			}
		})
	}
	if err := Upload(context.Background(), nil, Config{}, nil); err == nil {
		t.Error("Upload accepted an empty config and no client")
	}
}

// TestUploadRefusesForeignBucket checks that a bucket the credentials cannot reach (S3 answers 403 to
// HeadBucket) is reported, not created or written to.
func TestUploadRefusesForeignBucket(t *testing.T) {
	cfg := small()
	cfg.Bucket, cfg.CreateBucket = "someone-elses", true
	rec := &recorder{headErr: &smithy.OperationError{
		ServiceID: "S3", OperationName: "HeadBucket",
		Err: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: http.StatusForbidden}}, Err: &smithy.GenericAPIError{Code: "Forbidden"}},
	}}
	err := Upload(context.Background(), rec, cfg, nil)
	if err == nil || !strings.Contains(err.Error(), `check bucket "someone-elses"`) {
		t.Fatalf("Upload() = %v, want a check bucket error", err)
	}
	if rec.calls["CreateBucket"]+rec.calls["PutObject"] > 0 {
		t.Errorf("calls %v: want no create and no write", rec.calls)
	}
}

// TestCreateBucketLocation checks that the bucket is created in the client's region: S3 rejects a
// CreateBucket outside us-east-1 that does not restate it.
func TestCreateBucketLocation(t *testing.T) {
	tests := []struct {
		region string
		want   string // LocationConstraint, "" for none
	}{
		{"us-east-1", ""},
		{"eu-west-1", "eu-west-1"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(cmp.Or(tt.region, "no region"), func(t *testing.T) {
			cfg := small()
			cfg.Bucket, cfg.CreateBucket = "mdlc-demo", true
			rec := &recorder{S3API: newS3(t, "us-east-1")}
			if err := Upload(context.Background(), regional{recorder: rec, region: tt.region}, cfg, nil); err != nil {
				t.Fatal(err)
			}
			if len(rec.created) != 1 {
				t.Fatalf("%d CreateBucket calls, want 1", len(rec.created))
			}
			got := ""
			if c := rec.created[0].CreateBucketConfiguration; c != nil {
				got = string(c.LocationConstraint)
			}
			if got != tt.want {
				t.Errorf("LocationConstraint %q, want %q", got, tt.want)
			}
		})
	}
}

func TestProgressTo(t *testing.T) {
	var b bytes.Buffer
	ProgressTo(&b)(Written{File: File{Rows: 3}, Location: "s3://b/k.csv", Bytes: 42})
	if got, want := b.String(), "wrote s3://b/k.csv (3 rows, 42 bytes)\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// recorder counts the S3 calls made through it and injects failures; with a nil S3API it fails every
// call that is not answered by an injected error.
type recorder struct {
	S3API
	mu       sync.Mutex
	calls    map[string]int
	failPart int32 // UploadPart of this part number fails
	headErr  error // HeadBucket fails with it
	created  []*s3.CreateBucketInput
}

// regional is a recorder that tells its region, as *s3.Client does.
type regional struct {
	*recorder
	region string
}

func (r regional) Options() s3.Options { return s3.Options{Region: r.region} }

func (r *recorder) count(op string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string]int{}
	}
	r.calls[op]++
}

var errNoBackend = errors.New("recorder has no backend")

func (r *recorder) HeadBucket(ctx context.Context, in *s3.HeadBucketInput, opts ...func(*s3.Options)) (*s3.HeadBucketOutput, error) {
	r.count("HeadBucket")
	if r.headErr != nil {
		return nil, r.headErr
	}
	if r.S3API == nil {
		return nil, errNoBackend
	}
	return r.S3API.HeadBucket(ctx, in, opts...)
}

func (r *recorder) CreateBucket(ctx context.Context, in *s3.CreateBucketInput, opts ...func(*s3.Options)) (*s3.CreateBucketOutput, error) {
	r.count("CreateBucket")
	r.mu.Lock()
	r.created = append(r.created, in)
	r.mu.Unlock()
	if r.S3API == nil {
		return nil, errNoBackend
	}
	return r.S3API.CreateBucket(ctx, in, opts...)
}

func (r *recorder) PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	r.count("PutObject")
	if r.S3API == nil {
		return nil, errNoBackend
	}
	return r.S3API.PutObject(ctx, in, opts...)
}

func (r *recorder) CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, opts ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error) {
	r.count("CreateMultipartUpload")
	if r.S3API == nil {
		return nil, errNoBackend
	}
	return r.S3API.CreateMultipartUpload(ctx, in, opts...)
}

func (r *recorder) UploadPart(ctx context.Context, in *s3.UploadPartInput, opts ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	r.count("UploadPart")
	if aws.ToInt32(in.PartNumber) == r.failPart {
		return nil, errors.New("injected failure")
	}
	if r.S3API == nil {
		return nil, errNoBackend
	}
	return r.S3API.UploadPart(ctx, in, opts...)
}

func (r *recorder) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, opts ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	r.count("CompleteMultipartUpload")
	if r.S3API == nil {
		return nil, errNoBackend
	}
	return r.S3API.CompleteMultipartUpload(ctx, in, opts...)
}

func (r *recorder) AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, opts ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error) {
	r.count("AbortMultipartUpload")
	if r.S3API == nil {
		return nil, errNoBackend
	}
	return r.S3API.AbortMultipartUpload(ctx, in, opts...)
}
