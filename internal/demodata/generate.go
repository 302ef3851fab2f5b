package demodata

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// The logistic model that draws the labels: z = intercept + w·x, P(label=1) = 1/(1+exp(-z)).
const (
	// weightNorm is |w|: it sets how separable the classes are, hence the best reachable ROC AUC.
	weightNorm = 3.5
	// intercept makes the positive class the minority (about 40 % at the base date).
	intercept = -0.5
	// decimals is the precision of the features in the CSV files.
	decimals = 4
	// rowsPerChunk is how many rows a reader formats at a time.
	rowsPerChunk = 64
)

// Split is one kind of file of a data date.
type Split string

// The splits of a data date. HoldoutData and HoldoutTarget are the same rows: features and labels.
const (
	Train         Split = "train"
	Validation    Split = "validation"
	HoldoutData   Split = "holdout_data"
	HoldoutTarget Split = "holdout_target"
)

// Splits lists every split in the order files are written.
var Splits = []Split{Train, Validation, HoldoutData, HoldoutTarget}

// File is one object of the dataset.
type File struct {
	// Date is the data date (YYYY-MM-DD).
	Date string
	// Split says which file of the date this is.
	Split Split
	// Key is the object key (and the path under a directory): input-data/<date>/<split>/<split>.csv.
	Key string
	// Rows is the number of lines of the file.
	Rows int
}

// Key returns the object key of a split of a date, the layout the pipelines read.
func Key(date string, s Split) string {
	return "input-data/" + date + "/" + string(s) + "/" + string(s) + ".csv"
}

// Dataset is a validated Config that can produce its files.
type Dataset struct {
	cfg  Config
	base time.Time
	// partSize is the size of a multipart upload part (and the largest file put in one request).
	partSize int
}

// New validates cfg and returns its dataset.
func New(cfg Config) (*Dataset, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Dates = append([]string(nil), cfg.Dates...)
	base, _ := time.Parse(DateLayout, cfg.BaseDate) // checked by Validate
	return &Dataset{cfg: cfg, base: base, partSize: defaultPartSize}, nil
}

// Config returns the dataset's configuration.
func (d *Dataset) Config() Config {
	c := d.cfg
	c.Dates = append([]string(nil), c.Dates...)
	return c
}

// Files lists the dataset's files, date by date in the order of Config.Dates, splits in the order of Splits.
func (d *Dataset) Files() []File {
	files := make([]File, 0, len(d.cfg.Dates)*len(Splits))
	for _, date := range d.cfg.Dates {
		for _, s := range Splits {
			files = append(files, File{Date: date, Split: s, Key: Key(date, s), Rows: d.rows(s)})
		}
	}
	return files
}

func (d *Dataset) rows(s Split) int {
	switch s {
	case Train:
		return d.cfg.TrainRows
	case Validation:
		return d.cfg.ValidationRows
	default:
		return d.cfg.HoldoutRows
	}
}

// Open returns the content of f, generated as it is read: memory use does not grow with the number of rows.
// f must be one of Files (a date of the Config and a known split).
func (d *Dataset) Open(f File) (io.Reader, error) {
	known := false
	for _, date := range d.cfg.Dates {
		known = known || date == f.Date
	}
	if !known {
		return nil, fmt.Errorf("open demo file %q: date %q is not in the dataset", f.Key, f.Date)
	}
	var mode rowMode
	switch f.Split {
	case Train, Validation:
		mode = labelledRow
	case HoldoutData:
		mode = featuresRow
	case HoldoutTarget:
		mode = labelRow
	default:
		return nil, fmt.Errorf("open demo file %q: unknown split %q", f.Key, f.Split)
	}
	date, _ := time.Parse(DateLayout, f.Date) // checked by Validate
	return &splitReader{gen: d.generator(date, stream(f.Split)), mode: mode, left: d.rows(f.Split)}, nil
}

// stream names the random stream of a split: both holdout files replay the same one, so their rows match.
func stream(s Split) string {
	if s == HoldoutData || s == HoldoutTarget {
		return "holdout"
	}
	return string(s)
}

// generator returns the row source of one split of one date. Its random stream is derived from the seed,
// the date and the split alone, so dates and splits are independent draws and each file can be
// regenerated on its own.
func (d *Dataset) generator(date time.Time, stream string) *rowGen {
	sum := sha256.Sum256(fmt.Appendf(nil, "mdlc-demodata\x00%d\x00%s\x00%s", d.cfg.Seed, date.Format(DateLayout), stream))
	src := rand.NewPCG(binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:16]))
	months := date.Sub(d.base).Hours() / 24 / 30
	w := weights(d.cfg.Features, months*d.cfg.RotationPerMonth*math.Pi/180)
	mean := make([]float64, d.cfg.Features)
	mean[0] = months * d.cfg.ShiftPerMonth
	return &rowGen{src: src, w: w, mean: mean, x: make([]float64, d.cfg.Features)}
}

// weights returns the coefficients of the labelling model at rotation angle theta (radians): the base
// direction, spread over the first half of the features, turns towards a direction spread over the second
// half. The norm stays weightNorm, so a model trained on any one date can do equally well on it.
func weights(n int, theta float64) []float64 {
	h := n / 2
	from, to := make([]float64, n), make([]float64, n)
	for j := range h {
		from[j] = alternate(j) * (1 - 0.5*float64(j)/float64(h))
	}
	for j := h; j < n; j++ {
		to[j] = alternate(j+1) * (1 - 0.5*float64(j-h)/float64(n-h))
	}
	scale(from, weightNorm)
	scale(to, weightNorm)
	c, s := math.Cos(theta), math.Sin(theta)
	w := make([]float64, n)
	for j := range w {
		w[j] = c*from[j] + s*to[j]
	}
	return w
}

func alternate(j int) float64 {
	if j%2 == 0 {
		return 1
	}
	return -1
}

// scale sets the Euclidean norm of v to norm.
func scale(v []float64, norm float64) {
	var ss float64
	for _, x := range v {
		ss += x * x
	}
	f := norm / math.Sqrt(ss)
	for j := range v {
		v[j] *= f
	}
}

// rowGen draws rows: features x ~ N(mean, I), label ~ Bernoulli(sigmoid(intercept + w·x)).
// It uses only the PCG source and its own transforms (not math/rand's distributions, whose algorithms
// may change between Go releases), so a seed keeps producing the same bytes.
type rowGen struct {
	src     *rand.PCG
	w, mean []float64
	x       []float64
	spare   float64
	hasNext bool
}

// uniform returns a float64 in the open interval (0, 1).
func (g *rowGen) uniform() float64 {
	return (float64(g.src.Uint64()>>11) + 0.5) / (1 << 53)
}

// normal returns a standard normal draw (Box-Muller, both values of a pair used).
func (g *rowGen) normal() float64 {
	if g.hasNext {
		g.hasNext = false
		return g.spare
	}
	r := math.Sqrt(-2 * math.Log(g.uniform()))
	a := 2 * math.Pi * g.uniform()
	g.spare, g.hasNext = r*math.Sin(a), true
	return r * math.Cos(a)
}

// next draws one row into g.x and returns its label.
func (g *rowGen) next() int {
	z := intercept
	for j := range g.x {
		g.x[j] = g.mean[j] + g.normal()
		z += g.w[j] * g.x[j]
	}
	if g.uniform() < 1/(1+math.Exp(-z)) {
		return 1
	}
	return 0
}

// rowMode is what a line of a file holds.
type rowMode int

const (
	labelledRow rowMode = iota // label, then the features (the training format of SageMaker's XGBoost)
	featuresRow                // the features only (batch-transform input)
	labelRow                   // the label only (the monitor's target)
)

// appendRow draws a row and appends it to buf as a CSV line.
func (g *rowGen) appendRow(buf []byte, mode rowMode) []byte {
	label := g.next()
	if mode != featuresRow {
		buf = append(buf, byte('0'+label))
		if mode == labelRow {
			return append(buf, '\n')
		}
		buf = append(buf, ',')
	}
	for j, x := range g.x {
		if j > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendFloat(buf, x, 'f', decimals, 64)
	}
	return append(buf, '\n')
}

// splitReader is the content of one file, formatted a few rows at a time.
type splitReader struct {
	gen  *rowGen
	mode rowMode
	left int
	buf  []byte
	pos  int
}

// Read implements io.Reader.
func (r *splitReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if r.pos == len(r.buf) {
			if r.left == 0 {
				if n == 0 {
					return 0, io.EOF
				}
				return n, nil
			}
			r.buf, r.pos = r.buf[:0], 0
			for i := 0; i < rowsPerChunk && r.left > 0; i++ {
				r.buf = r.gen.appendRow(r.buf, r.mode)
				r.left--
			}
		}
		c := copy(p[n:], r.buf[r.pos:])
		n += c
		r.pos += c
	}
	return n, nil
}
