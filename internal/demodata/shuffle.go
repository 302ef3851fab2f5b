package demodata

import (
	"bytes"
	"math/rand/v2"
)

// ShuffleLabels returns a train or validation file (CSV, the label first on each line) with its labels
// shuffled among its rows and the features left in place, with seed choosing the permutation. A model trained
// on such data learns nothing, so it is worse than one trained on the original: the worse challenger that
// champion/challenger promotion must reject, in tests.
func ShuffleLabels(csv []byte, seed uint64) []byte {
	lines := bytes.Split(bytes.TrimSuffix(csv, []byte("\n")), []byte("\n"))
	labels := make([][]byte, len(lines))
	rest := make([][]byte, len(lines))
	for i, l := range lines {
		label, features, _ := bytes.Cut(l, []byte(","))
		labels[i], rest[i] = label, features
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	rng.Shuffle(len(labels), func(i, j int) { labels[i], labels[j] = labels[j], labels[i] })
	var out bytes.Buffer
	for i := range lines {
		out.Write(labels[i])
		out.WriteByte(',')
		out.Write(rest[i])
		out.WriteByte('\n')
	}
	return out.Bytes()
}
