package localaws_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func putObject(t *testing.T, c *s3.Client, bucket, key, body string) {
	t.Helper()
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body),
		ContentType: aws.String("text/csv"),
	})
	if err != nil {
		t.Fatalf("put s3://%s/%s: %v", bucket, key, err)
	}
}

func getObject(t *testing.T, c *s3.Client, bucket, key string) (string, *s3.GetObjectOutput) {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("read s3://%s/%s: %v", bucket, key, err)
	}
	return string(b), out
}

func listKeys(t *testing.T, c *s3.Client, in *s3.ListObjectsV2Input) (keys, prefixes []string) {
	t.Helper()
	p := s3.NewListObjectsV2Paginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list s3://%s/%s: %v", aws.ToString(in.Bucket), aws.ToString(in.Prefix), err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		for _, cp := range page.CommonPrefixes {
			prefixes = append(prefixes, aws.ToString(cp.Prefix))
		}
	}
	return keys, prefixes
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestS3RoundTrip(t *testing.T) {
	e := start(t, "")
	c := e.s3(1)
	ctx := context.Background()
	const bucket = "mdlc-data"

	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), Body: strings.NewReader("x")}); errorCode(err) != "NoSuchBucket" {
		t.Fatalf("put to a missing bucket: got %v, want NoSuchBucket", err)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); errorCode(err) != "BucketAlreadyExists" {
		t.Fatalf("create the bucket again: got %v, want BucketAlreadyExists", err)
	}
	objects := map[string]string{
		"input-data/2020-01-01/train/train.csv":           "1,0.5,0.25\n0,0.1,0.2\n",
		"input-data/2020-01-01/validation/validation.csv": "1,0.4,0.3\n",
		"input-data/2020-01-02/train/train.csv":           "0,0,0\n",
		"model/m-1/output/model.tar.gz":                   "not really a tarball",
		"workflow_request.json":                           `{"ModelName":"m"}`,
	}
	for k, v := range objects {
		putObject(t, c, bucket, k, v)
	}

	tests := []struct {
		name               string
		in                 s3.ListObjectsV2Input
		wantKeys, wantPref []string
	}{
		{name: "all", wantKeys: sortedKeys(objects)},
		{name: "prefix", in: s3.ListObjectsV2Input{Prefix: aws.String("input-data/2020-01-01/")},
			wantKeys: []string{"input-data/2020-01-01/train/train.csv", "input-data/2020-01-01/validation/validation.csv"}},
		{name: "partial segment prefix", in: s3.ListObjectsV2Input{Prefix: aws.String("input-data/2020-01-0")},
			wantKeys: []string{"input-data/2020-01-01/train/train.csv", "input-data/2020-01-01/validation/validation.csv", "input-data/2020-01-02/train/train.csv"}},
		{name: "delimiter at root", in: s3.ListObjectsV2Input{Delimiter: aws.String("/")},
			wantKeys: []string{"workflow_request.json"}, wantPref: []string{"input-data/", "model/"}},
		{name: "delimiter under prefix", in: s3.ListObjectsV2Input{Prefix: aws.String("input-data/"), Delimiter: aws.String("/")},
			wantPref: []string{"input-data/2020-01-01/", "input-data/2020-01-02/"}},
		{name: "pages of two", in: s3.ListObjectsV2Input{MaxKeys: aws.Int32(2)}, wantKeys: sortedKeys(objects)},
		{name: "pages of one with delimiter", in: s3.ListObjectsV2Input{MaxKeys: aws.Int32(1), Delimiter: aws.String("/")},
			wantKeys: []string{"workflow_request.json"}, wantPref: []string{"input-data/", "model/"}},
		{name: "no match", in: s3.ListObjectsV2Input{Prefix: aws.String("nothing/")}},
	}
	for _, tt := range tests {
		t.Run("list "+tt.name, func(t *testing.T) {
			in := tt.in
			in.Bucket = aws.String(bucket)
			keys, prefixes := listKeys(t, c, &in)
			if !slices.Equal(keys, tt.wantKeys) || !slices.Equal(prefixes, tt.wantPref) {
				t.Errorf("got keys %q prefixes %q, want keys %q prefixes %q", keys, prefixes, tt.wantKeys, tt.wantPref)
			}
		})
	}

	for k, v := range objects {
		got, out := getObject(t, c, bucket, k)
		if got != v {
			t.Errorf("get %s: got %q, want %q", k, got, v)
		}
		if etag := strings.Trim(aws.ToString(out.ETag), `"`); etag != md5hex(v) {
			t.Errorf("get %s: etag %s, want %s", k, etag, md5hex(v))
		}
		if ct := aws.ToString(out.ContentType); ct != "text/csv" {
			t.Errorf("get %s: content type %q, want text/csv", k, ct)
		}
		// The object is a plain file a user can look at.
		onDisk, err := os.ReadFile(filepath.Join(e.dataDir, "s3", bucket, filepath.FromSlash(k)))
		if err != nil || string(onDisk) != v {
			t.Errorf("file of %s: got %q, %v; want %q", k, onDisk, err, v)
		}
	}
	if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("missing")}); errorCode(err) != "NoSuchKey" {
		t.Errorf("get a missing key: got %v, want NoSuchKey", err)
	}
	ranged, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("workflow_request.json"), Range: aws.String("bytes=2-10")})
	if err != nil {
		t.Fatalf("ranged get: %v", err)
	}
	b, _ := io.ReadAll(ranged.Body)
	ranged.Body.Close()
	if string(b) != `ModelName` {
		t.Errorf("ranged get: got %q, want %q", b, "ModelName")
	}

	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("model/m-1/output/model.tar.gz")}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("never/existed")}); err != nil {
		t.Fatalf("delete a missing key: %v", err)
	}
	keys, _ := listKeys(t, c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("model/")})
	if len(keys) != 0 {
		t.Errorf("after delete: got keys %q", keys)
	}
	// The emptied directories are gone, so "model" can now be an object itself.
	putObject(t, c, bucket, "model", "now a file")

	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); errorCode(err) != "BucketNotEmpty" {
		t.Errorf("delete a full bucket: got %v, want BucketNotEmpty", err)
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestS3KeysThatAreNotPaths(t *testing.T) {
	e := start(t, "")
	c := e.s3(1)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("b")}); errorCode(err) != "InvalidBucketName" {
		t.Errorf("create bucket %q: got %v, want InvalidBucketName", "b", err)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("keys")}); err != nil {
		t.Fatal(err)
	}
	putObject(t, c, "keys", "a/b", "x")
	tests := []struct{ key, want string }{
		{"a", "InvalidArgument"},     // a directory of other keys
		{"a/b/c", "InvalidArgument"}, // under an object
		{"a/", "InvalidArgument"},    // trailing slash
		{"a//c", "InvalidArgument"},  // empty segment
		{"./c", "InvalidArgument"},   // dot segment
		{"a/b", ""},                  // overwriting is fine
		{"a/c", ""},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("keys"), Key: aws.String(tt.key), Body: strings.NewReader("y")})
			if got := errorCode(err); got != tt.want {
				t.Errorf("put %q: got %v, want code %q", tt.key, err, tt.want)
			}
		})
	}
}

func TestS3PersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	e := start(t, dir)
	c := e.s3(1)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("kept")}); err != nil {
		t.Fatal(err)
	}
	putObject(t, c, "kept", "dir/object.csv", "1,2,3\n")
	e.stop(t)

	e2 := start(t, dir)
	c2 := e2.s3(1)
	got, out := getObject(t, c2, "kept", "dir/object.csv")
	if got != "1,2,3\n" || strings.Trim(aws.ToString(out.ETag), `"`) != md5hex(got) || aws.ToString(out.ContentType) != "text/csv" {
		t.Errorf("after restart: got %q etag %s content type %q", got, aws.ToString(out.ETag), aws.ToString(out.ContentType))
	}
	buckets, err := c2.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(buckets.Buckets) != 1 || aws.ToString(buckets.Buckets[0].Name) != "kept" {
		t.Errorf("buckets after restart: %+v, %v", buckets, err)
	}

	// A file placed by hand is an object too, with a computed ETag.
	if err := os.WriteFile(filepath.Join(dir, "s3", "kept", "dir", "by-hand.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, out = getObject(t, c2, "kept", "dir/by-hand.txt")
	if got != "hello" || strings.Trim(aws.ToString(out.ETag), `"`) != md5hex("hello") {
		t.Errorf("hand-placed file: got %q etag %s", got, aws.ToString(out.ETag))
	}
}

// TestS3PathTraversal tries to make keys and bucket names reach files outside the data directory, through
// the SDK and through raw HTTP requests, and checks that nothing is written or read there.
func TestS3PathTraversal(t *testing.T) {
	top := t.TempDir()
	dataDir := filepath.Join(top, "data")
	secret := filepath.Join(top, "secret.txt")
	if err := os.WriteFile(secret, []byte("top secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := start(t, dataDir)
	c := e.s3(1)
	ctx := context.Background()
	for _, b := range []string{"victim", "other"} {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	putObject(t, c, "other", "private.txt", "other bucket's data")

	sdkKeys := []string{
		"../escape-1", "../../escape-2", "../../../escape-3", "a/../../escape-4", "/abs/escape-5",
		"/" + filepath.Join(top, "escape-6"), "..\\escape-7", "a\\..\\..\\escape-8", "../other/escape-9",
		"%2e%2e%2fescape-10", "..%2fescape-11", ".", "..",
	}
	for _, key := range sdkKeys {
		t.Run("sdk put "+key, func(t *testing.T) {
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("victim"), Key: aws.String(key), Body: strings.NewReader("pwned")})
			if err == nil && !strings.Contains(key, "%") {
				t.Errorf("put %q succeeded", key)
			}
		})
		if strings.Contains(key, "%") {
			continue
		}
		t.Run("sdk get "+key, func(t *testing.T) {
			_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("victim"), Key: aws.String(key)})
			if err == nil {
				t.Errorf("get %q succeeded", key)
			}
		})
	}
	// Keys with literal percent signs are legal S3 keys; they must stay inside the bucket.
	for _, key := range []string{"%2e%2e%2fescape-10", "..%2fescape-11"} {
		if _, err := os.Stat(filepath.Join(dataDir, "s3", "victim", key)); err != nil {
			t.Errorf("key %q is not a file inside its bucket: %v", key, err)
		}
	}
	for _, key := range []string{"../secret.txt", "../../secret.txt", "../../../secret.txt", "../other/private.txt"} {
		if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("victim"), Key: aws.String(key)}); err == nil {
			t.Errorf("get %q succeeded", key)
		}
	}

	rawPaths := []string{
		"/victim/../escape-20", "/victim/../../escape-21", "/victim/%2e%2e%2f%2e%2e%2fescape-22",
		"/victim/..%2f..%2fescape-23", "/victim/%2e%2e/%2e%2e/escape-24", "/victim/..%5c..%5cescape-25",
		"/victim//" + url(filepath.Join(top, "escape-27")),
		"/..%2f..%2fescape-28/x", "/%2e%2e/escape-29", "/%2e%2e%2f%2e%2e/escape-30", "/victim/a/%2e%2e/%2e%2e/%2e%2e/escape-31",
		"/..%5cescape-32/x",
	}
	for _, p := range rawPaths {
		t.Run("raw put "+p, func(t *testing.T) {
			status, body := do(t, http.MethodPut, e.http.URL+p, strings.NewReader("pwned"), nil)
			if status < 400 {
				t.Errorf("PUT %s: status %d %s", p, status, body)
			}
		})
	}
	// An absolute path after the bucket is a relative key: it stays inside the bucket.
	if status, body := do(t, http.MethodPut, e.http.URL+"/victim/"+url(filepath.Join(top, "escape-26")), strings.NewReader("ok"), nil); status != http.StatusOK {
		t.Errorf("PUT a key that looks like an absolute path: status %d %s", status, body)
	}
	readPaths := []string{
		"/victim/../secret.txt", "/victim/..%2f..%2fsecret.txt", "/victim/%2e%2e%2f%2e%2e%2fsecret.txt",
		"/victim/..%2f..%2f..%2fsecret.txt", "/victim/" + url(secret), "/victim//" + url(secret), "/victim/..%5c..%5csecret.txt",
		"/victim/..%2fother%2fprivate.txt", "/%2e%2e/secret.txt", "/%2e%2e/data/s3/other/private.txt",
	}
	for _, p := range readPaths {
		t.Run("raw get "+p, func(t *testing.T) {
			status, body := do(t, http.MethodGet, e.http.URL+p, nil, nil)
			if status < 400 || strings.Contains(body, "top secret") || strings.Contains(body, "other bucket's data") {
				t.Errorf("GET %s: status %d %s", p, status, body)
			}
		})
	}
	for _, p := range []string{"/victim/..%2fother%2fprivate.txt", "/victim/../other/private.txt", "/%2e%2e/data"} {
		if status, _ := do(t, http.MethodDelete, e.http.URL+p, nil, nil); status >= 300 && status != http.StatusNotFound && status != http.StatusBadRequest {
			t.Errorf("DELETE %s: status %d", p, status)
		}
	}

	// Nothing named escape-* exists anywhere but inside the victim bucket, and the other bucket is intact.
	err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(d.Name(), "escape") && !strings.HasPrefix(p, filepath.Join(dataDir, "s3", "victim")+string(filepath.Separator)) {
			t.Errorf("file written outside its bucket: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := getObject(t, c, "other", "private.txt"); got != "other bucket's data" {
		t.Errorf("other bucket's object: %q", got)
	}
	if b, err := os.ReadFile(secret); err != nil || string(b) != "top secret" {
		t.Errorf("secret file: %q, %v", b, err)
	}
}

// url turns an absolute file path into path segments of a URL, without its leading slash.
func url(p string) string { return strings.TrimPrefix(filepath.ToSlash(p), "/") }
