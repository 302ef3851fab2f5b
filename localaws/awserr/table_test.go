package awserr

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// localawsDir is the tree whose packages answer AWS errors (this package's parent).
const localawsDir = ".."

// TestEveryCodeHasItsRow checks the table by construction: every code constant has a row with a name, a
// status and a fault.
func TestEveryCodeHasItsRow(t *testing.T) {
	for c := noCode + 1; c < numCodes; c++ {
		if !c.known() || c.Status() < 400 || (c.Fault() != Client && c.Fault() != Server) {
			t.Errorf("code %d (%q) has no complete row in the table: %+v", c, c.Name(), c.entry())
		}
	}
	if noCode.known() || numCodes.known() {
		t.Error("noCode and numCodes must not have rows")
	}
}

// TestEveryCodeIsUsed keeps the table to the codes localaws answers with: each code constant is named
// somewhere in localaws's non-test code besides its own declaration and row.
func TestEveryCodeIsUsed(t *testing.T) {
	names := codeNames(t)
	if len(names) != int(numCodes)-1 {
		t.Fatalf("found %d code constants in awserr.go, numCodes says %d", len(names), numCodes-1)
	}
	uses := map[string]int{}
	eachFile(t, func(path string, f *ast.File) {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GenDecl:
				if declaresTable(n) {
					return false // the declaration and the rows are not uses
				}
			case *ast.Ident:
				if _, ok := names[n.Name]; ok {
					uses[n.Name]++
				}
			}
			return true
		})
	})
	for name := range names {
		if uses[name] == 0 {
			t.Errorf("error code %s is in the table but nothing in localaws answers with it: remove it", name)
		}
	}
}

// TestOneWriter checks that no package of localaws but this one renders an AWS error envelope or makes a
// code of its own: they name the table's codes and call Write.
func TestOneWriter(t *testing.T) {
	envelope := []string{"__type", "x-amzn-errortype", "<error>"}
	eachFile(t, func(path string, f *ast.File) {
		if filepath.Base(filepath.Dir(path)) == "awserr" {
			return
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if n.Kind != token.STRING {
					return true
				}
				v, err := strconv.Unquote(n.Value)
				if err != nil {
					return true
				}
				for _, e := range envelope {
					if strings.EqualFold(strings.TrimSpace(v), e) {
						t.Errorf("%s writes the AWS error envelope (%q) itself: return an *awserr.Error and call awserr.Write", path, v)
					}
				}
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Code" {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "awserr" {
						t.Errorf("%s converts a value to awserr.Code: name a code of the table", path)
					}
				}
			}
			return true
		})
	})
}

// codeNames returns the names of the code constants declared in awserr.go.
func codeNames(t *testing.T) map[string]struct{} {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "awserr.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]struct{}{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			for _, n := range spec.(*ast.ValueSpec).Names {
				if n.IsExported() {
					names[n.Name] = struct{}{}
				}
			}
		}
	}
	delete(names, "JSON11")
	delete(names, "RESTJSON")
	delete(names, "RESTXML")
	delete(names, "Client")
	delete(names, "Server")
	return names
}

// declaresTable reports whether d is the const block of the codes or the var block of the table.
func declaresTable(d *ast.GenDecl) bool {
	for _, spec := range d.Specs {
		if v, ok := spec.(*ast.ValueSpec); ok {
			for _, n := range v.Names {
				if n.Name == "noCode" || n.Name == "table" {
					return true
				}
			}
		}
	}
	return false
}

// eachFile parses every non-test Go file under localaws.
func eachFile(t *testing.T, f func(path string, file *ast.File)) {
	t.Helper()
	fset := token.NewFileSet()
	n := 0
	err := filepath.WalkDir(localawsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		n++
		f(path, file)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("found only %d Go files under %s", n, localawsDir)
	}
}
