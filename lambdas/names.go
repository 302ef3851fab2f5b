package lambdas

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/mdlc/mdlc/internal/quote"

	"github.com/mdlc/mdlc/lambdas/contract"
)

const (
	stampLayout    = "20060102T150405"
	suffixHexChars = 8
	// stamp and suffix take 15 + 8 characters and two hyphens.
	maxModelPart = contract.MaxNameLength - len(stampLayout) - suffixHexChars - 2
)

// validBucket checks name against the S3 general-purpose bucket naming rules.
func validBucket(field, name string) error {
	reason := bucketProblem(name)
	if reason == "" {
		return nil
	}
	return invalidInput("%s %s is not a valid S3 bucket name: %s", field, quote.Value(name), reason)
}

func bucketProblem(name string) string {
	if len(name) < 3 || len(name) > 63 {
		return "want 3 to 63 characters"
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return "only lower-case letters, digits, dots and hyphens are allowed"
		}
	}
	if !alnum(name[0]) || !alnum(name[len(name)-1]) {
		return "must begin and end with a letter or digit"
	}
	if strings.Contains(name, "..") {
		return "must not contain two adjacent dots"
	}
	if addr, err := netip.ParseAddr(name); err == nil && addr.Is4() {
		return "must not be an IP address"
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return fmt.Sprintf("must not start with %q", p)
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			return fmt.Sprintf("must not end with %q", s)
		}
	}
	return ""
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// maxKeyBytes is S3's limit on the length of an object key (UTF-8 bytes).
const maxKeyBytes = 1024

// parseS3URI splits s3://bucket/key; field names the event field in errors.
func parseS3URI(field, uri string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return "", "", invalidInput("%s %s: want s3://bucket/key", field, quote.Value(uri))
	}
	bucket, key, _ = strings.Cut(rest, "/")
	if err := validBucket(field, bucket); err != nil {
		return "", "", err
	}
	if key == "" {
		return "", "", invalidInput("%s %s: no object key after the bucket", field, quote.Value(uri))
	}
	if len(key) > maxKeyBytes {
		return "", "", invalidInput("%s %s: the object key is %d bytes, S3 allows at most %d", field, quote.Value(uri), len(key), maxKeyBytes)
	}
	return bucket, key, nil
}

func s3URI(bucket, key string) string { return "s3://" + bucket + "/" + key }

// runTime returns the time that dates the run: the event's RunTime, or now.
func (h *Handlers) runTime(runTime string) (time.Time, error) {
	if runTime == "" {
		return h.now().UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, runTime)
	if err != nil {
		return time.Time{}, invalidInput("RunTime %s: want an RFC 3339 time such as 2019-10-01T12:00:00Z", quote.Value(runTime))
	}
	return t.UTC(), nil
}

// runID returns "<yyyymmddTHHMMSS>-<8 hex digits>", the part of job names and output folders that tells runs
// apart (see the package documentation).
func (h *Handlers) runID(kind contract.RequestKind, in contract.InitializeEvent, at time.Time) (string, error) {
	var suffix string
	if in.IdempotencyKey != "" {
		sum := sha256.Sum256([]byte(strings.Join([]string{string(kind), in.IdempotencyKey, in.WorkflowInput.ModelName, in.WorkflowInput.DataDate}, "\x00")))
		suffix = hex.EncodeToString(sum[:])[:suffixHexChars]
	} else {
		b := make([]byte, suffixHexChars/2)
		if _, err := io.ReadFull(h.entropy, b); err != nil {
			return "", &Error{Type: contract.ErrorInternal, Message: fmt.Sprintf("read random job name suffix: %v", err), Err: err}
		}
		suffix = hex.EncodeToString(b)
	}
	return at.Format(stampLayout) + "-" + suffix, nil
}

// jobName joins the model name, cut so that the whole fits 63 characters, and the run ID.
func jobName(modelName, runID string) string {
	if len(modelName) > maxModelPart {
		modelName = strings.TrimRight(modelName[:maxModelPart], "-")
	}
	return modelName + "-" + runID
}
