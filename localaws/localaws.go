// Package localaws is a local stand-in for the parts of AWS the MDLC pipelines use: one HTTP endpoint that
// speaks the SageMaker (JSON 1.1), Lambda (REST-JSON) and S3 (REST-XML) wire protocols, and CloudWatch Logs
// (JSON 1.1) for reading the jobs' logs (package logs), so that the real
// aws-sdk-go-v2 clients and the AWS CLI work against it unchanged. SageMaker training runs real XGBoost;
// Lambda functions are Go handlers registered in process; S3 objects are plain files under the data
// directory. All state lives under Options.DataDir and survives a restart.
//
// # Pointing clients at it
//
// Credentials are required by the clients but not checked: any access key works (e.g. "test"/"test").
// Requests are routed by the service in their SigV4 credential scope.
//
// aws-sdk-go-v2 (config.LoadDefaultConfig) and recent AWS CLIs (2.13 and later) read the endpoint from
// the environment:
//
//	AWS_ENDPOINT_URL=http://127.0.0.1:4570 AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
//
// or one service at a time with AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_SAGEMAKER, AWS_ENDPOINT_URL_LAMBDA,
// AWS_ENDPOINT_URL_CLOUDWATCH_LOGS.
// Older CLIs (such as Debian's 2.9) need --endpoint-url http://127.0.0.1:4570 on each command.
//
// S3 must be addressed path-style (http://host/bucket/key): localaws does not serve virtual-hosted
// buckets. Neither the Go SDK nor the CLI has an environment variable for this. Both switch to path-style
// on their own when the endpoint's host is an IP address, so use 127.0.0.1 rather than localhost.
// With a host name, set s3.Options.UsePathStyle = true in Go, and `aws configure set
// default.s3.addressing_style path` for the CLI.
//
// # Control endpoints
//
// Apart from the AWS surface, under /_localaws/:
//
//	GET    /_localaws/health   services, registered functions, region and account
//	POST   /_localaws/reset    deletes every bucket and all SageMaker state
//	GET    /_localaws/faults   the fault-injection setting and the faults injected so far
//	POST   /_localaws/faults   {"Throttle": 0.2, "ServerError": 0.1, "Services": ["sagemaker"], "Seed": 1}
//	DELETE /_localaws/faults   stop injecting faults
//
// A faulted request is answered with the service's throttling error (SageMaker: 400 ThrottlingException,
// Lambda: 429 TooManyRequestsException, S3: 503 SlowDown) or internal error (500 InternalFailure; S3:
// InternalError) and never reaches the service.
//
// # What the front door refuses
//
// localaws has no authentication and checks no signatures: anything that can reach its port can use it. It
// listens on loopback by default, and keeps web pages the user's browser has open from using it:
//
//   - No CORS headers unless Options.CORSOrigins (--cors-origin) grants an origin, so other sites' pages
//     cannot read answers, and preflights (needed for PUT, DELETE, signed requests) are refused with 403.
//   - Requests that change state from another browser origin (by Sec-Fetch-Site or Origin) are refused with
//     403 even when they need no preflight, such as a text/plain POST.
//   - Control endpoints refuse any request with a foreign Origin, and a POST that is not
//     Content-Type: application/json.
//   - A Host header that is not a loopback name or address or one of Options.AllowedHosts (--allow-host) is
//     refused with 403, against DNS rebinding (a page whose own name now resolves to 127.0.0.1).
//
// A handler that panics is answered with the service's internal error and logged with its stack.
package localaws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/johannesboyne/gofakes3"

	"github.com/mdlc/mdlc/localaws/algorithm"
	"github.com/mdlc/mdlc/localaws/faults"
	"github.com/mdlc/mdlc/localaws/lambdasvc"
	"github.com/mdlc/mdlc/localaws/logs"
	"github.com/mdlc/mdlc/localaws/s3disk"
	"github.com/mdlc/mdlc/localaws/sagemaker"
)

// Service names, as they appear in SigV4 credential scopes.
const (
	ServiceS3        = "s3"
	ServiceLambda    = "lambda"
	ServiceSageMaker = "sagemaker"
	ServiceLogs      = "logs"
)

// Defaults for Options.
const (
	DefaultRegion    = "us-east-1"
	DefaultAccountID = "000000000000"
)

// Options configure a Server.
type Options struct {
	// DataDir holds all state: DataDir/s3 (buckets as directories, objects as files) and
	// DataDir/sagemaker. Required.
	DataDir string
	// Region and AccountID appear in ARNs; DefaultRegion and DefaultAccountID when empty.
	Region    string
	AccountID string
	// Algorithms maps SageMaker training images to local algorithms; algorithm.NewResolver with the
	// zero Config when nil.
	Algorithms algorithm.Resolver
	// MaxModelBytes bounds the unpacked size of a model.tar.gz; sagemaker.DefaultMaxModelBytes when zero.
	MaxModelBytes int64
	// FunctionTimeout is every Lambda function's timeout; 15 minutes (Lambda's maximum) when zero.
	FunctionTimeout time.Duration
	// Clock returns the current time; time.Now when nil.
	Clock func() time.Time
	// Logger receives one line per request and the services' logs; slog.Default() when nil.
	Logger *slog.Logger
	// AllowedHosts are the host names or addresses ("localaws", "10.0.0.5"; a ":port" is ignored), besides
	// loopback ones, that a request's Host header may name. Others are refused, against DNS rebinding.
	AllowedHosts []string
	// CORSOrigins are the browser origins ("http://127.0.0.1:5173") granted cross-origin access to the AWS
	// surface. None by default: browsers then let no other site's page read from or write to localaws.
	CORSOrigins []string
}

// Server is a localaws endpoint. Serve its Handler with any http.Server.
type Server struct {
	opts      Options
	objects   *s3disk.Backend
	s3        http.Handler
	sagemaker *sagemaker.Service
	lambda    *lambdasvc.Service
	logs      *logs.Service
	faults    *faults.Injector
	door      *frontDoor
	handler   http.Handler

	closeOnce sync.Once
	closeErr  error
}

// New opens the state under opts.DataDir (creating it if needed) and returns a Server.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.DataDir == "" {
		return nil, errors.New("Options.DataDir is required")
	}
	door, err := newFrontDoor(opts.AllowedHosts, opts.CORSOrigins)
	if err != nil {
		return nil, err
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.AccountID == "" {
		opts.AccountID = DefaultAccountID
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Algorithms == nil {
		r, err := algorithm.NewResolver(algorithm.Config{})
		if err != nil {
			return nil, fmt.Errorf("default algorithms: %w", err)
		}
		opts.Algorithms = r
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir %q: %w", opts.DataDir, err)
	}
	opts.DataDir = dataDir

	objects, err := s3disk.New(filepath.Join(dataDir, "s3"), opts.Clock)
	if err != nil {
		return nil, err
	}
	sm, err := sagemaker.New(ctx, sagemaker.Options{
		Dir:        filepath.Join(dataDir, "sagemaker"),
		Objects:    objects,
		Algorithms: opts.Algorithms,
		Region:     opts.Region,
		AccountID:  opts.AccountID,
		Clock:      opts.Clock,
		Logger:     opts.Logger.With("service", ServiceSageMaker),

		MaxModelBytes: opts.MaxModelBytes,
	})
	if err != nil {
		objects.Close()
		return nil, fmt.Errorf("sagemaker: %w", err)
	}
	s := &Server{
		opts:      opts,
		objects:   objects,
		sagemaker: sm,
		lambda: lambdasvc.New(lambdasvc.Options{
			Region:    opts.Region,
			AccountID: opts.AccountID,
			Timeout:   opts.FunctionTimeout,
			Clock:     opts.Clock,
			Logger:    opts.Logger.With("service", ServiceLambda),
		}),
		logs: logs.New(logs.Options{Sources: sm.LogSources, Region: opts.Region, AccountID: opts.AccountID,
			Logger: opts.Logger.With("service", ServiceLogs)}),
		faults: faults.New(ServiceS3, ServiceLambda, ServiceSageMaker, ServiceLogs),
		door:   door,
	}
	s.s3 = gofakes3.New(objects,
		gofakes3.WithTimeSource(clockSource{opts.Clock}),
		// Any credentials and any client clock are accepted: signatures are not verified either.
		gofakes3.WithTimeSkewLimit(0),
		gofakes3.WithLogger(s3Logger{opts.Logger.With("service", ServiceS3)}),
	).Server()
	s.handler = s.routes()
	return s, nil
}

// Handler returns the HTTP handler that serves the AWS surface and the control endpoints.
func (s *Server) Handler() http.Handler { return s.handler }

// Objects returns the S3 storage (the same value SageMaker jobs read and write through).
func (s *Server) Objects() gofakes3.Backend { return s.objects }

// RegisterFunction serves h as the Lambda function name (invocable by name, partial or full ARN).
func (s *Server) RegisterFunction(name string, h lambda.Handler) error {
	return s.lambda.Register(name, h)
}

// FunctionARN returns the ARN of the Lambda function name.
func (s *Server) FunctionARN(name string) string { return s.lambda.ARN(name) }

// Reset deletes every bucket and all SageMaker state. Registered functions and fault settings stay.
func (s *Server) Reset(ctx context.Context) error {
	if err := s.objects.DeleteAll(); err != nil {
		return fmt.Errorf("reset s3: %w", err)
	}
	if err := s.sagemaker.Reset(ctx); err != nil {
		return fmt.Errorf("reset sagemaker: %w", err)
	}
	return nil
}

// Close stops SageMaker jobs and asynchronous Lambda invocations and releases the data directory. Stop
// serving Handler first (http.Server.Shutdown).
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = errors.Join(s.sagemaker.Close(), s.lambda.Close(), s.objects.Close())
	})
	return s.closeErr
}

// clockSource adapts a clock to gofakes3.TimeSource.
type clockSource struct{ now func() time.Time }

func (c clockSource) Now() time.Time                  { return c.now() }
func (c clockSource) Since(t time.Time) time.Duration { return c.now().Sub(t) }

// s3Logger sends gofakes3's logs to slog at debug level (errors at error level).
type s3Logger struct{ l *slog.Logger }

func (l s3Logger) Print(level gofakes3.LogLevel, v ...any) {
	lvl := slog.LevelDebug
	if level == gofakes3.LogErr {
		lvl = slog.LevelError
	}
	l.l.Log(context.Background(), lvl, "gofakes3", "detail", fmt.Sprint(v...))
}
