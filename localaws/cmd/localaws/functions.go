package main

import "github.com/mdlc/mdlc/localaws"

// registerFunctions serves the project's Lambda functions from this process.
//
// LEAD: register the project's Lambda functions here once package github.com/mdlc/mdlc/lambdas lands:
//
//	for name, h := range lambdas.Functions(client) {
//		if err := srv.RegisterFunction(name, h); err != nil {
//			return err
//		}
//	}
//
// where client is whatever lambdas.Functions needs, e.g. an S3 client whose BaseEndpoint is endpoint (this
// process's own address; the listener is already open, so the functions can call it).
func registerFunctions(srv *localaws.Server, endpoint string) error {
	_, _ = srv, endpoint
	return nil
}
