// Command zipbootstrap packs a Lambda executable into a deployment zip as "bootstrap", mode 0755, with a fixed
// modification time so the same binary always gives the same archive (and the same CodeSha256). It spares
// scripts/build-lambdas.sh a dependency on the zip program.
//
// Usage: go run ./lambdas/internal/zipbootstrap <executable> <archive.zip>
package main

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "zipbootstrap:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: zipbootstrap <executable> <archive.zip>")
	}
	return pack(args[0], args[1])
}

// pack writes dst, a zip holding src as bootstrap; dst is replaced only once complete.
func pack(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open executable: %w", err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(dirOf(dst), ".zipbootstrap-*")
	if err != nil {
		return fmt.Errorf("create archive %s: %w", dst, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	zw := zip.NewWriter(tmp)
	hdr := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
	hdr.SetMode(0o755)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return fmt.Errorf("add bootstrap to %s: %w", dst, err)
	}
	if _, err := io.Copy(w, in); err != nil {
		return fmt.Errorf("write bootstrap to %s: %w", dst, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("finish archive %s: %w", dst, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close archive %s: %w", dst, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("move archive into place %s: %w", dst, err)
	}
	return nil
}

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			return path[:i+1]
		}
	}
	return "."
}
