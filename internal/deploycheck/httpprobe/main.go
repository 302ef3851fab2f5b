// Command httpprobe is the health check of the mdlc container images, which have no shell or HTTP client:
// it GETs a URL and exits 0 when the answer is 2xx, 1 otherwise (Docker's HEALTHCHECK contract).
//
//	httpprobe [--timeout 3s] http://127.0.0.1:4570/_localaws/health
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stderr))
}

// run probes the URL in args and returns the process's exit code.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("httpprobe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 3*time.Second, "how long the whole request may take")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: httpprobe [--timeout 3s] URL")
		return 2
	}
	if err := probe(ctx, fs.Arg(0), *timeout); err != nil {
		fmt.Fprintln(stderr, "httpprobe:", err)
		return 1
	}
	return 0
}

// probe GETs url and fails unless the status is 2xx.
func probe(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("request %q: %w", url, err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("get %s: %w", url, err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return errors.New("get " + url + ": " + res.Status)
	}
	return nil
}
