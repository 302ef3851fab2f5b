package localaws_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	golambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/mdlc/mdlc/localaws"
)

// browser sends a request shaped as a browser sends it from a page at origin: Origin and the Fetch
// metadata headers, and for a request without a preflight ("simple") a text/plain body.
func browser(t *testing.T, method, u, origin string, header map[string]string, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", origin)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	if body != "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	resp.Body.Close()
	return resp
}

// echoHandler counts its invocations.
func echoHandler(n *atomic.Int32) golambda.Handler {
	return golambda.NewHandler(func(ctx context.Context, in map[string]any) (map[string]any, error) {
		n.Add(1)
		return in, nil
	})
}

func corsHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for k := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			out[k] = h.Get(k)
		}
	}
	return out
}

// TestNoCORSByDefault: a page on another site gets no CORS headers from any service, its preflights are
// refused, and only an origin granted with CORSOrigins gets access.
func TestNoCORSByDefault(t *testing.T) {
	e, _ := startWithEcho(t)
	ctx := context.Background()
	c := e.s3(1)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("data")}); err != nil {
		t.Fatal(err)
	}
	putObject(t, c, "data", "train.csv", "1,2\n")
	const evil = "http://evil.example"

	for _, tc := range []struct{ name, method, path string }{
		{"s3 get", http.MethodGet, "/data/train.csv"},
		{"s3 list", http.MethodGet, "/data?list-type=2"},
		{"lambda list", http.MethodGet, "/2015-03-31/functions/"},
	} {
		resp := browser(t, tc.method, e.http.URL+tc.path, evil, nil, "")
		if h := corsHeaders(resp.Header); len(h) != 0 {
			t.Errorf("%s from %s: CORS headers %v, want none", tc.name, evil, h)
		}
	}
	for _, method := range []string{http.MethodPut, http.MethodDelete, http.MethodGet} {
		resp := browser(t, http.MethodOptions, e.http.URL+"/data/train.csv", evil,
			map[string]string{"Access-Control-Request-Method": method, "Access-Control-Request-Headers": "authorization,x-amz-date"}, "")
		if resp.StatusCode != http.StatusForbidden || len(corsHeaders(resp.Header)) != 0 {
			t.Errorf("preflight %s from %s: %d %v, want 403 without CORS headers", method, evil, resp.StatusCode, corsHeaders(resp.Header))
		}
	}

	const app = "http://127.0.0.1:5173"
	g := start(t, "", func(o *localaws.Options) { o.CORSOrigins = []string{app} })
	gc := g.s3(1)
	if _, err := gc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("data")}); err != nil {
		t.Fatal(err)
	}
	putObject(t, gc, "data", "train.csv", "1,2\n")
	resp := browser(t, http.MethodOptions, g.http.URL+"/data/train.csv", app,
		map[string]string{"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization"}, "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != app ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "PUT") {
		t.Errorf("preflight from granted %s: %d %v", app, resp.StatusCode, corsHeaders(resp.Header))
	}
	resp = browser(t, http.MethodGet, g.http.URL+"/data/train.csv", app, nil, "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != app ||
		!strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "ETag") {
		t.Errorf("get from granted %s: %d %v", app, resp.StatusCode, corsHeaders(resp.Header))
	}
	resp = browser(t, http.MethodGet, g.http.URL+"/data/train.csv", evil, nil, "")
	if h := corsHeaders(resp.Header); len(h) != 0 {
		t.Errorf("get from %s with only %s granted: CORS headers %v", evil, app, h)
	}

	for _, bad := range []string{"*", "127.0.0.1:5173", "http://app.example/path", "ftp://app.example"} {
		_, err := localaws.New(ctx, localaws.Options{DataDir: t.TempDir(), Algorithms: noAlgorithms{}, CORSOrigins: []string{bad}})
		if err == nil || !strings.Contains(err.Error(), "CORS origin") {
			t.Errorf("CORS origin %q: got %v, want an error naming it", bad, err)
		}
	}
}

// TestForgedRequestsChangeNothing: requests a page on another site can send without a preflight (a
// text/plain POST) neither reset localaws, nor switch on faults, nor invoke a function, nor upload an object.
func TestForgedRequestsChangeNothing(t *testing.T) {
	var invoked atomic.Int32
	e := start(t, "")
	if err := e.server.RegisterFunction("count", echoHandler(&invoked)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := e.s3(1)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("keep")}); err != nil {
		t.Fatal(err)
	}
	const evil = "http://evil.example"
	for _, tc := range []struct {
		name, method, path string
		header             map[string]string
		body               string
		want               int
	}{
		{"reset", http.MethodPost, "/_localaws/reset", nil, "{}", http.StatusForbidden},
		{"faults", http.MethodPost, "/_localaws/faults", nil, `{"ServerError":1}`, http.StatusForbidden},
		{"faults as JSON", http.MethodPost, "/_localaws/faults", map[string]string{"Content-Type": "application/json"}, `{"ServerError":1}`, http.StatusForbidden},
		{"clear faults", http.MethodDelete, "/_localaws/faults", nil, "", http.StatusForbidden},
		{"health", http.MethodGet, "/_localaws/health", nil, "", http.StatusForbidden},
		{"control preflight", http.MethodOptions, "/_localaws/reset", map[string]string{"Access-Control-Request-Method": "POST"}, "", http.StatusForbidden},
		{"lambda invoke", http.MethodPost, "/2015-03-31/functions/count/invocations", nil, "{}", http.StatusForbidden},
		{"s3 form upload", http.MethodPost, "/keep", map[string]string{"Content-Type": "multipart/form-data; boundary=x"},
			"--x\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nplanted\r\n--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\nhi\r\n--x--\r\n", http.StatusForbidden},
	} {
		resp := browser(t, tc.method, e.http.URL+tc.path, evil, tc.header, tc.body)
		if resp.StatusCode != tc.want {
			t.Errorf("%s from %s: status %d, want %d", tc.name, evil, resp.StatusCode, tc.want)
		}
	}
	// Without Origin (a client that hides it, or an old browser): a text/plain POST is still not accepted.
	for _, path := range []string{"/_localaws/reset", "/_localaws/faults"} {
		status, body := do(t, http.MethodPost, e.http.URL+path, strings.NewReader(`{"ServerError":1}`), map[string]string{"Content-Type": "text/plain"})
		if status != http.StatusUnsupportedMediaType || !strings.Contains(body, "application/json") {
			t.Errorf("text/plain POST %s: %d %s, want 415 naming application/json", path, status, body)
		}
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("keep")}); err != nil {
		t.Errorf("bucket after forged resets: %v", err)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("keep"), Key: aws.String("planted")}); err == nil {
		t.Errorf("a forged form upload planted an object")
	}
	if st := faultState(t, e); st.Config.ServerError != 0 {
		t.Errorf("forged POST switched faults on: %+v", st)
	}
	if n := invoked.Load(); n != 0 {
		t.Errorf("forged invocations ran the function %d times", n)
	}
	// The same requests from localaws's own origin, or from a program (no Origin), work.
	resp := browser(t, http.MethodGet, e.http.URL+"/_localaws/health", e.http.URL, map[string]string{"Sec-Fetch-Site": "same-origin"}, "")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("health from localaws's own origin: %d", resp.StatusCode)
	}
	if _, err := e.lambda(1).Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("count")}); err != nil || invoked.Load() != 1 {
		t.Errorf("SDK invoke: %v (invoked %d)", err, invoked.Load())
	}
}

// TestHostChecked: a request naming a host that is not localaws (DNS rebinding) is refused; a host given
// in AllowedHosts is answered, as docker compose's service name is.
func TestHostChecked(t *testing.T) {
	e := start(t, "", func(o *localaws.Options) { o.AllowedHosts = []string{"localaws:4570"} })
	ctx := context.Background()
	port := e.http.URL[strings.LastIndex(e.http.URL, ":")+1:]
	for _, tc := range []struct {
		host string
		want int
	}{
		{"attacker.example:" + port, http.StatusForbidden},
		{"127.0.0.1.nip.io:" + port, http.StatusForbidden},
		{"localhost:" + port, http.StatusOK},
		{"LOCALHOST.:" + port, http.StatusOK},
		{"127.0.0.2:" + port, http.StatusOK},
		{"[::1]:" + port, http.StatusOK},
		{"localaws:" + port, http.StatusOK},
	} {
		for _, path := range []string{"/", "/_localaws/health"} {
			req, _ := http.NewRequest(http.MethodGet, e.http.URL+path, nil)
			req.Host = tc.host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("GET %s with Host %q: %d, want %d", path, tc.host, resp.StatusCode, tc.want)
			}
		}
	}

	// Real SDK clients under a name: refused as attacker.example, answered as localaws.
	for name, wantOK := range map[string]bool{"attacker.example": false, "localaws": true} {
		cfg := e.config(1)
		cfg.BaseEndpoint = aws.String("http://" + name + ":" + port)
		cfg.HTTPClient = &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				u, _ := neturl.Parse(e.http.URL)
				return (&net.Dialer{}).DialContext(ctx, network, u.Host)
			},
		}}
		_, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).ListBuckets(ctx, &s3.ListBucketsInput{})
		if wantOK && err != nil {
			t.Errorf("S3 as %s: %v", name, err)
		}
		if !wantOK && (errorCode(err) != "AccessDenied" || !strings.Contains(err.Error(), "--allow-host")) {
			t.Errorf("S3 as %s: %v, want AccessDenied naming --allow-host", name, err)
		}
		_, err = sagemaker.NewFromConfig(cfg).ListTrainingJobs(ctx, &sagemaker.ListTrainingJobsInput{})
		if wantOK && err != nil {
			t.Errorf("SageMaker as %s: %v", name, err)
		}
		if !wantOK && errorCode(err) != "AccessDeniedException" {
			t.Errorf("SageMaker as %s: %v, want AccessDeniedException", name, err)
		}
	}
}

// TestPanicAnswersInternalError: a handler that panics is answered with the service's internal error
// (not a dropped connection), logged with its stack, and the next request is served.
func TestPanicAnswersInternalError(t *testing.T) {
	var armed atomic.Bool
	e := start(t, "", func(o *localaws.Options) {
		o.Clock = func() time.Time {
			if armed.Load() {
				panic("clock exploded")
			}
			return time.Now()
		}
	})
	ctx := context.Background()
	armed.Store(true)
	_, err := e.s3(1).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("boom")})
	if errorCode(err) != "InternalError" {
		t.Errorf("S3 CreateBucket with a panicking handler: %v, want InternalError", err)
	}
	_, err = sagemaker.NewFromConfig(e.config(1)).CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("boom")})
	if errorCode(err) != "InternalFailure" {
		t.Errorf("SageMaker CreateModelPackageGroup with a panicking handler: %v, want InternalFailure", err)
	}
	armed.Store(false)
	if _, err := e.s3(1).ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		t.Errorf("after the panic: %v", err)
	}
	logged := 0
	e.logs.mu.Lock()
	for _, rec := range e.logs.recs {
		if rec.Message != "handler panicked" {
			continue
		}
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "stack" && strings.Contains(a.Value.String(), "goroutine") {
				logged++
			}
			return true
		})
	}
	e.logs.mu.Unlock()
	if logged != 2 {
		t.Errorf("logged %d panics with a stack, want 2", logged)
	}
}
