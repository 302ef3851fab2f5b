package main

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mdlc/mdlc/lambdas"
	"github.com/mdlc/mdlc/localaws"
)

// registerFunctions serves the project's Lambda functions (lambdas.Functions) from this process under their
// documented names. They reach S3 the way they do on AWS, through an S3 client — here pointed at this
// process's own endpoint, whose listener is already open.
func registerFunctions(srv *localaws.Server, endpoint, region string) error {
	client := s3.New(s3.Options{
		BaseEndpoint: aws.String(endpoint),
		Region:       region,
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("localaws", "localaws", ""),
	})
	for name, h := range lambdas.Functions(client) {
		if err := srv.RegisterFunction(name, h); err != nil {
			return fmt.Errorf("register lambda function %q: %w", name, err)
		}
	}
	return nil
}
