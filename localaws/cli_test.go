package localaws_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// awsCLI is the AWS CLI the tests drive; CI installs it (Debian package awscli).
const awsCLI = "/usr/bin/aws"

// runCLI runs the AWS CLI against e with throwaway credentials and no user configuration.
func runCLI(t *testing.T, e *env, args ...string) string {
	t.Helper()
	if _, err := os.Stat(awsCLI); err != nil {
		t.Fatalf("this test needs the AWS CLI at %s (apt-get install awscli): %v", awsCLI, err)
	}
	home := t.TempDir()
	cmd := exec.Command(awsCLI, append([]string{"--endpoint-url", e.http.URL, "--output", "json"}, args...)...)
	cmd.Env = []string{
		"HOME=" + home,
		"PATH=/usr/bin:/bin",
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_PAGER=",
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestAWSCLI(t *testing.T) {
	e, _ := startWithEcho(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "train.csv")
	if err := os.WriteFile(src, []byte("1,0.5\n0,0.25\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	runCLI(t, e, "s3", "mb", "s3://cli-bucket")
	runCLI(t, e, "s3", "cp", src, "s3://cli-bucket/input-data/2020-01-01/train/train.csv")
	if ls := runCLI(t, e, "s3", "ls", "s3://cli-bucket/input-data/2020-01-01/"); !strings.Contains(ls, "PRE train/") {
		t.Errorf("s3 ls: %s", ls)
	}
	if ls := runCLI(t, e, "s3", "ls", "--recursive", "s3://cli-bucket/"); !strings.Contains(ls, "input-data/2020-01-01/train/train.csv") {
		t.Errorf("s3 ls --recursive: %s", ls)
	}
	dst := filepath.Join(dir, "back.csv")
	runCLI(t, e, "s3", "cp", "s3://cli-bucket/input-data/2020-01-01/train/train.csv", dst)
	if b, err := os.ReadFile(dst); err != nil || string(b) != "1,0.5\n0,0.25\n" {
		t.Errorf("round trip through the CLI: %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(e.dataDir, "s3", "cli-bucket", "input-data", "2020-01-01", "train", "train.csv")); err != nil || string(b) != "1,0.5\n0,0.25\n" {
		t.Errorf("file on disk: %q, %v", b, err)
	}
	runCLI(t, e, "s3", "rm", "s3://cli-bucket/input-data/2020-01-01/train/train.csv")
	runCLI(t, e, "s3", "rb", "s3://cli-bucket")

	var list struct {
		Functions []struct{ FunctionName, FunctionArn string }
	}
	if err := json.Unmarshal([]byte(runCLI(t, e, "lambda", "list-functions")), &list); err != nil || len(list.Functions) != 1 || list.Functions[0].FunctionName != "echo" {
		t.Errorf("lambda list-functions: %+v, %v", list, err)
	}
	out := filepath.Join(dir, "out.json")
	runCLI(t, e, "lambda", "invoke", "--cli-binary-format", "raw-in-base64-out", "--function-name", list.Functions[0].FunctionArn, "--payload", `{"Value": 4}`, out)
	var got echoOut
	if b, err := os.ReadFile(out); err != nil || json.Unmarshal(b, &got) != nil || got.Value != 8 {
		t.Errorf("lambda invoke: %q, %v", b, err)
	}
}
