package demodata

import (
	"bytes"
	"slices"
	"testing"
)

// TestShuffleLabels: the labels are permuted among the rows, the features stay where they were, and the
// seed decides the permutation.
func TestShuffleLabels(t *testing.T) {
	var in bytes.Buffer
	for i := range 100 {
		in.WriteString([]string{"0", "1"}[i%2] + ",f" + string(rune('a'+i%26)) + ",x\n")
	}
	out := ShuffleLabels(in.Bytes(), 1)
	inLines, outLines := bytes.Split(in.Bytes(), []byte("\n")), bytes.Split(out, []byte("\n"))
	if len(inLines) != len(outLines) {
		t.Fatalf("%d lines in, %d out", len(inLines), len(outLines))
	}
	var inLabels, outLabels []string
	moved := 0
	for i := range inLines[:len(inLines)-1] {
		il, if_, _ := bytes.Cut(inLines[i], []byte(","))
		ol, of, _ := bytes.Cut(outLines[i], []byte(","))
		if !bytes.Equal(if_, of) {
			t.Fatalf("line %d: features %q became %q", i, if_, of)
		}
		if !bytes.Equal(il, ol) {
			moved++
		}
		inLabels, outLabels = append(inLabels, string(il)), append(outLabels, string(ol))
	}
	slices.Sort(inLabels)
	slices.Sort(outLabels)
	if !slices.Equal(inLabels, outLabels) {
		t.Fatal("the labels are not a permutation of the original")
	}
	if moved < 25 {
		t.Fatalf("only %d of 100 labels changed: not shuffled", moved)
	}
	if !bytes.Equal(out, ShuffleLabels(in.Bytes(), 1)) || bytes.Equal(out, ShuffleLabels(in.Bytes(), 2)) {
		t.Fatal("the seed does not decide the permutation")
	}
}
