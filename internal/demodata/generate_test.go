package demodata

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// small is a configuration quick enough for every test that does not need a model to learn from it.
func small() Config {
	c := DefaultConfig()
	c.TrainRows, c.ValidationRows, c.HoldoutRows = 300, 100, 120
	c.Features = 5
	return c
}

// fileHashes returns the SHA-256 of every file of the dataset of cfg, by key.
func fileHashes(t *testing.T, cfg Config) map[string]string {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hashes := map[string]string{}
	for _, f := range d.Files() {
		r, err := d.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, r); err != nil {
			t.Fatal(err)
		}
		hashes[f.Key] = hex.EncodeToString(h.Sum(nil))
	}
	return hashes
}

func TestDeterminism(t *testing.T) {
	base := small()
	want := fileHashes(t, base)
	if len(want) != len(base.Dates)*len(Splits) {
		t.Fatalf("got %d files, want %d", len(want), len(base.Dates)*len(Splits))
	}
	if got := fileHashes(t, base); !equalMaps(got, want) {
		t.Errorf("same config, different files:\n got %v\nwant %v", got, want)
	}

	otherSeed := base
	otherSeed.Seed++
	got := fileHashes(t, otherSeed)
	for key, h := range got {
		if want[key] == h {
			t.Errorf("seed %d and %d give the same %s", base.Seed, otherSeed.Seed, key)
		}
	}

	// A date's files do not depend on which other dates are generated with it.
	alone := base
	alone.Dates = []string{base.Dates[1]}
	for key, h := range fileHashes(t, alone) {
		if want[key] != h {
			t.Errorf("%s changed when generated without the other dates", key)
		}
	}
}

// TestDatesAreIndependentDraws checks that two dates do not share their random stream: with drift turned
// off their files must still differ.
func TestDatesAreIndependentDraws(t *testing.T) {
	cfg := small()
	cfg.RotationPerMonth, cfg.ShiftPerMonth = 0, 0
	h := fileHashes(t, cfg)
	for _, s := range Splits {
		a, b := Key(cfg.Dates[0], s), Key(cfg.Dates[1], s)
		if h[a] == h[b] {
			t.Errorf("%s and %s are identical", a, b)
		}
	}
}

// TestGolden pins the generator's output, so that a change to it (which would invalidate the AUCs
// measured in the package comment) is deliberate.
func TestGolden(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Dates = []string{"2019-11-01"}
	cfg.TrainRows, cfg.ValidationRows, cfg.HoldoutRows = 3, 1, 2
	cfg.Features = 3
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[Split]string{
		Train:         "1,0.5357,1.3353,-0.8726\n0,-0.2857,-0.5868,1.9673\n1,0.1558,0.5605,-0.6378\n",
		Validation:    "1,0.5516,0.1574,-1.5551\n",
		HoldoutData:   "-0.9092,-0.7941,-1.5100\n1.2598,-1.4619,-0.2183\n",
		HoldoutTarget: "0\n1\n",
	}
	for _, f := range d.Files() {
		if got := readAll(t, d, f); got != want[f.Split] {
			t.Errorf("%s:\n got %q\nwant %q", f.Key, got, want[f.Split])
		}
	}
}

func TestLayoutAndFormat(t *testing.T) {
	cfg := small()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, f := range d.Files() {
		keys = append(keys, f.Key)
	}
	wantKeys := []string{
		"input-data/2019-10-01/train/train.csv",
		"input-data/2019-10-01/validation/validation.csv",
		"input-data/2019-10-01/holdout_data/holdout_data.csv",
		"input-data/2019-10-01/holdout_target/holdout_target.csv",
		"input-data/2019-11-01/train/train.csv",
		"input-data/2019-11-01/validation/validation.csv",
		"input-data/2019-11-01/holdout_data/holdout_data.csv",
		"input-data/2019-11-01/holdout_target/holdout_target.csv",
	}
	if strings.Join(keys, "\n") != strings.Join(wantKeys, "\n") {
		t.Fatalf("keys:\n got %q\nwant %q", keys, wantKeys)
	}

	tests := []struct {
		split   Split
		rows    int
		columns int
		label   bool // the first column is a 0/1 label
	}{
		{Train, cfg.TrainRows, 1 + cfg.Features, true},
		{Validation, cfg.ValidationRows, 1 + cfg.Features, true},
		{HoldoutData, cfg.HoldoutRows, cfg.Features, false},
		{HoldoutTarget, cfg.HoldoutRows, 1, true},
	}
	for _, date := range cfg.Dates {
		for _, tt := range tests {
			t.Run(date+"/"+string(tt.split), func(t *testing.T) {
				f := File{Date: date, Split: tt.split, Key: Key(date, tt.split), Rows: tt.rows}
				lines := strings.Split(strings.TrimSuffix(readAll(t, d, f), "\n"), "\n")
				if len(lines) != tt.rows {
					t.Fatalf("%d lines, want %d", len(lines), tt.rows)
				}
				positives := 0
				for i, line := range lines {
					cols := strings.Split(line, ",")
					if len(cols) != tt.columns {
						t.Fatalf("line %d: %d columns, want %d: %q", i+1, len(cols), tt.columns, line)
					}
					for j, c := range cols {
						if j == 0 && tt.label {
							if c != "0" && c != "1" {
								t.Fatalf("line %d: label %q, want 0 or 1", i+1, c)
							}
							positives += int(c[0] - '0')
							continue
						}
						if _, err := strconv.ParseFloat(c, 64); err != nil {
							t.Fatalf("line %d column %d: %v", i+1, j+1, err)
						}
					}
				}
				if tt.label && (positives == 0 || positives == tt.rows) {
					t.Errorf("%d positives in %d rows: want both classes", positives, tt.rows)
				}
			})
		}
	}
}

// TestHoldoutTargetMatchesData checks that holdout_target holds the labels of holdout_data's rows, in
// order: both must be the holdout draw's rows, split into features and label.
func TestHoldoutTargetMatchesData(t *testing.T) {
	cfg := small()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, date := range cfg.Dates {
		data := readAll(t, d, File{Date: date, Split: HoldoutData})
		target := readAll(t, d, File{Date: date, Split: HoldoutTarget})
		day, _ := time.Parse(DateLayout, date)
		whole := &splitReader{gen: d.generator(day, "holdout"), mode: labelledRow, left: cfg.HoldoutRows}
		var wantData, wantTarget bytes.Buffer
		sc := bufio.NewScanner(whole)
		for sc.Scan() {
			label, features, _ := strings.Cut(sc.Text(), ",")
			wantTarget.WriteString(label + "\n")
			wantData.WriteString(features + "\n")
		}
		if data != wantData.String() {
			t.Errorf("%s: holdout_data is not the features of the holdout rows", date)
		}
		if target != wantTarget.String() {
			t.Errorf("%s: holdout_target is not the labels of the holdout rows", date)
		}
	}
}

// TestStreamsLargeFiles reads a million-row file and checks that the reader's buffer stays a few rows
// long: the file is never held in memory.
func TestStreamsLargeFiles(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Dates = cfg.Dates[:1]
	cfg.TrainRows = 1_000_000
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.Open(d.Files()[0])
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		lines += bytes.Count(buf[:n], []byte{'\n'})
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if lines != cfg.TrainRows {
		t.Errorf("%d lines, want %d", lines, cfg.TrainRows)
	}
	if c := cap(r.(*splitReader).buf); c > 64<<10 {
		t.Errorf("reader buffer grew to %d bytes", c)
	}
}

func TestOpenRejectsUnknownFiles(t *testing.T) {
	d, err := New(small())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []File{
		{Date: "2020-01-01", Split: Train},
		{Date: "2019-10-01", Split: "test"},
		{},
	} {
		if r, err := d.Open(f); err == nil || r != nil {
			t.Errorf("Open(%+v) = %v, %v; want an error", f, r, err)
		}
	}
}

func readAll(t *testing.T, d *Dataset, f File) string {
	t.Helper()
	r, err := d.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
