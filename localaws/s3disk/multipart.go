package s3disk

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/johannesboyne/gofakes3"
)

// Multipart uploads live on disk, under the store's directory, from CreateMultipartUpload until they are
// completed or aborted (they survive a restart, as S3's do until aborted):
//
//	.uploads/<upload id>/upload.json        bucket, key, metadata, when it was initiated
//	.uploads/<upload id>/<part number>      a part's bytes
//	.uploads/<upload id>/<part number>.json the part's MD5, size and time
//
// Parts are streamed to their files, so an upload of any size holds no more than a copy buffer in memory.
const uploadsDir = ".uploads"

// MaxPartSize is the largest a part may be, as in S3.
const MaxPartSize = 5 << 30

// ETagHeader carries a multipart object's ETag ("<md5 of the parts' MD5s>-<parts>") from the Backend to the
// listener on GetObject and HeadObject: gofakes3 writes the ETag header from Object.Hash, an MD5, and
// cannot express it. FixETag moves it to ETag. Clients cannot set it: gofakes3 keeps only X-Amz-* and a
// few content headers as metadata.
const ETagHeader = "X-Localaws-Etag"

// FixETag replaces the ETag header with ETagHeader's value, when there is one. Call it on the headers of
// every S3 response before they are sent.
func FixETag(h http.Header) {
	if v := h.Get(ETagHeader); v != "" {
		h.Set("ETag", v)
		h.Del(ETagHeader)
	}
}

// ConditionETag translates an ETag a client names in If-None-Match for gofakes3, which compares it with
// the object's MD5: for a multipart object, its ETag becomes its MD5 ETag and its MD5 ETag (which is not
// its ETag) something that does not match. Other values are returned unchanged.
func (b *Backend) ConditionETag(bucket, key, etag string) string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	fi, err := b.statObjectLocked(bucket, key)
	if err != nil {
		return etag
	}
	m, err := b.metaFor(bucket, key, fi)
	if err != nil || m.ETag == "" {
		return etag
	}
	md5ETag := `"` + m.MD5 + `"`
	switch etag {
	case m.etag():
		return md5ETag
	case md5ETag:
		return m.etag() // not the object's ETag: must not match
	}
	return etag
}

// uploadIDRE matches the upload IDs CreateMultipartUpload hands out; any other is NoSuchUpload (and never
// becomes a path).
var uploadIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

var _ gofakes3.MultipartBackend = (*Backend)(nil)

type uploadMeta struct {
	Bucket    string
	Key       string
	Metadata  map[string]string
	Initiated time.Time
}

type partMeta struct {
	MD5      string
	Size     int64
	Modified time.Time
}

func uploadPath(id gofakes3.UploadID, name string) string {
	return filepath.Join(uploadsDir, string(id), name)
}

// newUploadID returns a random upload ID (32 random bytes, URL-safe base64), opaque as S3's are.
func newUploadID() gofakes3.UploadID {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return gofakes3.UploadID(base64.RawURLEncoding.EncodeToString(b[:]))
}

// removeUnfinishedParts removes the part files a previous process was still writing.
func removeUnfinishedParts(root *os.Root) error {
	partials, err := fs.Glob(root.FS(), uploadsDir+"/*/.part-*")
	if err != nil {
		return err
	}
	for _, p := range partials {
		if err := root.Remove(filepath.FromSlash(p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// removeUploadsLocked aborts every upload into bucket.
func (b *Backend) removeUploadsLocked(bucket string) error {
	entries, err := fs.ReadDir(b.root.FS(), uploadsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list multipart uploads: %w", err)
	}
	for _, e := range entries {
		var m uploadMeta
		raw, err := b.root.ReadFile(uploadPath(gofakes3.UploadID(e.Name()), "upload.json"))
		if err == nil && json.Unmarshal(raw, &m) == nil && m.Bucket != bucket {
			continue
		}
		if err := b.root.RemoveAll(filepath.Join(uploadsDir, e.Name())); err != nil {
			return fmt.Errorf("abort multipart upload %s: %w", e.Name(), err)
		}
	}
	return nil
}

// CreateMultipartUpload starts an upload of key in bucket and returns its ID.
func (b *Backend) CreateMultipartUpload(bucket, key string, meta map[string]string) (gofakes3.UploadID, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if ok, err := b.bucketExistsLocked(bucket); err != nil {
		return "", err
	} else if !ok {
		return "", gofakes3.BucketNotFound(bucket)
	}
	id := newUploadID()
	if err := b.root.MkdirAll(filepath.Join(uploadsDir, string(id)), 0o755); err != nil {
		return "", b.storageError("create multipart upload", bucket, key, err)
	}
	raw, _ := json.Marshal(uploadMeta{Bucket: bucket, Key: key, Metadata: meta, Initiated: b.clock().UTC()})
	if err := b.root.WriteFile(uploadPath(id, "upload.json"), raw, 0o644); err != nil {
		_ = b.root.RemoveAll(filepath.Join(uploadsDir, string(id)))
		return "", b.storageError("create multipart upload", bucket, key, err)
	}
	return id, nil
}

// uploadLocked returns the upload id of key in bucket, or NoSuchUpload.
func (b *Backend) uploadLocked(bucket, key string, id gofakes3.UploadID) (*uploadMeta, error) {
	if !uploadIDRE.MatchString(string(id)) {
		return nil, gofakes3.ErrNoSuchUpload
	}
	raw, err := b.root.ReadFile(uploadPath(id, "upload.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, gofakes3.ErrNoSuchUpload
	}
	if err != nil {
		return nil, fmt.Errorf("read multipart upload %s: %w", id, err)
	}
	var m uploadMeta
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("read multipart upload %s: %w", id, err)
	}
	if m.Bucket != bucket || m.Key != key {
		return nil, gofakes3.ErrNoSuchUpload
	}
	return &m, nil
}

// UploadPart streams a part to its file and returns its ETag (the part's MD5, quoted). A part uploaded
// again under the same number replaces the earlier one.
func (b *Backend) UploadPart(bucket, key string, id gofakes3.UploadID, partNumber int, contentLength int64, input io.Reader) (string, error) {
	if partNumber < 1 || partNumber > gofakes3.MaxUploadPartNumber {
		return "", gofakes3.ErrorMessagef(gofakes3.ErrInvalidArgument, "Part number must be an integer between 1 and %d, inclusive", gofakes3.MaxUploadPartNumber)
	}
	if contentLength > MaxPartSize {
		// S3 answers EntityTooLarge, which gofakes3 can only send with status 500 (and the SDKs would retry).
		return "", gofakes3.ErrorMessagef(gofakes3.ErrInvalidArgument, "Your proposed upload exceeds the maximum allowed size: a part may be at most %d bytes", int64(MaxPartSize))
	}
	b.mu.RLock()
	_, err := b.uploadLocked(bucket, key, id)
	b.mu.RUnlock()
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Join(b.dir, uploadsDir, string(id)), ".part-*")
	if err != nil {
		drain(input)
		return "", b.storageError("upload part", bucket, key, err)
	}
	tmpName := uploadPath(id, filepath.Base(tmp.Name()))
	defer func() { _ = b.root.Remove(tmpName) }() // a no-op once renamed
	h := md5.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(input, MaxPartSize+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		var s3err gofakes3.Error
		if errors.As(err, &s3err) {
			return "", err // e.g. BadDigest from gofakes3's Content-MD5 check
		}
		drain(input)
		return "", b.storageError("upload part", bucket, key, err)
	}
	if n != contentLength {
		return "", gofakes3.ErrIncompleteBody
	}
	sum := hex.EncodeToString(h.Sum(nil))

	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.uploadLocked(bucket, key, id); err != nil {
		return "", err // aborted meanwhile
	}
	name := strconv.Itoa(partNumber)
	if err := b.root.Rename(tmpName, uploadPath(id, name)); err != nil {
		return "", b.storageError("upload part", bucket, key, err)
	}
	raw, _ := json.Marshal(partMeta{MD5: sum, Size: n, Modified: b.clock().UTC()})
	if err := b.root.WriteFile(uploadPath(id, name+".json"), raw, 0o644); err != nil {
		return "", b.storageError("upload part", bucket, key, err)
	}
	return `"` + sum + `"`, nil
}

// partsLocked returns the upload's parts by number.
func (b *Backend) partsLocked(id gofakes3.UploadID) (map[int]partMeta, error) {
	entries, err := fs.ReadDir(b.root.FS(), filepath.Join(uploadsDir, string(id)))
	if err != nil {
		return nil, fmt.Errorf("list parts of upload %s: %w", id, err)
	}
	parts := map[int]partMeta{}
	for _, e := range entries {
		num, ok := strings.CutSuffix(e.Name(), ".json")
		n, err := strconv.Atoi(num)
		if !ok || err != nil {
			continue
		}
		raw, err := b.root.ReadFile(uploadPath(id, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read part %d of upload %s: %w", n, id, err)
		}
		var p partMeta
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("read part %d of upload %s: %w", n, id, err)
		}
		parts[n] = p
	}
	return parts, nil
}

// ListParts lists the upload's parts in order, after part number marker, at most limit of them.
func (b *Backend) ListParts(bucket, key string, id gofakes3.UploadID, marker int, limit int64) (*gofakes3.ListMultipartUploadPartsResult, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if _, err := b.uploadLocked(bucket, key, id); err != nil {
		return nil, err
	}
	parts, err := b.partsLocked(id)
	if err != nil {
		return nil, err
	}
	nums := make([]int, 0, len(parts))
	for n := range parts {
		if n > marker {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	out := &gofakes3.ListMultipartUploadPartsResult{
		Bucket: bucket, Key: key, UploadID: id, StorageClass: gofakes3.StorageStandard,
		PartNumberMarker: marker, MaxParts: limit,
	}
	for _, n := range nums {
		if int64(len(out.Parts)) == limit {
			out.IsTruncated = true
			break
		}
		p := parts[n]
		out.Parts = append(out.Parts, gofakes3.ListMultipartUploadPartItem{
			PartNumber: n, ETag: `"` + p.MD5 + `"`, Size: p.Size, LastModified: gofakes3.NewContentTime(p.Modified),
		})
		out.NextPartNumberMarker = n
	}
	return out, nil
}

// ListMultipartUploads lists the bucket's open uploads by key, then by initiation time.
func (b *Backend) ListMultipartUploads(bucket string, marker *gofakes3.UploadListMarker, prefix gofakes3.Prefix, limit int64) (*gofakes3.ListMultipartUploadsResult, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if ok, err := b.bucketExistsLocked(bucket); err != nil {
		return nil, err
	} else if !ok {
		return nil, gofakes3.BucketNotFound(bucket)
	}
	entries, err := fs.ReadDir(b.root.FS(), uploadsDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("list multipart uploads of bucket %q: %w", bucket, err)
	}
	type upload struct {
		id gofakes3.UploadID
		m  *uploadMeta
	}
	var uploads []upload
	for _, e := range entries {
		var m uploadMeta
		raw, err := b.root.ReadFile(uploadPath(gofakes3.UploadID(e.Name()), "upload.json"))
		if err != nil || json.Unmarshal(raw, &m) != nil || m.Bucket != bucket {
			continue
		}
		uploads = append(uploads, upload{gofakes3.UploadID(e.Name()), &m})
	}
	sort.Slice(uploads, func(i, j int) bool {
		if uploads[i].m.Key != uploads[j].m.Key {
			return uploads[i].m.Key < uploads[j].m.Key
		}
		return uploads[i].m.Initiated.Before(uploads[j].m.Initiated)
	})
	out := &gofakes3.ListMultipartUploadsResult{Bucket: bucket, Prefix: prefix.Prefix, Delimiter: prefix.Delimiter, MaxUploads: limit}
	if marker != nil {
		out.KeyMarker, out.UploadIDMarker = marker.Object, marker.UploadID
	}
	seen := map[string]bool{}
	passedMarker := marker == nil || marker.UploadID == ""
	for _, u := range uploads {
		if marker != nil {
			if u.m.Key < marker.Object || (marker.UploadID == "" && u.m.Key == marker.Object) {
				continue
			}
			if !passedMarker && u.m.Key == marker.Object {
				passedMarker = u.id == marker.UploadID
				continue
			}
		}
		var match gofakes3.PrefixMatch
		if !prefix.Match(u.m.Key, &match) {
			continue
		}
		if int64(len(out.Uploads)+len(out.CommonPrefixes)) == limit {
			out.IsTruncated = true
			break
		}
		if match.CommonPrefix {
			if !seen[match.MatchedPart] {
				seen[match.MatchedPart] = true
				out.CommonPrefixes = append(out.CommonPrefixes, match.AsCommonPrefix())
			}
			continue
		}
		out.Uploads = append(out.Uploads, gofakes3.ListMultipartUploadItem{
			Key: u.m.Key, UploadID: u.id, StorageClass: gofakes3.StorageStandard, Initiated: gofakes3.NewContentTime(u.m.Initiated),
		})
		out.NextKeyMarker, out.NextUploadIDMarker = u.m.Key, u.id
	}
	if !out.IsTruncated {
		out.NextKeyMarker, out.NextUploadIDMarker = "", ""
	}
	return out, nil
}

// AbortMultipartUpload deletes the upload and its parts.
func (b *Backend) AbortMultipartUpload(bucket, key string, id gofakes3.UploadID) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.uploadLocked(bucket, key, id); err != nil {
		return err
	}
	if err := b.root.RemoveAll(filepath.Join(uploadsDir, string(id))); err != nil {
		return fmt.Errorf("abort multipart upload %s: %w", id, err)
	}
	return nil
}

// CompleteMultipartUpload joins the listed parts into the object and returns its ETag as S3 computes it:
// the MD5 of the parts' MD5s, a hyphen and the number of parts. The parts are checked first, as S3 does:
// ascending numbers (InvalidPartOrder), uploaded with the listed ETags (InvalidPart). S3's minimum part
// size (EntityTooSmall) is not enforced.
func (b *Backend) CompleteMultipartUpload(bucket, key string, id gofakes3.UploadID, input *gofakes3.CompleteMultipartUploadRequest) (gofakes3.VersionID, string, error) {
	b.mu.RLock()
	up, err := b.uploadLocked(bucket, key, id)
	var parts map[int]partMeta
	if err == nil {
		parts, err = b.partsLocked(id)
	}
	b.mu.RUnlock()
	if err != nil {
		return "", "", err
	}
	if len(input.Parts) == 0 {
		return "", "", gofakes3.ErrorMessage(gofakes3.ErrMalformedXML, "The XML you provided was not well-formed or did not validate against our published schema: a CompleteMultipartUpload needs at least one part")
	}
	for i, p := range input.Parts {
		if i > 0 && p.PartNumber <= input.Parts[i-1].PartNumber {
			return "", "", gofakes3.ErrInvalidPartOrder
		}
	}
	etags := md5.New()
	for _, p := range input.Parts {
		got, ok := parts[p.PartNumber]
		if !ok || strings.Trim(p.ETag, `"`) != got.MD5 {
			return "", "", gofakes3.ErrorMessagef(gofakes3.ErrInvalidPart,
				"One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag: part %d", p.PartNumber)
		}
		raw, _ := hex.DecodeString(got.MD5)
		etags.Write(raw)
	}
	etag := fmt.Sprintf("%s-%d", hex.EncodeToString(etags.Sum(nil)), len(input.Parts))

	// Join the parts into one file with the object's bytes, then put it in place as PutObject does.
	var readers []io.Reader
	for _, p := range input.Parts {
		f, err := b.root.Open(uploadPath(id, strconv.Itoa(p.PartNumber)))
		if err != nil {
			return "", "", fmt.Errorf("complete multipart upload %s: %w", id, err)
		}
		defer f.Close()
		readers = append(readers, f)
	}
	tmpName, sum, _, err := b.writeTemp(bucket, key, io.MultiReader(readers...))
	if err != nil {
		return "", "", err
	}
	defer func() { _ = b.root.Remove(tmpName) }() // a no-op once committed

	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.uploadLocked(bucket, key, id); err != nil {
		return "", "", err // aborted or completed meanwhile
	}
	if err := b.commitLocked(bucket, key, tmpName, objectMeta{MD5: sum, ETag: etag, Metadata: up.Metadata}, nil); err != nil {
		return "", "", err
	}
	if err := b.root.RemoveAll(filepath.Join(uploadsDir, string(id))); err != nil {
		return "", "", fmt.Errorf("complete multipart upload %s: remove parts: %w", id, err)
	}
	return "", `"` + etag + `"`, nil
}
