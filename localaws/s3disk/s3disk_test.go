package s3disk

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
)

func TestCheckKey(t *testing.T) {
	tests := []struct {
		key string
		ok  bool
	}{
		{"a", true}, {"a/b/c.csv", true}, {"a b/ü.txt", true}, {"..a/b..", true}, {"%2e%2e%2f", true},
		{"", false}, {"/a", false}, {"a/", false}, {"a//b", false}, {".", false}, {"..", false},
		{"../a", false}, {"a/../b", false}, {"a/./b", false}, {"a\\b", false}, {"a\x00b", false},
		{string([]byte{0xff}), false}, {strings.Repeat("x", 256), false}, {strings.Repeat("x/", 600), false},
	}
	for _, tt := range tests {
		if err := CheckKey(tt.key); (err == nil) != tt.ok {
			t.Errorf("CheckKey(%q) = %v, want ok %v", tt.key, err, tt.ok)
		}
	}
}

func newBackend(t *testing.T) *Backend {
	t.Helper()
	b, err := New(filepath.Join(t.TempDir(), "s3"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func put(t *testing.T, b *Backend, bucket, key, body string) error {
	t.Helper()
	_, err := b.PutObject(bucket, key, map[string]string{"Content-Type": "text/plain"}, strings.NewReader(body), int64(len(body)), nil)
	return err
}

func TestBucketNamesStayInside(t *testing.T) {
	b := newBackend(t)
	for _, name := range []string{"..", ".", "../x", "/abs", ".meta", ".tmp", "a/b", "x\\y", ""} {
		if err := b.CreateBucket(name); err == nil {
			t.Errorf("create bucket %q succeeded", name)
		}
		if ok, _ := b.BucketExists(name); ok {
			t.Errorf("bucket %q exists", name)
		}
		if err := put(t, b, name, "k", "v"); !gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchBucket) {
			t.Errorf("put into bucket %q: %v", name, err)
		}
		if _, err := b.ListBucket(name, nil, gofakes3.ListBucketPage{}); !gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchBucket) {
			t.Errorf("list bucket %q: %v", name, err)
		}
		if err := b.ForceDeleteBucket(name); !gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchBucket) {
			t.Errorf("force delete bucket %q: %v", name, err)
		}
	}
	buckets, err := b.ListBuckets()
	if err != nil || len(buckets) != 0 {
		t.Errorf("buckets: %v, %v", buckets, err)
	}
}

// TestSymlinkOut shows that a symlink planted in a bucket cannot be followed out of the store.
func TestSymlinkOut(t *testing.T) {
	b := newBackend(t)
	if err := b.CreateBucket("bkt"); err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(b.Dir(), "bkt", "link")); err != nil {
		t.Fatal(err)
	}
	if obj, err := b.GetObject("bkt", "link/secret", nil); err == nil {
		obj.Contents.Close()
		t.Error("read through a symlink out of the store")
	}
	if err := put(t, b, "bkt", "link/planted", "x"); err == nil {
		t.Error("wrote through a symlink out of the store")
	}
	if _, err := os.Stat(filepath.Join(outside, "planted")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("planted file outside: %v", err)
	}
}

func TestListPages(t *testing.T) {
	b := newBackend(t)
	if err := b.CreateBucket("bkt"); err != nil {
		t.Fatal(err)
	}
	keys := []string{"a-1", "a/x", "a/y/z", "b", "c/d"}
	for _, k := range keys {
		if err := put(t, b, "bkt", k, k); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		prefix gofakes3.Prefix
		max    int64
		want   []string // keys and common prefixes in page order, "|" between pages
	}{
		{name: "all one page", max: 1000, want: []string{"a-1", "a/x", "a/y/z", "b", "c/d"}},
		{name: "pages of two", max: 2, want: []string{"a-1", "a/x", "|", "a/y/z", "b", "|", "c/d"}},
		{name: "delimiter pages of one", prefix: gofakes3.NewPrefix(nil, strp("/")), max: 1,
			want: []string{"a-1", "|", "a/", "|", "b", "|", "c/"}},
		{name: "prefix and delimiter", prefix: gofakes3.NewFolderPrefix("a/"), max: 1000, want: []string{"a/x", "a/y/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			page := gofakes3.ListBucketPage{MaxKeys: tt.max}
			for {
				out, err := b.ListBucket("bkt", &tt.prefix, page)
				if err != nil {
					t.Fatal(err)
				}
				var items []string
				for _, c := range out.Contents {
					items = append(items, c.Key)
				}
				for _, p := range out.CommonPrefixes {
					items = append(items, p.Prefix)
				}
				slices.Sort(items)
				got = append(got, items...)
				if !out.IsTruncated {
					break
				}
				got = append(got, "|")
				page = gofakes3.ListBucketPage{MaxKeys: tt.max, Marker: out.NextMarker, HasMarker: true}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func strp(s string) *string { return &s }

func TestIncompleteUploadLeavesNothing(t *testing.T) {
	b := newBackend(t)
	if err := b.CreateBucket("bkt"); err != nil {
		t.Fatal(err)
	}
	_, err := b.PutObject("bkt", "short", nil, strings.NewReader("abc"), 10, nil)
	if !errors.Is(err, gofakes3.ErrIncompleteBody) {
		t.Fatalf("short body: %v", err)
	}
	_, err = b.PutObject("bkt", "broken", nil, io.MultiReader(strings.NewReader("abc"), errReader{}), 10, nil)
	if err == nil {
		t.Fatal("failing reader: no error")
	}
	out, err := b.ListBucket("bkt", nil, gofakes3.ListBucketPage{})
	if err != nil || len(out.Contents) != 0 {
		t.Errorf("after failed uploads: %+v, %v", out, err)
	}
	if tmp, _ := os.ReadDir(filepath.Join(b.Dir(), tmpDir)); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestConditionalPut(t *testing.T) {
	b := newBackend(t)
	if err := b.CreateBucket("bkt"); err != nil {
		t.Fatal(err)
	}
	star := "*"
	cond := &gofakes3.PutConditions{IfNoneMatch: &star}
	if _, err := b.PutObject("bkt", "once", nil, strings.NewReader("1"), 1, cond); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PutObject("bkt", "once", nil, strings.NewReader("2"), 1, cond); !gofakes3.HasErrorCode(err, gofakes3.ErrPreconditionFailed) {
		t.Errorf("second If-None-Match put: %v", err)
	}
}

func TestUnfinishedPartsRemovedOnOpen(t *testing.T) {
	dir := t.TempDir()
	b, err := New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CreateBucket("bkt"); err != nil {
		t.Fatal(err)
	}
	id, err := b.CreateMultipartUpload("bkt", "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.UploadPart("bkt", "k", id, 1, 3, strings.NewReader("abc")); err != nil {
		t.Fatal(err)
	}
	partial := filepath.Join(dir, uploadsDir, string(id), ".part-123")
	if err := os.WriteFile(partial, []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.Close()
	b, err = New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Errorf("half-written part still there: %v", err)
	}
	parts, err := b.ListParts("bkt", "k", id, 0, 100)
	if err != nil || len(parts.Parts) != 1 || parts.Parts[0].Size != 3 {
		t.Errorf("finished part after reopening: %+v, %v", parts, err)
	}
}
