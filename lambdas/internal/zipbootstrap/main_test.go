package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestPack(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "exe")
	content := bytes.Repeat([]byte("\x7fELF binary"), 1000)
	if err := os.WriteFile(src, content, 0o600); err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(dir, "a.zip"), filepath.Join(dir, "b.zip")
	for _, dst := range []string{a, b} {
		if err := run([]string{src, dst}); err != nil {
			t.Fatalf("pack %s: %v", dst, err)
		}
	}
	za, _ := os.ReadFile(a)
	zb, _ := os.ReadFile(b)
	if !bytes.Equal(za, zb) {
		t.Error("two packs of the same executable differ")
	}
	r, err := zip.OpenReader(a)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if len(r.File) != 1 || r.File[0].Name != "bootstrap" || r.File[0].Mode().Perm() != 0o755 {
		t.Fatalf("archive holds %d files, first %q mode %v; want bootstrap 0755", len(r.File), r.File[0].Name, r.File[0].Mode())
	}
	f, err := r.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, _ := io.ReadAll(f)
	if !bytes.Equal(got, content) {
		t.Error("bootstrap content differs from the executable")
	}
}

func TestPackErrors(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "exe")
	if err := os.WriteFile(exe, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
	}{
		{"no arguments", nil},
		{"missing executable", []string{filepath.Join(dir, "nope"), filepath.Join(dir, "out.zip")}},
		{"missing output directory", []string{exe, filepath.Join(dir, "no", "dir", "out.zip")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := run(tt.args); err == nil {
				t.Fatal("no error")
			}
			leftovers, _ := filepath.Glob(filepath.Join(dir, ".zipbootstrap-*"))
			if len(leftovers) != 0 {
				t.Errorf("left %v behind", leftovers)
			}
		})
	}
}
