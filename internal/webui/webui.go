// Package webui knows where the Temporal web UI is and how it addresses a run, so that the starter's output
// and the worker's notifications link to the same page.
package webui

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// DefaultAddress is the web UI of the Temporal CLI's dev server, the local default.
const DefaultAddress = "http://127.0.0.1:8233"

// RunURL is the web UI page of a run's history: <base>/namespaces/<ns>/workflows/<id>/<run ID>/history.
func RunURL(base, namespace, workflowID, runID string) string {
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", strings.TrimRight(base, "/"),
		url.PathEscape(namespace), url.PathEscape(workflowID), url.PathEscape(runID))
}

// CheckHTTPURL reports whether s is an absolute http or https URL with a host, as a base address of the web UI
// or a notification receiver must be.
func CheckHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("does not parse as a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("no host")
	}
	return nil
}
