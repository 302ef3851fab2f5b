package lambdas

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runtimeAPI is a minimal Lambda Runtime API (the protocol provided.al2023 speaks to bootstrap): it hands out
// the queued events one at a time and collects the responses and errors posted back.
type runtimeAPI struct {
	events  chan string
	results chan string // "response <body>" or "error <body>"
}

func (api *runtimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const prefix = "/2018-06-01/runtime/invocation/"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == prefix+"next":
		select {
		case ev := <-api.events:
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", fmt.Sprintf("req-%d", time.Now().UnixNano()))
			w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:f")
			io.WriteString(w, ev)
		case <-r.Context().Done():
		}
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, prefix):
		body, _ := io.ReadAll(r.Body)
		kind := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		api.results <- kind + " " + string(body)
		w.WriteHeader(http.StatusAccepted)
	default:
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
	}
}

// TestBootstrapBinary builds cmd/monitor-performance as build-lambdas.sh does (for this machine's
// architecture) and runs it under a local Runtime API with S3 at a gofakes3 server, configured only through
// the environment, as on AWS.
func TestBootstrapBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", bin, "./cmd/monitor-performance")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build: %s", out)

	backend := s3mem.New()
	require.NoError(t, backend.CreateBucket(testBucket))
	for key, body := range map[string]string{predKey: "0.1\n0.4\n0.35\n0.8\n", targetKey: "0\n0\n1\n1\n"} {
		_, err := backend.PutObject(testBucket, key, nil, strings.NewReader(body), int64(len(body)), nil)
		require.NoError(t, err)
	}
	s3srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer s3srv.Close()

	api := &runtimeAPI{events: make(chan string, 2), results: make(chan string, 2)}
	api.events <- `{"PredictionInput":"` + predURI + `","TargetInput":"` + targetURI + `"}`
	api.events <- `{"PredictionInput":"` + predURI + `","TargetInput":"s3://mdlc-data/missing.csv"}`
	apiSrv := httptest.NewServer(api)
	defer apiSrv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = []string{
		"AWS_LAMBDA_RUNTIME_API=" + strings.TrimPrefix(apiSrv.URL, "http://"),
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_ENDPOINT_URL_S3=" + s3srv.URL, "AWS_EC2_METADATA_DISABLED=true", "HOME=" + t.TempDir(),
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()

	for i, want := range []string{`response {"ModelPerformance":0.75}`, `error {"errorMessage":"get target s3://mdlc-data/missing.csv:`} {
		select {
		case got := <-api.results:
			assert.True(t, strings.HasPrefix(got, want), "invocation %d: got %s, want prefix %s", i, got, want)
			if i == 1 {
				assert.Contains(t, got, `"errorType":"DataNotFound"`)
			}
		case <-ctx.Done():
			t.Fatalf("invocation %d: no result; bootstrap stderr:\n%s", i, stderr.String())
		}
	}
}
