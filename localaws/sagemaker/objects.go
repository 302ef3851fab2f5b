package sagemaker

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/johannesboyne/gofakes3"
	"github.com/mdlc/mdlc/localaws/awserr"
)

// s3URIPattern is AWS's pattern for S3 URIs in SageMaker requests.
const s3URIPattern = `^(https|s3)://([^/]+)/?(.*)$`

var s3URIRe = regexp.MustCompile(s3URIPattern)

// s3Location is a bucket and a key (or key prefix).
type s3Location struct{ Bucket, Key string }

func (l s3Location) String() string { return "s3://" + l.Bucket + "/" + l.Key }

// parseS3URI splits an s3:// URI; https:// URIs are valid for AWS but not supported here.
func parseS3URI(uri string) (s3Location, error) {
	m := s3URIRe.FindStringSubmatch(uri)
	if m == nil {
		return s3Location{}, awserr.New(awserr.SageMakerValidation, "Invalid S3 URI %q", uri)
	}
	if m[1] != "s3" {
		return s3Location{}, awserr.New(awserr.SageMakerValidation, "S3 URI %q: localaws supports only s3:// URIs", uri)
	}
	return s3Location{Bucket: m[2], Key: m[3]}, nil
}

// join appends path elements to a key prefix with single slashes.
func (l s3Location) join(elem ...string) s3Location {
	parts := []string{strings.TrimSuffix(l.Key, "/")}
	for _, e := range elem {
		parts = append(parts, strings.Trim(e, "/"))
	}
	key := strings.Join(parts, "/")
	return s3Location{Bucket: l.Bucket, Key: strings.TrimPrefix(key, "/")}
}

// s3Object is one object found under a prefix, with its name relative to the prefix.
type s3Object struct {
	Key, Rel string
	Size     int64
}

// relativeName names key relative to prefix the way SageMaker names channel files and transform outputs:
// "p/dir" and "p/dir/" both name "p/dir/a.csv" as "a.csv"; "p/da" names "p/data.csv" as "data.csv".
func relativeName(prefix, key string) string {
	if prefix != "" && !strings.HasSuffix(prefix, "/") && !strings.HasPrefix(key[len(prefix):], "/") {
		prefix = prefix[:strings.LastIndex(prefix, "/")+1]
	}
	rel := strings.TrimLeft(key[len(prefix):], "/")
	if rel == "" {
		rel = path.Base(key)
	}
	return rel
}

// listObjects returns every object under loc's prefix, by key; folder markers (keys ending in "/") are skipped.
func listObjects(b gofakes3.Backend, loc s3Location) ([]s3Object, error) {
	ok, err := b.BucketExists(loc.Bucket)
	if err != nil {
		return nil, fmt.Errorf("look up bucket %s: %w", loc.Bucket, err)
	}
	if !ok {
		return nil, nil
	}
	list, err := b.ListBucket(loc.Bucket, &gofakes3.Prefix{HasPrefix: true, Prefix: loc.Key}, gofakes3.ListBucketPage{})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", loc, err)
	}
	var out []s3Object
	for _, c := range list.Contents {
		if strings.HasSuffix(c.Key, "/") || !strings.HasPrefix(c.Key, loc.Key) {
			continue
		}
		rel := relativeName(loc.Key, c.Key)
		if !fs.ValidPath(rel) {
			return nil, fmt.Errorf("object s3://%s/%s: name %q cannot be a local file name", loc.Bucket, c.Key, rel)
		}
		out = append(out, s3Object{Key: c.Key, Rel: rel, Size: c.Size})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// download copies one object into the file dst, creating its directory.
func download(b gofakes3.Backend, bucket, key, dst string) error {
	obj, err := b.GetObject(bucket, key, nil)
	if err != nil {
		return fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	defer obj.Contents.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("download s3://%s/%s: %w", bucket, key, err)
	}
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("download s3://%s/%s: %w", bucket, key, err)
	}
	_, cerr := io.Copy(f, obj.Contents)
	if err := errors.Join(cerr, f.Close()); err != nil {
		return fmt.Errorf("download s3://%s/%s to %s: %w", bucket, key, dst, err)
	}
	return nil
}

// upload stores the file src as one object.
func upload(b gofakes3.Backend, src string, loc s3Location) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("upload %s: %w", loc, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("upload %s: %w", loc, err)
	}
	if _, err := b.PutObject(loc.Bucket, loc.Key, map[string]string{}, f, st.Size(), nil); err != nil {
		return fmt.Errorf("upload %s: %w", loc, err)
	}
	return nil
}

// objectExists reports whether loc names an object.
func objectExists(b gofakes3.Backend, loc s3Location) (bool, error) {
	ok, err := b.BucketExists(loc.Bucket)
	if err != nil || !ok {
		return false, err
	}
	obj, err := b.HeadObject(loc.Bucket, loc.Key)
	if gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) || gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchBucket) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("head %s: %w", loc, err)
	}
	obj.Contents.Close()
	return true, nil
}

// tarGz writes the files under dir, relative to it, as a gzip-compressed tar to the file dst.
func tarGz(dir, dst string) (err error) {
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	walkErr := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() && !info.IsDir() {
			return nil // sockets, links: not part of a model
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.IsDir() {
			return nil
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err := errors.Join(walkErr, tw.Close(), zw.Close()); err != nil {
		return fmt.Errorf("tar %s into %s: %w", dir, dst, err)
	}
	return nil
}

// errTooLarge reports an archive whose unpacked files would exceed the limit.
var errTooLarge = errors.New("unpacked size exceeds the limit")

// untarGz unpacks a gzip-compressed tar into dir; entries that would land outside dir are an error, and so
// are files whose sizes add up to more than limit bytes (a decompression bomb): unpacking stops before the
// limit is crossed, with an error that wraps errTooLarge.
func untarGz(src io.Reader, dir string, limit int64) error {
	written := int64(0)
	zr, err := gzip.NewReader(src)
	if err != nil {
		return fmt.Errorf("unpack into %s: %w", dir, err)
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("unpack into %s: %w", dir, err)
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		if name == "." {
			continue
		}
		if !fs.ValidPath(name) {
			return fmt.Errorf("unpack into %s: entry %q leaves the directory", dir, hdr.Name)
		}
		dst := filepath.Join(dir, filepath.FromSlash(name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return fmt.Errorf("unpack %s: %w", hdr.Name, err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return fmt.Errorf("unpack %s: %w", hdr.Name, err)
			}
			if hdr.Size > limit-written {
				return fmt.Errorf("unpack %s: %w of %d bytes", hdr.Name, errTooLarge, limit)
			}
			f, err := os.Create(dst)
			if err != nil {
				return fmt.Errorf("unpack %s: %w", hdr.Name, err)
			}
			// The header's size is checked above; the copy is bounded too, whatever the reader yields.
			n, cerr := io.Copy(f, io.LimitReader(tr, limit-written+1))
			written += n
			if err := errors.Join(cerr, f.Close()); err != nil {
				return fmt.Errorf("unpack %s: %w", hdr.Name, err)
			}
			if written > limit {
				return fmt.Errorf("unpack %s: %w of %d bytes", hdr.Name, errTooLarge, limit)
			}
		}
	}
}
