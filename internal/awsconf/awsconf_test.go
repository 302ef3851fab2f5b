package awsconf

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mdlc/mdlc/internal/localdefaults"
)

// TestLocalDefaultsComeFromTheCallersEnvironment: for local, the endpoint and region default from the
// caller's getenv, never from the process environment behind it.
func TestLocalDefaultsComeFromTheCallersEnvironment(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_REGION", "ap-south-1")
	t.Setenv("AWS_DEFAULT_REGION", "ap-south-1")
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		name                   string
		opts                   Options
		wantEndpoint, wantRegn string
	}{
		{"no environment", Options{}, DefaultLocalEndpoint, localdefaults.Region},
		{"caller's environment", Options{Getenv: env(map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:2", "AWS_REGION": "eu-west-2"})},
			"http://127.0.0.1:2", "eu-west-2"},
		{"AWS_DEFAULT_REGION", Options{Getenv: env(map[string]string{"AWS_DEFAULT_REGION": "eu-west-3"})}, DefaultLocalEndpoint, "eu-west-3"},
		{"options first", Options{Endpoint: "http://127.0.0.1:3", Region: "us-west-2", Getenv: env(map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:2", "AWS_REGION": "eu-west-2"})},
			"http://127.0.0.1:3", "us-west-2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Target = TargetLocal
			cfg, err := Load(context.Background(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(cfg.BaseEndpoint); got != tc.wantEndpoint {
				t.Errorf("endpoint %q, want %q", got, tc.wantEndpoint)
			}
			if cfg.Region != tc.wantRegn {
				t.Errorf("region %q, want %q", cfg.Region, tc.wantRegn)
			}
		})
	}
}
