package demodata

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteDir(t *testing.T) {
	cfg := small()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var written []Written
	for range 2 { // the second run replaces the files
		written = nil
		if err := d.WriteDir(dir, func(w Written) { written = append(written, w) }); err != nil {
			t.Fatal(err)
		}
	}
	var paths []string
	if err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			paths = append(paths, path)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	files := d.Files()
	if len(paths) != len(files) || len(written) != len(files) {
		t.Fatalf("%d files on disk, %d reported, want %d: %q", len(paths), len(written), len(files), paths)
	}
	for i, f := range files {
		path := filepath.Join(dir, filepath.FromSlash(f.Key))
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != readAll(t, d, f) {
			t.Errorf("%s differs from the generated file", path)
		}
		if w := written[i]; w.Location != path || w.Bytes != int64(len(got)) || w.Key != f.Key {
			t.Errorf("progress %+v, want %s with %d bytes", w, path, len(got))
		}
	}
}

func TestWriteDirErrors(t *testing.T) {
	d, err := New(small())
	if err != nil {
		t.Fatal(err)
	}
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, dir := range map[string]string{"no directory": "", "a file in the way": blocker} {
		t.Run(name, func(t *testing.T) {
			if err := d.WriteDir(dir, nil); err == nil {
				t.Errorf("WriteDir(%q) succeeded", dir)
			}
		})
	}
}
