package workflows

import (
	"errors"

	"github.com/mdlc/mdlc/internal/strictjson"
)

// A workflow's input is decoded by the worker, whoever started the run (the starter, the Temporal CLI or web
// UI, another SDK), so the inputs decode themselves strictly: a key that is not exactly a field name (a
// misspelt "Treshold", or "modelName" — encoding/json would match it case-insensitively) is not ignored but
// recorded, and the run fails at once with InvalidInput naming it (see requestProblems). Decoding itself never
// fails, so that the failure is the workflow's own, typed InvalidInput.

// UnmarshalJSON decodes a TrainingInput strictly; see internal/strictjson.
func (in *TrainingInput) UnmarshalJSON(data []byte) error {
	type fields TrainingInput // without this method
	var f fields
	err := strictjson.Decode(data, &f)
	*in = TrainingInput(f)
	in.decodeErr = err
	return nil
}

// UnmarshalJSON decodes a BatchInferenceInput strictly; see internal/strictjson.
func (in *BatchInferenceInput) UnmarshalJSON(data []byte) error {
	type fields BatchInferenceInput
	var f fields
	err := strictjson.Decode(data, &f)
	*in = BatchInferenceInput(f)
	in.decodeErr = err
	return nil
}

// requestProblems is what is wrong with the request as the workflow received it: how it was written, then
// what Validate finds.
func (in TrainingInput) requestProblems() error {
	return errors.Join(in.decodeErr, in.Validate())
}

// requestProblems is what is wrong with the request as the workflow received it: how it was written, then
// what Validate finds.
func (in BatchInferenceInput) requestProblems() error {
	return errors.Join(in.decodeErr, in.Validate())
}
