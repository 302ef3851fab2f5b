package demodata

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// defaultPartSize is the multipart part size: files up to it go in one PutObject, larger ones in parts of
// it (S3's minimum part size is 5 MiB; 8 MiB parts let a file grow to 80 GB within S3's 10,000 parts).
const defaultPartSize = 8 << 20

// csvContentType is the content type of every object, the one SageMaker's XGBoost channels declare.
const csvContentType = "text/csv"

// S3API is the part of the S3 API that Upload uses; *s3.Client satisfies it.
type S3API interface {
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, opts ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	CreateBucket(ctx context.Context, in *s3.CreateBucketInput, opts ...func(*s3.Options)) (*s3.CreateBucketOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, opts ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(ctx context.Context, in *s3.UploadPartInput, opts ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, opts ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, opts ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
}

// ErrNoBucket is returned (wrapped) by Upload when the bucket does not exist and Config.CreateBucket is false.
var ErrNoBucket = errors.New("bucket does not exist")

// Upload validates cfg (including its bucket), makes sure the bucket exists (creating it when
// cfg.CreateBucket is set), then writes every file of the dataset to it, replacing objects with the same
// keys. Files stream: memory use is one multipart part, whatever the number of rows.
// Nothing is created when cfg is invalid.
func Upload(ctx context.Context, client S3API, cfg Config, progress Progress) error {
	if err := cfg.ValidateBucket(); err != nil {
		return err
	}
	d, err := New(cfg)
	if err != nil {
		return err
	}
	return d.Upload(ctx, client, progress)
}

// Upload is Upload for a dataset already built with New.
func (d *Dataset) Upload(ctx context.Context, client S3API, progress Progress) error {
	if err := d.cfg.ValidateBucket(); err != nil {
		return err
	}
	if client == nil {
		return errors.New("upload demo dataset: no s3 client")
	}
	if err := ensureBucket(ctx, client, d.cfg.Bucket, d.cfg.CreateBucket); err != nil {
		return err
	}
	buf := make([]byte, d.partSize) // one part in memory, reused by every file
	for _, f := range d.Files() {
		r, err := d.Open(f)
		if err != nil {
			return err
		}
		n, err := putObject(ctx, client, d.cfg.Bucket, f.Key, r, buf)
		if err != nil {
			return fmt.Errorf("upload demo file s3://%s/%s: %w", d.cfg.Bucket, f.Key, err)
		}
		if progress != nil {
			progress(Written{File: f, Location: "s3://" + d.cfg.Bucket + "/" + f.Key, Bytes: n})
		}
	}
	return nil
}

// ensureBucket checks that bucket exists and is reachable with the caller's credentials, creating it when
// allowed. A bucket that exists but belongs to someone else is an error, never written to.
func ensureBucket(ctx context.Context, client S3API, bucket string, create bool) error {
	_, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		return nil
	}
	if !isNotFound(err) {
		return fmt.Errorf("check bucket %q: %w", bucket, err)
	}
	if !create {
		return fmt.Errorf("check bucket %q: %w (create it, or ask for it to be created)", bucket, ErrNoBucket)
	}
	in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
	// Outside us-east-1, S3 wants the bucket's region restated; a client that can tell its region says it.
	if o, ok := client.(interface{ Options() s3.Options }); ok {
		if region := o.Options().Region; region != "" && region != "us-east-1" {
			in.CreateBucketConfiguration = &types.CreateBucketConfiguration{
				LocationConstraint: types.BucketLocationConstraint(region),
			}
		}
	}
	_, err = client.CreateBucket(ctx, in)
	var owned *types.BucketAlreadyOwnedByYou
	var exists *types.BucketAlreadyExists
	switch {
	case err == nil, errors.As(err, &owned):
		return nil
	case errors.As(err, &exists):
		// Created meanwhile: ours if we can reach it (some S3 servers answer this for their owner too).
		if _, herr := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); herr == nil {
			return nil
		}
		return fmt.Errorf("create bucket %q: %w", bucket, err)
	default:
		return fmt.Errorf("create bucket %q: %w", bucket, err)
	}
}

// isNotFound tells a missing bucket from the other HeadBucket failures (HEAD answers carry no error
// body, so the status code is what there is).
func isNotFound(err error) bool {
	var nf *types.NotFound
	var nsb *types.NoSuchBucket
	if errors.As(err, &nf) || errors.As(err, &nsb) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "NotFound" || api.ErrorCode() == "NoSuchBucket") {
		return true
	}
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound
}

// putObject stores r under key: in one PutObject when it fits in buf, else as a multipart upload in
// parts of len(buf), aborted on failure so that no partial object or orphaned parts remain. It returns
// the object's size.
func putObject(ctx context.Context, client S3API, bucket, key string, r io.Reader, buf []byte) (int64, error) {
	n, err := io.ReadFull(r, buf)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		_, err := client.PutObject(ctx, &s3.PutObjectInput{
			Bucket:        aws.String(bucket),
			Key:           aws.String(key),
			Body:          bytes.NewReader(buf[:n]),
			ContentLength: aws.Int64(int64(n)),
			ContentType:   aws.String(csvContentType),
		})
		if err != nil {
			return 0, fmt.Errorf("put object: %w", err)
		}
		return int64(n), nil
	}
	if err != nil {
		return 0, err
	}

	created, err := client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:      aws.String(bucket),
		Key:         aws.String(key),
		ContentType: aws.String(csvContentType),
	})
	if err != nil {
		return 0, fmt.Errorf("create multipart upload: %w", err)
	}
	uploadID := created.UploadId
	abort := func(cause error) error {
		// The caller's context may be what failed; the abort must still reach S3.
		actx := context.WithoutCancel(ctx)
		if _, aerr := client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{
			Bucket: aws.String(bucket), Key: aws.String(key), UploadId: uploadID,
		}); aerr != nil {
			return errors.Join(cause, fmt.Errorf("abort multipart upload %q: %w", aws.ToString(uploadID), aerr))
		}
		return cause
	}

	var parts []types.CompletedPart
	var total int64
	for n > 0 {
		num := int32(len(parts) + 1)
		up, err := client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket:        aws.String(bucket),
			Key:           aws.String(key),
			UploadId:      uploadID,
			PartNumber:    aws.Int32(num),
			Body:          bytes.NewReader(buf[:n]),
			ContentLength: aws.Int64(int64(n)),
		})
		if err != nil {
			return 0, abort(fmt.Errorf("upload part %d: %w", num, err))
		}
		parts = append(parts, types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(num)})
		total += int64(n)
		n, err = io.ReadFull(r, buf)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, abort(err)
		}
	}
	if _, err := client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(bucket),
		Key:             aws.String(key),
		UploadId:        uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}); err != nil {
		return 0, abort(fmt.Errorf("complete multipart upload: %w", err))
	}
	return total, nil
}
