// Package start runs one of the pipelines' Lambda functions in the Lambda runtime: the shared body of the
// commands under lambdas/cmd.
package start

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mdlc/mdlc/lambdas"
)

// Function loads the AWS configuration from the environment (the Lambda execution role, or AWS_* variables
// and AWS_ENDPOINT_URL* for a local endpoint), and serves the named function until the runtime stops the
// process. It exits with status 1 if it cannot start.
func Function(name string) {
	h, err := handler(context.Background(), name)
	if err != nil {
		slog.Error("start lambda function", "function", name, "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

func handler(ctx context.Context, name string) (lambda.Handler, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	h, ok := lambdas.Functions(s3.NewFromConfig(cfg))[name]
	if !ok {
		return nil, fmt.Errorf("function %q: unknown", name)
	}
	return h, nil
}
