//go:build !cgo

package algorithm

import "errors"

// errNoLibXGBoost is why a build without cgo cannot run XGBoost.
var errNoLibXGBoost = errors.New("this build has no libxgboost: build with cgo (CGO_ENABLED=1, a C compiler and Debian's libxgboost-dev)")

func libXGBoostVersion() (string, error) { return "", errNoLibXGBoost }

type booster struct{ features int }

func loadBooster(string, int) (*booster, error) { return nil, errNoLibXGBoost }

func (b *booster) close() {}

func (b *booster) dump() ([]string, error) { return nil, errNoLibXGBoost }
func (b *booster) predictDense([]float32, int, int) ([]float32, int, error) {
	return nil, 0, errNoLibXGBoost
}
func (b *booster) predictSparse(*sparseRows, int) ([]float32, int, error) {
	return nil, 0, errNoLibXGBoost
}
