// Package localdefaults holds the defaults of the local setup (localaws) that the binaries, their flags and
// their tests share: the region, the account ID in ARNs and the bucket the pipelines read and write.
package localdefaults

const (
	// Region is the AWS region of the local setup; localaws's DefaultRegion, which a test holds equal.
	Region = "us-east-1"
	// AccountID is the account ID the local setup's ARNs carry; localaws's DefaultAccountID, which a test
	// holds equal.
	AccountID = "000000000000"
	// Bucket is the S3 bucket of the local setup: the demo data, the training output and the predictions.
	Bucket = "mdlc-local"
)
