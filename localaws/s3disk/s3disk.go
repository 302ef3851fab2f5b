// Package s3disk is a gofakes3.Backend that keeps S3 objects as plain files, so that a user can look at
// what a pipeline wrote with ls and cat.
//
// Layout under the directory given to New:
//
//	<bucket>/<key>                         the object's bytes; key segments are directories
//	.meta/<bucket>/bucket.json             when the bucket was created
//	.meta/<bucket>/objects/<sha256>.json   the object's ETag and user metadata, keyed by a hash of the key
//	.tmp/                                  uploads in flight (renamed into place when complete)
//	.uploads/<upload id>/                  multipart uploads until completed or aborted (see multipart.go)
//
// Because keys become paths, a few keys S3 accepts are refused with InvalidArgument: empty segments
// (a leading, trailing or doubled "/"), "." and ".." segments, backslashes and NUL bytes, and a key that
// is both an object and a "directory" of other objects ("a" and "a/b"). All file access goes through an
// os.Root on the directory, so no key or bucket name can reach a file outside it, even through symlinks.
// Files placed in a bucket's directory by hand are served as objects (their ETag is computed on read);
// symlinks are not, wherever they point: they answer as missing keys.
//
// Multipart uploads stream their parts to files under .uploads, and the completed object's ETag is S3's
// multipart one ("<md5 of the parts' MD5s>-<parts>") in CompleteMultipartUpload, HeadObject, GetObject and
// listings; the listener must pass S3 responses' headers through FixETag for that, and translate an
// If-None-Match naming it with ConditionETag.
//
// A write that fails because the disk is full answers InternalError with a message naming the data
// directory, rather than a bare InternalError.
package s3disk

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/johannesboyne/gofakes3"
)

const (
	metaDir = ".meta"
	tmpDir  = ".tmp"
	// maxSegment is the longest file name common file systems accept.
	maxSegment = 255
)

// Backend stores buckets and objects as directories and files. It is safe for concurrent use.
type Backend struct {
	dir   string
	root  *os.Root
	clock func() time.Time

	// mu orders changes to the namespace (buckets, keys); object bytes are streamed outside it.
	mu sync.RWMutex
}

var _ gofakes3.Backend = (*Backend)(nil)

// New opens (creating it if needed) the store in dir. Uploads (and multipart parts) that a previous process
// left half-written are removed; open multipart uploads stay. clock stamps bucket creation; time.Now when nil.
func New(dir string, clock func() time.Time) (*Backend, error) {
	if dir == "" {
		return nil, errors.New("s3 store: empty directory")
	}
	if clock == nil {
		clock = time.Now
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("s3 store %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("s3 store %q: %w", abs, err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("s3 store %q: %w", abs, err)
	}
	if err := root.RemoveAll(tmpDir); err != nil {
		root.Close()
		return nil, fmt.Errorf("s3 store %q: clear unfinished uploads: %w", abs, err)
	}
	if err := removeUnfinishedParts(root); err != nil {
		root.Close()
		return nil, fmt.Errorf("s3 store %q: clear unfinished parts: %w", abs, err)
	}
	for _, d := range []string{tmpDir, metaDir} {
		if err := root.MkdirAll(d, 0o755); err != nil {
			root.Close()
			return nil, fmt.Errorf("s3 store %q: %w", abs, err)
		}
	}
	return &Backend{dir: abs, root: root, clock: clock}, nil
}

// Dir returns the absolute directory the store lives in.
func (b *Backend) Dir() string { return b.dir }

// Close releases the store's directory handle. The Backend must not be used afterwards.
func (b *Backend) Close() error { return b.root.Close() }

// CheckKey returns an InvalidArgument error when key cannot be stored as a file path.
func CheckKey(key string) error {
	if key == "" {
		return gofakes3.ErrorMessage(gofakes3.ErrInvalidArgument, "object key is empty")
	}
	if len(key) > gofakes3.KeySizeLimit {
		return gofakes3.ResourceError(gofakes3.ErrKeyTooLong, key)
	}
	if !utf8.ValidString(key) {
		return gofakes3.ErrorMessagef(gofakes3.ErrInvalidArgument, "object key %q is not valid UTF-8", key)
	}
	if strings.ContainsAny(key, "\\\x00") {
		return gofakes3.ErrorMessagef(gofakes3.ErrInvalidArgument,
			"object key %q: localaws stores keys as file paths and refuses backslashes and NUL bytes", key)
	}
	for _, seg := range strings.Split(key, "/") {
		switch {
		case seg == "":
			return gofakes3.ErrorMessagef(gofakes3.ErrInvalidArgument,
				"object key %q: localaws stores keys as file paths and refuses empty segments (leading, trailing or doubled '/')", key)
		case seg == "." || seg == "..":
			return gofakes3.ErrorMessagef(gofakes3.ErrInvalidArgument,
				"object key %q: localaws stores keys as file paths and refuses '.' and '..' segments", key)
		case len(seg) > maxSegment:
			return gofakes3.ErrorMessagef(gofakes3.ErrInvalidArgument,
				"object key %q: a segment is longer than %d bytes", key, maxSegment)
		}
	}
	return nil
}

func validBucket(name string) bool { return gofakes3.ValidateBucketName(name) == nil }

// objectPath is the file of key in bucket, relative to the root. Both must have been validated.
func objectPath(bucket, key string) string { return filepath.FromSlash(bucket + "/" + key) }

func bucketMetaPath(bucket string) string { return filepath.Join(metaDir, bucket, "bucket.json") }

func objectMetaDir(bucket string) string { return filepath.Join(metaDir, bucket, "objects") }

func objectMetaPath(bucket, key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(objectMetaDir(bucket), hex.EncodeToString(sum[:])+".json")
}

// objectMeta is the sidecar of an object. Size and ModTime tell whether the file changed behind our back.
type objectMeta struct {
	Key     string
	Size    int64
	ModTime time.Time
	MD5     string
	// ETag is a multipart object's ETag, "<md5 of the parts' MD5s>-<parts>"; empty for others, whose ETag
	// is their MD5.
	ETag     string `json:",omitempty"`
	Metadata map[string]string
}

// etag is the object's ETag header value, quoted.
func (m *objectMeta) etag() string {
	if m.ETag != "" {
		return `"` + m.ETag + `"`
	}
	return `"` + m.MD5 + `"`
}

type bucketMeta struct {
	Created time.Time
}

// bucketExistsLocked reports whether bucket is a valid name with a directory.
func (b *Backend) bucketExistsLocked(bucket string) (bool, error) {
	if !validBucket(bucket) {
		return false, nil
	}
	fi, err := b.root.Lstat(bucket)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat bucket %q: %w", bucket, err)
	}
	return fi.IsDir(), nil // a symlink is no bucket
}

// ListBuckets returns every bucket, by name.
func (b *Backend) ListBuckets() ([]gofakes3.BucketInfo, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	entries, err := fs.ReadDir(b.root.FS(), ".")
	if err != nil {
		return nil, fmt.Errorf("list buckets: %w", err)
	}
	buckets := []gofakes3.BucketInfo{}
	for _, e := range entries {
		if !e.IsDir() || !validBucket(e.Name()) {
			continue
		}
		created := time.Time{}
		var m bucketMeta
		if raw, err := b.root.ReadFile(bucketMetaPath(e.Name())); err == nil && json.Unmarshal(raw, &m) == nil {
			created = m.Created
		} else if fi, err := e.Info(); err == nil {
			created = fi.ModTime()
		}
		buckets = append(buckets, gofakes3.BucketInfo{Name: e.Name(), CreationDate: gofakes3.NewContentTime(created)})
	}
	return buckets, nil
}

// BucketExists reports whether the bucket exists.
func (b *Backend) BucketExists(name string) (bool, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.bucketExistsLocked(name)
}

// CreateBucket creates an empty bucket; an existing one is BucketAlreadyExists.
func (b *Backend) CreateBucket(name string) error {
	if err := gofakes3.ValidateBucketName(name); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	exists, err := b.bucketExistsLocked(name)
	if err != nil {
		return err
	}
	if exists {
		return gofakes3.ResourceError(gofakes3.ErrBucketAlreadyExists, name)
	}
	if err := b.root.Mkdir(name, 0o755); err != nil {
		return fmt.Errorf("create bucket %q: %w", name, err)
	}
	raw, _ := json.Marshal(bucketMeta{Created: b.clock().UTC()})
	if err := b.writeMetaLocked(bucketMetaPath(name), raw); err != nil {
		_ = b.root.Remove(name)
		return fmt.Errorf("create bucket %q: %w", name, err)
	}
	return nil
}

// DeleteBucket deletes an empty bucket (BucketNotEmpty otherwise, NoSuchBucket when missing).
func (b *Backend) DeleteBucket(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	exists, err := b.bucketExistsLocked(name)
	if err != nil {
		return err
	}
	if !exists {
		return gofakes3.BucketNotFound(name)
	}
	entries, err := fs.ReadDir(b.root.FS(), name)
	if err != nil {
		return fmt.Errorf("delete bucket %q: %w", name, err)
	}
	if len(entries) > 0 {
		return gofakes3.ResourceError(gofakes3.ErrBucketNotEmpty, name)
	}
	return b.removeBucketLocked(name)
}

// ForceDeleteBucket deletes a bucket and everything in it.
func (b *Backend) ForceDeleteBucket(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	exists, err := b.bucketExistsLocked(name)
	if err != nil {
		return err
	}
	if !exists {
		return gofakes3.BucketNotFound(name)
	}
	return b.removeBucketLocked(name)
}

func (b *Backend) removeBucketLocked(name string) error {
	if err := b.root.RemoveAll(name); err != nil {
		return fmt.Errorf("delete bucket %q: %w", name, err)
	}
	if err := b.removeUploadsLocked(name); err != nil {
		return fmt.Errorf("delete bucket %q: %w", name, err)
	}
	if err := b.root.RemoveAll(filepath.Join(metaDir, name)); err != nil {
		return fmt.Errorf("delete bucket %q metadata: %w", name, err)
	}
	return nil
}

// DeleteAll removes every bucket and object.
func (b *Backend) DeleteAll() error {
	buckets, err := b.ListBuckets()
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, bk := range buckets {
		if err := b.removeBucketLocked(bk.Name); err != nil {
			return err
		}
	}
	return nil
}

// ListBucket lists the bucket's keys in UTF-8 byte order, filtered by prefix and delimiter, one page at a
// time (page.Marker is exclusive; NextMarker is set when the listing is truncated).
func (b *Backend) ListBucket(name string, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage) (*gofakes3.ObjectList, error) {
	if prefix == nil {
		prefix = &gofakes3.Prefix{}
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	exists, err := b.bucketExistsLocked(name)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, gofakes3.BucketNotFound(name)
	}

	type file struct {
		key string
		fi  fs.FileInfo
	}
	var files []file
	start := name
	// Walk only the directory the prefix names, when it names one.
	if dir := path.Dir(prefix.Prefix); prefix.HasPrefix && dir != "." && CheckKey(dir) == nil {
		start = name + "/" + dir
	}
	err = fs.WalkDir(b.root.FS(), start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // removed while walking
		}
		files = append(files, file{key: strings.TrimPrefix(p, name+"/"), fi: fi})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list bucket %q: %w", name, err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].key < files[j].key })

	maxKeys := page.MaxKeys
	if maxKeys <= 0 {
		maxKeys = gofakes3.DefaultMaxBucketKeys
	}
	out := gofakes3.NewObjectList()
	var count int64
	var last, lastPrefix string
	for _, f := range files {
		if page.HasMarker {
			if f.key <= page.Marker {
				continue
			}
			// A marker that is a common prefix stands for every key under it.
			if prefix.HasDelimiter && strings.HasSuffix(page.Marker, prefix.Delimiter) && strings.HasPrefix(f.key, page.Marker) {
				continue
			}
		}
		var m gofakes3.PrefixMatch
		if !prefix.Match(f.key, &m) {
			continue
		}
		if m.CommonPrefix && m.MatchedPart == lastPrefix {
			continue
		}
		if count == maxKeys {
			out.IsTruncated = true
			out.NextMarker = last
			break
		}
		count++
		if m.CommonPrefix {
			out.AddPrefix(m.MatchedPart)
			last, lastPrefix = m.MatchedPart, m.MatchedPart
			continue
		}
		meta, err := b.metaFor(name, f.key, f.fi)
		if err != nil {
			return nil, err
		}
		out.Add(&gofakes3.Content{
			Key:          f.key,
			LastModified: gofakes3.NewContentTime(f.fi.ModTime()),
			ETag:         meta.etag(),
			Size:         f.fi.Size(),
			StorageClass: gofakes3.StorageStandard,
		})
		last = f.key
	}
	return out, nil
}

// metaFor returns the sidecar of key, or metadata computed from the file when the sidecar is missing or
// describes another version of the file (e.g. the user replaced it by hand).
func (b *Backend) metaFor(bucket, key string, fi fs.FileInfo) (*objectMeta, error) {
	var m objectMeta
	raw, err := b.root.ReadFile(objectMetaPath(bucket, key))
	if err == nil && json.Unmarshal(raw, &m) == nil && m.Key == key && m.Size == fi.Size() && m.ModTime.Equal(fi.ModTime()) {
		return &m, nil
	}
	f, err := b.root.Open(objectPath(bucket, key))
	if err != nil {
		return nil, fmt.Errorf("hash object %q in bucket %q: %w", key, bucket, err)
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("hash object %q in bucket %q: %w", key, bucket, err)
	}
	return &objectMeta{Key: key, Size: fi.Size(), ModTime: fi.ModTime(), MD5: hex.EncodeToString(h.Sum(nil))}, nil
}

// HeadObject returns the object's attributes with empty Contents.
func (b *Backend) HeadObject(bucket, key string) (*gofakes3.Object, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	fi, err := b.statObjectLocked(bucket, key)
	if err != nil {
		return nil, err
	}
	meta, err := b.metaFor(bucket, key, fi)
	if err != nil {
		return nil, err
	}
	return object(key, meta, io.NopCloser(strings.NewReader("")), nil)
}

// GetObject returns the object (or the requested range of it). The caller closes Contents.
func (b *Backend) GetObject(bucket, key string, rangeRequest *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	fi, err := b.statObjectLocked(bucket, key)
	if err != nil {
		return nil, err
	}
	meta, err := b.metaFor(bucket, key, fi)
	if err != nil {
		return nil, err
	}
	rng, err := rangeRequest.Range(fi.Size())
	if err != nil {
		return nil, err
	}
	f, err := b.root.Open(objectPath(bucket, key))
	if err != nil {
		return nil, fmt.Errorf("open object %q in bucket %q: %w", key, bucket, err)
	}
	var body io.ReadCloser = f
	if rng != nil {
		if _, err := f.Seek(rng.Start, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("read object %q in bucket %q: %w", key, bucket, err)
		}
		body = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(f, rng.Length), f}
	}
	return object(key, meta, body, rng)
}

func object(key string, meta *objectMeta, body io.ReadCloser, rng *gofakes3.ObjectRange) (*gofakes3.Object, error) {
	hash, err := hex.DecodeString(meta.MD5)
	if err != nil {
		body.Close()
		return nil, fmt.Errorf("object %q: bad stored hash: %w", key, err)
	}
	md := map[string]string{}
	for k, v := range meta.Metadata {
		md[k] = v
	}
	if _, ok := md["Last-Modified"]; !ok {
		md["Last-Modified"] = meta.ModTime.UTC().Format(http.TimeFormat)
	}
	if meta.ETag != "" {
		md[ETagHeader] = meta.etag()
	}
	return &gofakes3.Object{Name: key, Metadata: md, Size: meta.Size, Contents: body, Hash: hash, Range: rng}, nil
}

// statObjectLocked returns the object's file info, or NoSuchBucket / NoSuchKey.
func (b *Backend) statObjectLocked(bucket, key string) (fs.FileInfo, error) {
	exists, err := b.bucketExistsLocked(bucket)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, gofakes3.BucketNotFound(bucket)
	}
	if CheckKey(key) != nil {
		return nil, gofakes3.KeyNotFound(key)
	}
	// Symlinks are not objects (nor directories of objects), wherever they point: such a key is missing.
	segs := strings.Split(key, "/")
	for i := 1; i < len(segs); i++ {
		fi, err := b.root.Lstat(objectPath(bucket, strings.Join(segs[:i], "/")))
		if err == nil && !fi.IsDir() || errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, gofakes3.KeyNotFound(key)
		}
		if err != nil {
			return nil, fmt.Errorf("stat object %q in bucket %q: %w", key, bucket, err)
		}
	}
	fi, err := b.root.Lstat(objectPath(bucket, key))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || (err == nil && !fi.Mode().IsRegular()) {
		return nil, gofakes3.KeyNotFound(key)
	}
	if err != nil {
		return nil, fmt.Errorf("stat object %q in bucket %q: %w", key, bucket, err)
	}
	return fi, nil
}

// PutObject stores the object. The bytes go to a temporary file first and are renamed into place, so
// readers see the old object or the new one, never a part.
func (b *Backend) PutObject(bucket, key string, meta map[string]string, input io.Reader, size int64, conditions *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	var result gofakes3.PutObjectResult
	if err := CheckKey(key); err != nil {
		return result, err
	}
	if ok, err := b.BucketExists(bucket); err != nil {
		return result, err
	} else if !ok {
		return result, gofakes3.BucketNotFound(bucket)
	}
	tmpName, sum, n, err := b.writeTemp(bucket, key, input)
	if err != nil {
		return result, err
	}
	defer func() { _ = b.root.Remove(tmpName) }() // a no-op once committed
	if size >= 0 && n != size {
		return result, gofakes3.ErrIncompleteBody
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return result, b.commitLocked(bucket, key, tmpName, objectMeta{MD5: sum, Metadata: meta}, conditions)
}

// writeTemp streams input to a new temporary file and returns its name (relative to the root), the MD5 of
// its bytes and their number. The caller removes the file unless it commits it.
func (b *Backend) writeTemp(bucket, key string, input io.Reader) (name, sum string, n int64, err error) {
	tmp, err := os.CreateTemp(filepath.Join(b.dir, tmpDir), "put-*")
	if err != nil {
		drain(input)
		return "", "", 0, b.storageError("put object", bucket, key, err)
	}
	name = filepath.Join(tmpDir, filepath.Base(tmp.Name()))
	h := md5.New()
	n, err = io.Copy(io.MultiWriter(tmp, h), input)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = b.root.Remove(name)
		var s3err gofakes3.Error
		if errors.As(err, &s3err) {
			return "", "", 0, err // e.g. BadDigest from gofakes3's Content-MD5 check
		}
		drain(input)
		return "", "", 0, b.storageError("put object", bucket, key, err)
	}
	return name, hex.EncodeToString(h.Sum(nil)), n, nil
}

// drain reads what is left of a request body whose write failed, so that the client, still sending it, reads
// the error answer: a server that answers without reading the body closes the connection, and the client sees
// it reset instead of the answer. The body is bounded by its Content-Length and goes nowhere.
func drain(input io.Reader) { _, _ = io.Copy(io.Discard, input) }

// commitLocked renames the temporary file tmpName into place as key and writes its sidecar (meta's MD5,
// ETag and Metadata; the rest is filled in), after checking the bucket, the key's path and conditions.
func (b *Backend) commitLocked(bucket, key, tmpName string, meta objectMeta, conditions *gofakes3.PutConditions) error {
	if ok, err := b.bucketExistsLocked(bucket); err != nil {
		return err
	} else if !ok {
		return gofakes3.BucketNotFound(bucket)
	}
	if err := b.checkConflictsLocked(bucket, key); err != nil {
		return err
	}
	if conditions != nil {
		info := &gofakes3.ConditionalObjectInfo{}
		if fi, err := b.statObjectLocked(bucket, key); err == nil {
			cur, err := b.metaFor(bucket, key, fi)
			if err != nil {
				return err
			}
			info.Exists = true
			info.Hash, _ = hex.DecodeString(cur.MD5)
		}
		if err := gofakes3.CheckPutConditions(conditions, info); err != nil {
			return err
		}
	}
	dst := objectPath(bucket, key)
	if dir := filepath.Dir(dst); dir != bucket {
		if err := b.root.MkdirAll(dir, 0o755); err != nil {
			return b.storageError("put object", bucket, key, err)
		}
	}
	if err := b.root.Rename(tmpName, dst); err != nil {
		return b.storageError("put object", bucket, key, err)
	}
	fi, err := b.root.Stat(dst)
	if err != nil {
		return fmt.Errorf("put object %q in bucket %q: %w", key, bucket, err)
	}
	meta.Key, meta.Size, meta.ModTime = key, fi.Size(), fi.ModTime()
	raw, _ := json.Marshal(meta)
	if err := b.writeMetaLocked(objectMetaPath(bucket, key), raw); err != nil {
		// The bytes are in place; without a sidecar the ETag is recomputed on read and metadata is lost.
		return b.storageError("put object (metadata)", bucket, key, err)
	}
	return nil
}

// storageError says what failed and, when the disk is full, that it is, where, and what to do: S3 has no
// such error, so it travels as InternalError (which the SDKs retry) with that message instead of a bare one.
func (b *Backend) storageError(op, bucket, key string, err error) error {
	for _, full := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT} {
		if errors.Is(err, full) {
			return gofakes3.ErrorMessagef(gofakes3.ErrInternal,
				"%s %q in bucket %q: localaws's data directory %s is full (%v); free space there or start localaws with another --data-dir",
				op, key, bucket, b.dir, full)
		}
	}
	return fmt.Errorf("%s %q in bucket %q: %w", op, key, bucket, err)
}

// checkConflictsLocked refuses a key whose path is taken by a directory, or whose parent directories
// are taken by objects.
func (b *Backend) checkConflictsLocked(bucket, key string) error {
	segs := strings.Split(key, "/")
	for i := 1; i < len(segs); i++ {
		parent := strings.Join(segs[:i], "/")
		fi, err := b.root.Lstat(objectPath(bucket, parent))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("put object %q in bucket %q: %w", key, bucket, err)
		}
		if !fi.IsDir() {
			return gofakes3.ErrorMessagef(gofakes3.ErrInvalidArgument,
				"object key %q: localaws stores keys as file paths and object %q already uses %q as a file", key, parent, parent)
		}
	}
	fi, err := b.root.Lstat(objectPath(bucket, key))
	if err == nil && fi.IsDir() {
		return gofakes3.ErrorMessagef(gofakes3.ErrInvalidArgument,
			"object key %q: localaws stores keys as file paths and other objects exist under %q", key, key+"/")
	}
	return nil
}

func (b *Backend) writeMetaLocked(name string, raw []byte) error {
	if err := b.root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return b.root.WriteFile(name, raw, 0o644)
}

// CopyObject copies an object through GetObject and PutObject.
func (b *Backend) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	return gofakes3.CopyObject(b, srcBucket, srcKey, dstBucket, dstKey, meta)
}

// DeleteObject deletes the object; a missing key is not an error, a missing bucket is NoSuchBucket.
func (b *Backend) DeleteObject(bucket, key string) (gofakes3.ObjectDeleteResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return gofakes3.ObjectDeleteResult{}, b.deleteLocked(bucket, key)
}

func (b *Backend) deleteLocked(bucket, key string) error {
	exists, err := b.bucketExistsLocked(bucket)
	if err != nil {
		return err
	}
	if !exists {
		return gofakes3.BucketNotFound(bucket)
	}
	if _, err := b.statObjectLocked(bucket, key); err != nil {
		if gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) {
			return nil
		}
		return err
	}
	p := objectPath(bucket, key)
	if err := b.root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete object %q in bucket %q: %w", key, bucket, err)
	}
	if err := b.root.Remove(objectMetaPath(bucket, key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete object %q in bucket %q: metadata: %w", key, bucket, err)
	}
	// Empty parent directories would block a later object named like them; remove them up to the bucket.
	for dir := filepath.Dir(p); dir != bucket && dir != "."; dir = filepath.Dir(dir) {
		if err := b.root.Remove(dir); err != nil {
			break // not empty (or gone): stop climbing
		}
	}
	return nil
}

// DeleteMulti deletes each key, reporting per-key failures in the result.
func (b *Backend) DeleteMulti(bucket string, keys ...string) (gofakes3.MultiDeleteResult, error) {
	var result gofakes3.MultiDeleteResult
	b.mu.Lock()
	defer b.mu.Unlock()
	if ok, err := b.bucketExistsLocked(bucket); err != nil {
		return result, err
	} else if !ok {
		return result, gofakes3.BucketNotFound(bucket)
	}
	for _, key := range keys {
		if err := b.deleteLocked(bucket, key); err != nil {
			result.Error = append(result.Error, gofakes3.ErrorResult{
				Code: gofakes3.ErrInternal, Message: err.Error(), Key: key,
			})
			continue
		}
		result.Deleted = append(result.Deleted, gofakes3.ObjectID{Key: key})
	}
	return result, nil
}
