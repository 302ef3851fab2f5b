package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/lambdas/contract"
	"github.com/mdlc/mdlc/parity"
	"github.com/mdlc/mdlc/workflows"
)

// TokenStore is the part of the S3 client that finds and removes the task token a training state machine
// (Step Functions) keeps while it waits for a decision.
type TokenStore interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// TaskCompleter is the part of the Step Functions client that completes a waiting task.
type TaskCompleter interface {
	SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, in *sfn.SendTaskFailureInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
}

// stateMachineWaits completes the Wait for Approval state of a training state machine that waits for a
// decision recorded in the registry: its task token is at activities.ApprovalTokenKey of the package ARN in
// the pipeline's bucket. An approval is SendTaskSuccess with the workflows.ApprovalOutcome, a rejection
// SendTaskFailure with parity.ErrorRejected and the ApprovalDescription, as the state machine expects.
type stateMachineWaits struct {
	s3     TokenStore
	sfn    TaskCompleter
	bucket string
}

// complete ends the wait for the package arn, if a state machine waits for it, and reports whether one did.
func (w *stateMachineWaits) complete(ctx context.Context, arn string, outcome workflows.ApprovalOutcome) (bool, error) {
	key := activities.ApprovalTokenKey(arn)
	obj, err := w.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(w.bucket), Key: aws.String(key)})
	if err != nil {
		var missing *s3types.NoSuchKey
		if errors.As(err, &missing) {
			return false, nil
		}
		return false, fmt.Errorf("read task token s3://%s/%s: %w", w.bucket, key, err)
	}
	token, err := io.ReadAll(obj.Body)
	obj.Body.Close()
	if err != nil {
		return false, fmt.Errorf("read task token s3://%s/%s: %w", w.bucket, key, err)
	}
	if outcome.Decision == contract.ApprovalApproved {
		out, err := json.Marshal(outcome)
		if err != nil {
			return false, fmt.Errorf("encode the decision: %w", err)
		}
		_, err = w.sfn.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(string(token)), Output: aws.String(string(out))})
		if err != nil {
			return false, fmt.Errorf("send the approval to the waiting state machine (SendTaskSuccess): %w", err)
		}
	} else {
		_, err = w.sfn.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(string(token)),
			Error: aws.String(parity.ErrorRejected), Cause: aws.String(outcome.Description)})
		if err != nil {
			return false, fmt.Errorf("send the rejection to the waiting state machine (SendTaskFailure): %w", err)
		}
	}
	if _, err := w.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(w.bucket), Key: aws.String(key)}); err != nil {
		return true, fmt.Errorf("delete the used task token s3://%s/%s: %w", w.bucket, key, err)
	}
	return true, nil
}
