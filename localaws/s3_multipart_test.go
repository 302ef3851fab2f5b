package localaws_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// multipartETag is S3's ETag of an object uploaded in parts of partSize bytes: the MD5 of the parts' MD5s,
// a hyphen and the number of parts.
func multipartETag(data []byte, partSize int) string {
	var sums []byte
	n := 0
	for off := 0; off < len(data); off += partSize {
		sum := md5.Sum(data[off:min(off+partSize, len(data))])
		sums = append(sums, sum[:]...)
		n++
	}
	all := md5.Sum(sums)
	return fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(all[:]), n)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{1})
	_, _ = r.Read(b)
	return b
}

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestS3MultipartPartsOnDisk: the parts of an open upload are files under the data directory, not memory
// (the live heap does not grow by what was uploaded); the upload ID is random; the completed object has
// S3's multipart ETag in CompleteMultipartUpload, HeadObject, GetObject and ListObjectsV2 alike; an upload
// survives a restart.
func TestS3MultipartPartsOnDisk(t *testing.T) {
	dir := t.TempDir()
	e := start(t, dir)
	ctx := context.Background()
	c := e.s3(1)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("big")}); err != nil {
		t.Fatal(err)
	}
	const partSize, parts = 6 << 20, 3
	data := randomBytes(partSize*parts - 1000)

	before := heapInUse()
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("data/train.csv")})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(up.UploadId)
	var done []types.CompletedPart
	for i := 0; i < parts; i++ {
		body := data[i*partSize : min((i+1)*partSize, len(data))]
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: aws.String("big"), Key: aws.String("data/train.csv"), UploadId: up.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(body),
		})
		if err != nil {
			t.Fatalf("upload part %d: %v", i+1, err)
		}
		done = append(done, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}
	grew := int64(heapInUse()) - int64(before)
	t.Logf("live heap grew by %d bytes while %d bytes of parts were open", grew, len(data))
	if grew > partSize {
		t.Errorf("the live heap grew by %d bytes with %d bytes of parts uploaded: parts are held in memory", grew, len(data))
	}
	var onDisk int64
	_ = filepath.Walk(filepath.Join(dir, "s3"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && strings.Contains(p, id) {
			onDisk += fi.Size()
		}
		return nil
	})
	if onDisk < int64(len(data)) {
		t.Errorf("%d bytes of upload %s on disk under %s, want at least %d", onDisk, id, dir, len(data))
	}
	if len(id) < 32 || strings.Trim(id, "0123456789") == "" {
		t.Errorf("upload ID %q: want a long random ID as S3's", id)
	}
	other, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("other")})
	if err != nil || aws.ToString(other.UploadId) == id {
		t.Errorf("second upload ID %v (%v), want another than %s", other, err, id)
	}
	list, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("big")})
	if err != nil || len(list.Uploads) != 2 || aws.ToString(list.Uploads[0].UploadId) != id {
		t.Errorf("list uploads: %+v, %v", list, err)
	}
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("other"), UploadId: other.UploadId}); err != nil {
		t.Errorf("abort: %v", err)
	}

	// The open upload survives a restart.
	e.stop(t)
	e = start(t, dir)
	c = e.s3(1)
	lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("big"), Key: aws.String("data/train.csv"), UploadId: up.UploadId})
	if err != nil || len(lp.Parts) != parts || aws.ToString(lp.Parts[0].ETag) != aws.ToString(done[0].ETag) {
		t.Fatalf("list parts after restart: %+v, %v", lp, err)
	}

	want := multipartETag(data, partSize)
	out, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String("big"), Key: aws.String("data/train.csv"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done},
	})
	if err != nil || aws.ToString(out.ETag) != want {
		t.Fatalf("complete: ETag %v (%v), want %s", out, err, want)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("big"), Key: aws.String("data/train.csv")})
	if err != nil || aws.ToString(head.ETag) != want || aws.ToInt64(head.ContentLength) != int64(len(data)) {
		t.Errorf("head: ETag %v, %d bytes (%v), want %s, %d bytes", aws.ToString(head.ETag), aws.ToInt64(head.ContentLength), err, want, len(data))
	}
	body, got := getObject(t, c, "big", "data/train.csv")
	if body != string(data) || aws.ToString(got.ETag) != want {
		t.Errorf("get: %d bytes, ETag %s; want the uploaded %d bytes, %s", len(body), aws.ToString(got.ETag), len(data), want)
	}
	lo, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("big")})
	if err != nil || len(lo.Contents) != 1 || aws.ToString(lo.Contents[0].ETag) != want {
		t.Errorf("list: %+v, %v; want one object with ETag %s", lo, err, want)
	}
	for inm, wantStatus := range map[string]int{want: http.StatusNotModified, `"` + md5hex(string(data)) + `"`: http.StatusOK} {
		status, _ := do(t, http.MethodGet, e.http.URL+"/big/data/train.csv", nil, map[string]string{"If-None-Match": inm})
		if status != wantStatus {
			t.Errorf("GET If-None-Match %s: %d, want %d", inm, status, wantStatus)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "s3", ".uploads", id)); !os.IsNotExist(err) {
		t.Errorf("parts of the completed upload are still on disk: %v", err)
	}
	// A plain PUT has its MD5 as ETag, from every operation.
	putObject(t, c, "big", "small.csv", "1,2\n")
	if h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("big"), Key: aws.String("small.csv")}); err != nil || aws.ToString(h.ETag) != `"`+md5hex("1,2\n")+`"` {
		t.Errorf("head of a plain object: %v, %v", h, err)
	}
}

// TestS3MultipartErrors: S3's checks on CompleteMultipartUpload and unknown upload IDs.
func TestS3MultipartErrors(t *testing.T) {
	e := start(t, "")
	ctx := context.Background()
	c := e.s3(1)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	for i := int32(1); i <= 2; i++ {
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("bkt"), Key: aws.String("k"), UploadId: up.UploadId,
			PartNumber: aws.Int32(i), Body: bytes.NewReader(randomBytes(1 << 20))})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(i)})
	}
	complete := func(ps []types.CompletedPart) error {
		_, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("k"),
			UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: ps}})
		return err
	}
	for _, tc := range []struct {
		name  string
		parts []types.CompletedPart
		want  string
	}{
		{"descending", []types.CompletedPart{parts[1], parts[0]}, "InvalidPartOrder"},
		{"wrong ETag", []types.CompletedPart{{ETag: aws.String(`"00000000000000000000000000000000"`), PartNumber: aws.Int32(1)}}, "InvalidPart"},
		{"missing part", []types.CompletedPart{{ETag: parts[0].ETag, PartNumber: aws.Int32(7)}}, "InvalidPart"},
	} {
		if err := complete(tc.parts); errorCode(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	if err := complete(parts); err != nil {
		t.Errorf("complete: %v", err)
	}
	for _, id := range []string{"1", "../../etc", strings.Repeat("A", 43)} {
		_, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("bkt"), Key: aws.String("k"), UploadId: aws.String(id),
			PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
		if errorCode(err) != "NoSuchUpload" {
			t.Errorf("upload part to upload %q: %v, want NoSuchUpload", id, err)
		}
	}
}

// TestS3MultipartAWSCLI: `aws s3 cp` of a file above the CLI's 8 MB threshold goes multipart, and S3's
// multipart ETag comes back from head-object.
func TestS3MultipartAWSCLI(t *testing.T) {
	e := start(t, "")
	data := randomBytes(20 << 20)
	file := filepath.Join(t.TempDir(), "train.csv")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	runCLI(t, e, "s3", "mb", "s3://cli")
	runCLI(t, e, "s3", "cp", file, "s3://cli/train.csv")
	var head struct{ ETag string }
	out := runCLI(t, e, "s3api", "head-object", "--bucket", "cli", "--key", "train.csv")
	if err := json.Unmarshal([]byte(out), &head); err != nil {
		t.Fatalf("head-object: %v\n%s", err, out)
	}
	if want := multipartETag(data, 8<<20); head.ETag != want {
		t.Errorf("head-object ETag %s, want %s (3 parts of 8 MB)", head.ETag, want)
	}
	back := filepath.Join(t.TempDir(), "back.csv")
	runCLI(t, e, "s3", "cp", "s3://cli/train.csv", back)
	if got, err := os.ReadFile(back); err != nil || !bytes.Equal(got, data) {
		t.Errorf("downloaded copy differs (%v)", err)
	}
}

// TestS3SymlinkIsMissingKey: a symlink in a bucket's directory, to a file or a directory, inside the data
// directory or outside it, answers as a missing key, not as an internal error.
func TestS3SymlinkIsMissingKey(t *testing.T) {
	dir := t.TempDir()
	e := start(t, dir)
	ctx := context.Background()
	c := e.s3(1)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("links")}); err != nil {
		t.Fatal(err)
	}
	putObject(t, c, "links", "real.csv", "1\n")
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644); err != nil {
		t.Fatal(err)
	}
	bucket := filepath.Join(dir, "s3", "links")
	for name, target := range map[string]string{"out": filepath.Join(outside, "secret"), "in": filepath.Join(bucket, "real.csv"), "outdir": outside} {
		if err := os.Symlink(target, filepath.Join(bucket, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{"out", "in", "outdir", "outdir/secret"} {
		_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("links"), Key: aws.String(key)})
		if errorCode(err) != "NoSuchKey" {
			t.Errorf("get symlink %s: %v, want NoSuchKey", key, err)
		}
		status, _ := do(t, http.MethodHead, e.http.URL+"/links/"+key, nil, nil)
		if status != http.StatusNotFound {
			t.Errorf("head symlink %s: %d, want 404", key, status)
		}
	}
	if keys, _ := listKeys(t, c, &s3.ListObjectsV2Input{Bucket: aws.String("links")}); len(keys) != 1 || keys[0] != "real.csv" {
		t.Errorf("list: %v, want only real.csv", keys)
	}
}
