package reliability_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/mdlc/mdlc/internal/stack"
	"github.com/mdlc/mdlc/internal/stack/harness"
	"github.com/mdlc/mdlc/lambdas/contract"
)

// browserRequest sends what a page on origin in the user's browser can send to localaws: a request with
// Origin and Fetch metadata, a text/plain body when it has one (no preflight needed), and any Host.
func browserRequest(t *testing.T, method, url, origin, host string, header map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if origin != "" {
		req.Header.Set("Origin", origin)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Sec-Fetch-Mode", "cors")
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// localawsDataDir is the --data-dir of the stack's localaws process.
func localawsDataDir(t *testing.T, h *harness.Harness) string {
	t.Helper()
	pids, err := h.PIDs()
	require.NoError(t, err)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pids["localaws"]))
	require.NoError(t, err)
	args := strings.Split(string(b), "\x00")
	for i, a := range args {
		if a == "--data-dir" && i+1 < len(args) {
			return args[i+1]
		}
	}
	t.Fatalf("no --data-dir in localaws's command line %q", args)
	return ""
}

// awsCLI runs the AWS CLI against localaws at endpoint and fails the test if it fails.
func awsCLI(t *testing.T, endpoint string, args ...string) string {
	t.Helper()
	out, err := runAWSCLI(context.Background(), endpoint, args...)
	require.NoError(t, err, "aws %s\n%s", strings.Join(args, " "), out)
	return out
}

func apiCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// TestLocalAWSHardening is the sweep of localaws's front door and S3 data path as a user (and a hostile web
// page in the user's browser) meets them on a running stack: no CORS for other origins, no state change by
// forged cross-site requests, no answer to a rebound Host, Lambda's log tail, multipart uploads streamed to
// disk with S3's ETag, and symlinks as missing keys.
func TestLocalAWSHardening(t *testing.T) {
	h := start(t, harness.SmallData())
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	const evil = "http://evil.example"
	objects := func() int {
		out, err := h.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(harness.Bucket)})
		require.NoError(t, err)
		return len(out.Contents)
	}
	seeded := objects()
	require.NotZero(t, seeded)

	t.Run("no CORS for another origin", func(t *testing.T) {
		resp, _ := browserRequest(t, http.MethodGet, h.LocalAWS+"/"+harness.Bucket+"?list-type=2", evil, "", nil, "")
		require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"), "a page on %s could read the bucket listing", evil)
		for _, method := range []string{http.MethodPut, http.MethodDelete} {
			resp, _ := browserRequest(t, http.MethodOptions, h.LocalAWS+"/"+harness.Bucket+"/x", evil, "",
				map[string]string{"Access-Control-Request-Method": method}, "")
			require.Equal(t, http.StatusForbidden, resp.StatusCode, "preflight %s", method)
			require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
			require.Empty(t, resp.Header.Get("Access-Control-Allow-Methods"))
		}
	})

	t.Run("forged cross-site requests change nothing", func(t *testing.T) {
		for _, tc := range []struct{ name, path, body string }{
			{"reset", "/_localaws/reset", "{}"},
			{"faults", "/_localaws/faults", `{"ServerError": 1}`},
			{"invoke", "/2015-03-31/functions/" + contract.InitializeTrainingFunction + "/invocations", `{}`},
		} {
			resp, body := browserRequest(t, http.MethodPost, h.LocalAWS+tc.path, evil, "", nil, tc.body)
			require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s: %s", tc.name, body)
		}
		// Without Origin, a text/plain POST to a control endpoint is still refused, naming the content type.
		resp, body := browserRequest(t, http.MethodPost, h.LocalAWS+"/_localaws/reset", "", "", nil, "{}")
		require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
		require.Contains(t, body, "application/json")
		require.Equal(t, seeded, objects(), "a forged reset deleted data")
		counts, err := h.FaultCounts(ctx)
		require.NoError(t, err)
		require.Empty(t, counts, "a forged POST switched faults on")
		_, err = h.S3.ListBuckets(ctx, &s3.ListBucketsInput{})
		require.NoError(t, err, "faults were switched on")
	})

	t.Run("DNS rebinding: another Host is refused", func(t *testing.T) {
		for _, path := range []string{"/" + harness.Bucket + "?list-type=2", "/_localaws/health"} {
			resp, body := browserRequest(t, http.MethodGet, h.LocalAWS+path, "", "attacker.example", nil, "")
			require.Equal(t, http.StatusForbidden, resp.StatusCode, "GET %s as attacker.example: %s", path, body)
			require.Contains(t, body, "--allow-host")
		}
		resp, _ := browserRequest(t, http.MethodGet, h.LocalAWS+"/_localaws/health", "", "localhost", nil, "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
	})

	t.Run("lambda log tail", func(t *testing.T) {
		out, err := h.Lambda.Invoke(ctx, &lambda.InvokeInput{
			FunctionName: aws.String(contract.InitializeTrainingFunction), LogType: lambdatypes.LogTypeTail,
			Payload: []byte(`{"WorkflowInput": {"ModelName": "m", "DataDate": "1999-01-01"}, "S3RootBucket": "` + harness.Bucket + `"}`),
		})
		require.NoError(t, err)
		log, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		require.NoError(t, err)
		for _, want := range []string{"START RequestId: ", "END RequestId: ", "REPORT RequestId: ", "Duration: "} {
			require.Contains(t, string(log), want)
		}
		require.LessOrEqual(t, len(log), 4096)
	})

	// The S3 cases use a bucket of their own, so that they show their own defect even where a forged reset
	// went through.
	const bucket = "hardening"
	_, err := h.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)
	dataDir := localawsDataDir(t, h)
	t.Run("multipart parts are on disk, not in memory", func(t *testing.T) {
		pids, err := h.PIDs()
		require.NoError(t, err)
		before, err := harness.RSS(pids["localaws"])
		require.NoError(t, err)
		const partSize, parts = 16 << 20, 6
		key := aws.String("big/upload.bin")
		up, err := h.S3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: key})
		require.NoError(t, err)
		part := bytes.Repeat([]byte("0123456789abcdef"), partSize/16)
		var done []s3types.CompletedPart
		for i := int32(1); i <= parts; i++ {
			out, err := h.S3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: key, UploadId: up.UploadId,
				PartNumber: aws.Int32(i), Body: bytes.NewReader(part)})
			require.NoError(t, err)
			done = append(done, s3types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(i)})
		}
		after, err := harness.RSS(pids["localaws"])
		require.NoError(t, err)
		t.Logf("localaws RSS %d MB before, %d MB with %d MB of parts open", before>>20, after>>20, parts*partSize>>20)
		require.Less(t, after-before, int64(parts*partSize/2), "localaws holds the open upload's parts in memory")
		var onDisk int64
		_ = filepath.Walk(dataDir, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() && strings.Contains(p, aws.ToString(up.UploadId)) {
				onDisk += fi.Size()
			}
			return nil
		})
		require.GreaterOrEqual(t, onDisk, int64(parts*partSize), "the open upload's parts are not under %s", dataDir)
		out, err := h.S3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: key,
			UploadId: up.UploadId, MultipartUpload: &s3types.CompletedMultipartUpload{Parts: done}})
		require.NoError(t, err)
		require.True(t, strings.HasSuffix(aws.ToString(out.ETag), `-6"`), "ETag %s", aws.ToString(out.ETag))
		head, err := h.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: key})
		require.NoError(t, err)
		require.Equal(t, aws.ToString(out.ETag), aws.ToString(head.ETag))
		require.Equal(t, int64(parts*partSize), aws.ToInt64(head.ContentLength))
	})

	t.Run("aws s3 cp goes multipart and head-object has S3's ETag", func(t *testing.T) {
		data := bytes.Repeat([]byte("1,0.5,0.25\n"), 20<<20/11)
		file := filepath.Join(t.TempDir(), "train.csv")
		require.NoError(t, os.WriteFile(file, data, 0o644))
		awsCLI(t, h.LocalAWS, "s3", "cp", file, "s3://"+bucket+"/big/train.csv")
		var sums []byte
		n := 0
		for off := 0; off < len(data); off += 8 << 20 { // the CLI's default chunk size
			s := md5.Sum(data[off:min(off+8<<20, len(data))])
			sums, n = append(sums, s[:]...), n+1
		}
		all := md5.Sum(sums)
		want := fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(all[:]), n)
		var head struct{ ETag string }
		require.NoError(t, json.Unmarshal([]byte(awsCLI(t, h.LocalAWS, "s3api", "head-object", "--bucket", bucket, "--key", "big/train.csv")), &head))
		require.Equal(t, want, head.ETag)
	})

	t.Run("a symlink in a bucket is a missing key", func(t *testing.T) {
		link := filepath.Join(dataDir, "s3", bucket, "passwd")
		require.NoError(t, os.Symlink("/etc/passwd", link))
		_, err := h.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("passwd")})
		require.Equal(t, "NoSuchKey", apiCode(err), "%v", err)
	})
}

// TestLocalAWSOperatorErrors: what an operator meets when the disk is full (a PUT says what is full, and
// localaws keeps serving once there is room) and when localaws cannot start (the error names localaws once).
func TestLocalAWSOperatorErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "localaws")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./localaws/cmd/localaws")
	build.Dir = stack.ModuleRoot()
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	t.Run("start-up error names localaws once", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "not-a-dir")
		require.NoError(t, os.WriteFile(file, nil, 0o644))
		out, err := exec.CommandContext(ctx, bin, "--addr", "127.0.0.1:0", "--data-dir", file).CombinedOutput()
		require.Error(t, err)
		require.True(t, strings.HasPrefix(string(out), "localaws: "), "%s", out)
		require.NotContains(t, string(out), "localaws: localaws:")
	})

	t.Run("disk full", func(t *testing.T) {
		// A 4 MB file system of its own, in a user and mount namespace (no privileges needed).
		mnt := t.TempDir()
		cmd := exec.CommandContext(ctx, "unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
			`mount -t tmpfs -o size=4m tmpfs "$1" && exec "$2" --addr 127.0.0.1:0 --data-dir "$1/data"`, "sh", mnt, bin)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start(), "unshare (util-linux) runs localaws on a small file system")
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		lines := bufio.NewScanner(stdout)
		if !lines.Scan() {
			_ = cmd.Wait() // stderr is complete, and no longer written to, once the process is waited for
			t.Fatalf("localaws did not start: %s", stderr.String())
		}
		endpoint, ok := strings.CutPrefix(lines.Text(), "localaws listening on ")
		require.True(t, ok, lines.Text())
		go func() { _, _ = io.Copy(io.Discard, stdout) }()

		c := s3.New(s3.Options{BaseEndpoint: aws.String(endpoint), Region: "us-east-1", UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), RetryMaxAttempts: 1})
		_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("full")})
		require.NoError(t, err)
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("full"), Key: aws.String("big.bin"),
			Body: bytes.NewReader(make([]byte, 8<<20))})
		require.Equal(t, "InternalError", apiCode(err), "%v", err)
		require.Contains(t, err.Error(), "is full")
		require.Contains(t, err.Error(), "--data-dir")
		// The partial upload was removed: a small object fits.
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("full"), Key: aws.String("small.csv"), Body: strings.NewReader("1\n")})
		require.NoError(t, err)
	})
}
