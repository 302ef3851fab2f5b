//go:build cgo

package algorithm

// libxgboost is XGBoost's C API (Debian's libxgboost-dev, the library the xgboost and python3-xgboost
// packages use). Each wrapper below returns NULL or a copy of XGBoost's error message that the caller frees:
// XGBGetLastError's buffer is per OS thread, and a goroutine may move to another thread once a cgo call
// returns, so the message is copied before the call returns.

/*
#cgo LDFLAGS: -lxgboost
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>

_Static_assert(sizeof(size_t) == sizeof(uint64_t) && sizeof(unsigned) == sizeof(uint32_t),
	"sparseRows holds size_t as uint64 and unsigned as uint32");

static char* xgb_error(void) { return strdup(XGBGetLastError()); }

static char* xgb_load(const char* file, const char* nthread, BoosterHandle* out) {
	*out = NULL;
	if (XGBoosterCreate(NULL, 0, out) != 0) return xgb_error();
	if (XGBoosterLoadModel(*out, file) != 0 || XGBoosterSetParam(*out, "nthread", nthread) != 0) {
		char* err = xgb_error();
		XGBoosterFree(*out);
		*out = NULL;
		return err;
	}
	return NULL;
}

static char* xgb_num_features(BoosterHandle b, bst_ulong* out) {
	return XGBoosterGetNumFeature(b, out) == 0 ? NULL : xgb_error();
}

// xgb_predict scores a DMatrix the way Python's Booster.predict does (output values, all trees, not training)
// and copies the result (n values) into a new buffer the caller frees.
static char* xgb_predict(BoosterHandle b, DMatrixHandle m, float** out, bst_ulong* n, bst_ulong* cols) {
	const char* config = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, \"strict_shape\": false}";
	bst_ulong const* shape = NULL;
	bst_ulong dim = 0;
	float const* result = NULL;
	if (XGBoosterPredictFromDMatrix(b, m, config, &shape, &dim, &result) != 0) return xgb_error();
	*n = 1;
	for (bst_ulong i = 0; i < dim; i++) *n *= shape[i];
	*cols = dim > 1 ? shape[dim - 1] : 1;
	*out = malloc((*n ? *n : 1) * sizeof(float));
	if (*out == NULL) return strdup("out of memory for predictions");
	memcpy(*out, result, *n * sizeof(float));
	return NULL;
}

static char* xgb_predict_dense(BoosterHandle b, const float* data, bst_ulong rows, bst_ulong cols,
                               float** out, bst_ulong* n, bst_ulong* outCols) {
	DMatrixHandle m = NULL;
	// missing = NaN, as Python's DMatrix: every number given is a value.
	if (XGDMatrixCreateFromMat(data, rows, cols, __builtin_nanf(""), &m) != 0) return xgb_error();
	char* err = xgb_predict(b, m, out, n, outCols);
	XGDMatrixFree(m);
	return err;
}

static char* xgb_predict_csr(BoosterHandle b, const size_t* indptr, const unsigned* indices, const float* data,
                             size_t rows, size_t nelem, size_t cols, float** out, bst_ulong* n, bst_ulong* outCols) {
	DMatrixHandle m = NULL;
	if (XGDMatrixCreateFromCSREx(indptr, indices, data, rows + 1, nelem, cols, &m) != 0) return xgb_error();
	char* err = xgb_predict(b, m, out, n, outCols);
	XGDMatrixFree(m);
	return err;
}

static char* xgb_dump(BoosterHandle b, bst_ulong* n, const char*** trees) {
	return XGBoosterDumpModelEx(b, "", 0, "json", n, trees) == 0 ? NULL : xgb_error();
}
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"unsafe"
)

// libXGBoostVersion is the version of the linked libxgboost, e.g. "1.7.4".
func libXGBoostVersion() (string, error) {
	var major, minor, patch C.int
	C.XGBoostVersion(&major, &minor, &patch)
	return fmt.Sprintf("%d.%d.%d", major, minor, patch), nil
}

func cError(p *C.char) error {
	if p == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(p))
	return errors.New(libMessage(C.GoString(p)))
}

// booster is a model loaded into libxgboost for prediction. Its methods may be called from one goroutine at a
// time; close releases it.
type booster struct {
	h        C.BoosterHandle
	features int
}

// loadBooster loads an XGBoost model file (any format XGBoost reads) to predict with nthread threads.
func loadBooster(file string, nthread int) (*booster, error) {
	cfile, cthreads := C.CString(file), C.CString(strconv.Itoa(nthread))
	defer C.free(unsafe.Pointer(cfile))
	defer C.free(unsafe.Pointer(cthreads))
	b := &booster{}
	if err := cError(C.xgb_load(cfile, cthreads, &b.h)); err != nil {
		return nil, err
	}
	var n C.bst_ulong
	if err := cError(C.xgb_num_features(b.h, &n)); err != nil {
		b.close()
		return nil, err
	}
	b.features = int(n)
	return b, nil
}

func (b *booster) close() {
	if b.h != nil {
		C.XGBoosterFree(b.h)
		b.h = nil
	}
}

// takePredictions copies n predictions from C memory and frees it, returning them with the number of values
// per record.
func takePredictions(p *C.float, n, cols C.bst_ulong) ([]float32, int) {
	defer C.free(unsafe.Pointer(p))
	out := make([]float32, int(n))
	if n > 0 {
		copy(out, unsafe.Slice((*float32)(unsafe.Pointer(p)), int(n)))
	}
	return out, int(cols)
}

// predictDense scores rows×cols values (row-major).
func (b *booster) predictDense(data []float32, rows, cols int) ([]float32, int, error) {
	if rows == 0 {
		return nil, 1, nil
	}
	var out *C.float
	var n, k C.bst_ulong
	err := cError(C.xgb_predict_dense(b.h, (*C.float)(unsafe.Pointer(&data[0])), C.bst_ulong(rows), C.bst_ulong(cols), &out, &n, &k))
	runtime.KeepAlive(data)
	if err != nil {
		return nil, 0, err
	}
	p, k2 := takePredictions(out, n, k)
	return p, k2, nil
}

// predictSparse scores the rows of s, which have cols columns.
func (b *booster) predictSparse(s *sparseRows, cols int) ([]float32, int, error) {
	if s.rows() == 0 {
		return nil, 1, nil
	}
	// The C API wants valid pointers even for a batch without values.
	indices, values := s.indices, s.values
	if len(values) == 0 {
		indices, values = []uint32{0}, []float32{0}
	}
	var out *C.float
	var n, k C.bst_ulong
	err := cError(C.xgb_predict_csr(b.h, (*C.size_t)(unsafe.Pointer(&s.indptr[0])), (*C.uint)(unsafe.Pointer(&indices[0])),
		(*C.float)(unsafe.Pointer(&values[0])),
		C.size_t(s.rows()), C.size_t(len(s.values)), C.size_t(cols), &out, &n, &k))
	runtime.KeepAlive(s)
	runtime.KeepAlive(values)
	if err != nil {
		return nil, 0, err
	}
	p, k2 := takePredictions(out, n, k)
	return p, k2, nil
}

// dump returns the model's trees as XGBoost dumps them in JSON, one string per tree.
func (b *booster) dump() ([]string, error) {
	// The dump lives in a buffer of the calling thread until the next call: stay on it while copying.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var n C.bst_ulong
	var trees **C.char
	if err := cError(C.xgb_dump(b.h, &n, &trees)); err != nil {
		return nil, err
	}
	out := make([]string, int(n))
	for i, t := range unsafe.Slice(trees, int(n)) {
		out[i] = C.GoString(t)
	}
	return out, nil
}
