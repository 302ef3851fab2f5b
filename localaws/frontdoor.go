package localaws

import (
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// frontDoor is what the listener checks before a request reaches a service or a control endpoint: the
// Host it names (against DNS rebinding), the browser origin it comes from (CORS and cross-site request
// forgery).
type frontDoor struct {
	// hosts are the host names, besides loopback ones, that requests may name (lower case, no port).
	hosts map[string]bool
	// origins are the browser origins granted CORS access to the AWS surface.
	origins map[string]bool
	csrf    *http.CrossOriginProtection
}

// corsExposed are the response headers a granted browser origin may read: the ones the AWS SDKs look at.
const corsExposed = "ETag, Content-Range, x-amz-request-id, x-amz-version-id, x-amz-delete-marker, " +
	"X-Amzn-Requestid, X-Amzn-Errortype, X-Amz-Function-Error, X-Amz-Log-Result, X-Amz-Executed-Version"

// corsMethods are the methods a granted origin may use.
const corsMethods = "GET, HEAD, PUT, POST, DELETE"

func newFrontDoor(hosts, origins []string) (*frontDoor, error) {
	f := &frontDoor{hosts: map[string]bool{}, origins: map[string]bool{}, csrf: http.NewCrossOriginProtection()}
	for _, h := range hosts {
		name, err := hostName(h)
		if err != nil {
			return nil, err
		}
		f.hosts[name] = true
	}
	for _, o := range origins {
		origin, err := normalizeOrigin(o)
		if err != nil {
			return nil, err
		}
		if err := f.csrf.AddTrustedOrigin(origin); err != nil {
			return nil, fmt.Errorf("CORS origin %q: %w", quote(o), err)
		}
		f.origins[origin] = true
	}
	return f, nil
}

// hostName is the lower-case host of a "host" or "host:port" allowed on the command line.
func hostName(h string) (string, error) {
	if h == "" || strings.ContainsAny(h, "/@ ") {
		return "", fmt.Errorf("allowed host %q: want a host name or address such as localaws or localaws:4570", quote(h))
	}
	return canonicalHost(h), nil
}

// canonicalHost is the lower-case host name of a Host header ("Name.:4570" → "name").
func canonicalHost(host string) string {
	name := host
	if n, _, err := net.SplitHostPort(host); err == nil {
		name = n
	}
	return strings.TrimSuffix(strings.ToLower(strings.Trim(name, "[]")), ".")
}

// normalizeOrigin checks a browser origin given on the command line ("http://127.0.0.1:5173") and returns
// it the way browsers send it.
func normalizeOrigin(o string) (string, error) {
	u, err := url.Parse(o)
	if o == "*" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("CORS origin %q: want scheme://host[:port] such as http://127.0.0.1:5173 (one origin per flag; there is no wildcard)", quote(o))
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), nil
}

// hostAllowed reports whether a request's Host header names localaws: a loopback name or address, or one of
// the allowed hosts. A page on another site that has rebound its own name to 127.0.0.1 sends that name.
func (f *frontDoor) hostAllowed(host string) bool {
	if host == "" {
		return false
	}
	name := canonicalHost(host)
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return true // RFC 6761: browsers resolve these to loopback themselves
	}
	if ip := net.ParseIP(name); ip != nil && ip.IsLoopback() {
		return true
	}
	return f.hosts[name]
}

// originGranted reports whether r comes from a browser origin granted CORS access.
func (f *frontDoor) originGranted(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o != "" && f.origins[strings.ToLower(o)]
}

// sameOrigin reports whether r carries no Origin, or its own (the scheme and Host it was sent to).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return strings.EqualFold(o, scheme+"://"+r.Host)
}

func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// writePreflight grants a preflight from a granted origin.
func writePreflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
	h.Set("Access-Control-Allow-Methods", corsMethods)
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
	}
	h.Set("Access-Control-Expose-Headers", corsExposed)
	h.Set("Access-Control-Max-Age", "600")
	h.Add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
	w.WriteHeader(http.StatusOK)
}

// corsHeaders replaces whatever CORS headers a service set (gofakes3 sets its own, permissive ones) with
// localaws's: none, unless the request comes from a granted origin.
func (f *frontDoor) corsHeaders(r *http.Request) func(http.Header) {
	granted := f.originGranted(r)
	origin := r.Header.Get("Origin")
	return func(h http.Header) {
		for k := range h {
			if strings.HasPrefix(k, "Access-Control-") {
				delete(h, k)
			}
		}
		if granted {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", corsExposed)
			h.Add("Vary", "Origin")
		}
	}
}

// errNotJSON refuses a state-changing control request that a web page could send without a preflight.
var errNotJSON = errors.New("a control request that changes state must be sent with Content-Type: application/json")

// checkControl refuses control requests a web page could forge: any with a foreign Origin, a preflight,
// and a POST whose Content-Type is not application/json (a page cannot send that cross-origin without a
// preflight, which localaws never grants).
func (f *frontDoor) checkControl(r *http.Request) error {
	if !sameOrigin(r) || isPreflight(r) {
		return fmt.Errorf("control endpoints refuse requests from browser origin %q", quote(r.Header.Get("Origin")))
	}
	if r.Method == http.MethodPost {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			return errNotJSON
		}
	}
	return f.csrf.Check(r)
}

// quote shortens a value for an error message: at most its first 64 bytes.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
