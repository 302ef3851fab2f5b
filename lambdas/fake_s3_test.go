package lambdas

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sort"
	"strings"
	"sync"
	"testing/iotest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// fakeS3 is an in-memory S3API for unit tests: buckets of objects, typed not-found errors like the SDK's,
// and an optional error for every call (fail).
type fakeS3 struct {
	mu      sync.Mutex
	buckets map[string]map[string][]byte
	fail    error
	puts    []string // s3 URIs written, in order
}

func newFakeS3(bucket string, objects map[string]string) *fakeS3 {
	f := &fakeS3{buckets: map[string]map[string][]byte{bucket: {}}}
	for k, v := range objects {
		f.buckets[bucket][k] = []byte(v)
	}
	return f
}

func (f *fakeS3) bucket(name *string) (map[string][]byte, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	b, ok := f.buckets[aws.ToString(name)]
	if !ok {
		return nil, &types.NoSuchBucket{Message: aws.String("The specified bucket does not exist")}
	}
	return b, nil
}

func (f *fakeS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.bucket(in.Bucket)
	if err != nil {
		return nil, err
	}
	data, ok := b[aws.ToString(in.Key)]
	if !ok {
		return nil, &types.NoSuchKey{Message: aws.String("The specified key does not exist.")}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(data))}, nil
}

func (f *fakeS3) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.bucket(in.Bucket)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	b[aws.ToString(in.Key)] = data
	f.puts = append(f.puts, "s3://"+aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key))
	return &s3.PutObjectOutput{}, nil
}

func (f *fakeS3) HeadObject(_ context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.bucket(in.Bucket)
	if err != nil {
		return nil, err
	}
	data, ok := b[aws.ToString(in.Key)]
	if !ok {
		return nil, &types.NotFound{}
	}
	return &s3.HeadObjectOutput{ContentLength: aws.Int64(int64(len(data)))}, nil
}

func (f *fakeS3) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.bucket(in.Bucket)
	if err != nil {
		return nil, err
	}
	var keys []string
	for k := range b {
		if strings.HasPrefix(k, aws.ToString(in.Prefix)) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if max := int(aws.ToInt32(in.MaxKeys)); max > 0 && len(keys) > max {
		keys = keys[:max]
	}
	out := &s3.ListObjectsV2Output{KeyCount: aws.Int32(int32(len(keys)))}
	for _, k := range keys {
		out.Contents = append(out.Contents, types.Object{Key: aws.String(k)})
	}
	return out, nil
}

// brokenBodyS3 serves bodies that fail after their first line.
type brokenBodyS3 struct{ *fakeS3 }

func (b *brokenBodyS3) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	out, err := b.fakeS3.GetObject(ctx, in, opts...)
	if err != nil {
		return nil, err
	}
	data, _ := io.ReadAll(out.Body)
	first, _, _ := bytes.Cut(data, []byte("\n"))
	out.Body = io.NopCloser(io.MultiReader(bytes.NewReader(append(first, '\n')), iotest.ErrReader(errors.New("connection reset by peer"))))
	return out, nil
}
