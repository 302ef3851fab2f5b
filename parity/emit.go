package parity

import (
	"fmt"
	"io"
)

// Emit writes p's state machine, as Step Functions takes it, to w. It makes no AWS call.
func Emit(w io.Writer, p Pipeline, cfg Config) error {
	m, err := Build(p, cfg)
	if err != nil {
		return err
	}
	b, err := m.JSON()
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write %s state machine: %w", p, err)
	}
	return nil
}
