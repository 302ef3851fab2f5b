// Package awsconf loads the AWS SDK configuration the mdlc binaries share: real AWS through the SDK's standard
// chain (environment, profiles, roles), or localaws, where the endpoint defaults to the local one and any
// credentials are accepted. The environment it reads for the local defaults comes from the caller (Options.Getenv);
// for real AWS the SDK's standard chain reads the process environment and profiles, as the AWS CLI does.
package awsconf

import (
	"context"
	"fmt"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/mdlc/mdlc/internal/localdefaults"
)

// Targets.
const (
	// TargetLocal calls localaws.
	TargetLocal = "local"
	// TargetAWS calls AWS.
	TargetAWS = "aws"
)

// DefaultLocalEndpoint is where localaws listens by default.
const DefaultLocalEndpoint = "http://127.0.0.1:4570"

// Options choose the target.
type Options struct {
	// Target is TargetLocal or TargetAWS.
	Target string
	// Region overrides the SDK's region (AWS_REGION, profile); for local it defaults to AWS_REGION,
	// AWS_DEFAULT_REGION, then localdefaults.Region.
	Region string
	// Endpoint overrides the endpoint of every service (AWS_ENDPOINT_URL does the same through the SDK);
	// for local it defaults to AWS_ENDPOINT_URL, then DefaultLocalEndpoint.
	Endpoint string
	// Getenv reads the environment for the local defaults above; nil reads none.
	Getenv func(string) string
}

// Load returns the SDK configuration for opts.
func Load(ctx context.Context, opts Options) (aws.Config, error) {
	var loaders []func(*config.LoadOptions) error
	switch opts.Target {
	case TargetLocal:
		getenv := opts.Getenv
		if getenv == nil {
			getenv = func(string) string { return "" }
		}
		opts.Endpoint = firstSet(opts.Endpoint, getenv("AWS_ENDPOINT_URL"), DefaultLocalEndpoint)
		opts.Region = firstSet(opts.Region, getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), localdefaults.Region)
		// localaws does not check signatures; fixed credentials keep a developer's real ones out of it.
		loaders = append(loaders, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("localaws", "localaws", "")))
	case TargetAWS:
	default:
		return aws.Config{}, fmt.Errorf("target %q must be %q or %q", opts.Target, TargetLocal, TargetAWS)
	}
	if opts.Endpoint != "" {
		u, err := url.Parse(opts.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return aws.Config{}, fmt.Errorf("endpoint %q must be an http(s) URL such as %s", opts.Endpoint, DefaultLocalEndpoint)
		}
		loaders = append(loaders, config.WithBaseEndpoint(opts.Endpoint))
	}
	if opts.Region != "" {
		loaders = append(loaders, config.WithRegion(opts.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loaders...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, fmt.Errorf("no AWS region: set AWS_REGION or --region")
	}
	return cfg, nil
}

// firstSet returns the first non-empty value.
func firstSet(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
