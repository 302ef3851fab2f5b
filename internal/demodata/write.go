package demodata

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Written reports one file of the dataset that has been stored.
type Written struct {
	File
	// Location is where the file went: s3://bucket/key or a local path.
	Location string
	// Bytes is the size of the file.
	Bytes int64
}

// Progress is called after each file is stored. It may be nil.
type Progress func(Written)

// ProgressTo returns a Progress that writes one line per file to w (e.g. a command's stdout).
func ProgressTo(w io.Writer) Progress {
	return func(f Written) {
		// A progress line that cannot be written is no reason to stop writing the dataset.
		_, _ = fmt.Fprintf(w, "wrote %s (%d rows, %d bytes)\n", f.Location, f.Rows, f.Bytes)
	}
}

// WriteDir writes the dataset's files under dir in the bucket layout (dir/input-data/<date>/...),
// replacing files that exist. It is the offline twin of Upload (tests, inspection, `aws s3 sync`).
func (d *Dataset) WriteDir(dir string, progress Progress) error {
	if dir == "" {
		return errors.New("write demo dataset: no directory")
	}
	for _, f := range d.Files() {
		path := filepath.Join(dir, filepath.FromSlash(f.Key))
		n, err := d.writeFile(path, f)
		if err != nil {
			return fmt.Errorf("write demo file %q: %w", path, err)
		}
		if progress != nil {
			progress(Written{File: f, Location: path, Bytes: n})
		}
	}
	return nil
}

// writeFile writes f to path through a temporary file, so that an interrupted run leaves no truncated file.
func (d *Dataset) writeFile(path string, f File) (int64, error) {
	r, err := d.Open(f)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	bw := bufio.NewWriterSize(tmp, 1<<16)
	n, err := io.Copy(bw, r)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	return n, err
}
