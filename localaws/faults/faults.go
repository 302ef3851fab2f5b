// Package faults decides which localaws requests to fail on purpose, so that clients' retry logic can be
// exercised against throttling and server errors without a real outage.
package faults

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Kind is what happens to one request.
type Kind int

// Kinds of faults.
const (
	// None lets the request through.
	None Kind = iota
	// Throttle answers with the service's throttling error.
	Throttle
	// ServerError answers with the service's internal error (HTTP 5xx).
	ServerError
)

// Config is a fault-injection setting. The zero Config injects nothing.
type Config struct {
	// Throttle is the fraction (0 to 1) of requests answered with a throttling error.
	Throttle float64
	// ServerError is the fraction (0 to 1) of requests answered with an internal error.
	ServerError float64
	// Services limits injection to these services; all services when empty.
	Services []string `json:",omitempty"`
	// Seed makes the sequence of decisions repeatable; a random seed is used when 0.
	Seed uint64 `json:",omitempty"`
}

// Counts says how many faults were injected into one service.
type Counts struct {
	Throttle    int
	ServerError int
}

// State is the current setting and what it has injected since it was set.
type State struct {
	Config   Config
	Injected map[string]Counts
}

// Injector holds the current setting. It is safe for concurrent use.
type Injector struct {
	known []string

	mu       sync.Mutex
	cfg      Config
	rng      *rand.Rand
	injected map[string]Counts
}

// New returns an Injector that injects nothing, for the named services.
func New(services ...string) *Injector {
	return &Injector{known: services, injected: map[string]Counts{}}
}

// Set replaces the setting and resets the counts. It refuses fractions outside [0, 1], fractions that
// add up to more than 1, and services the Injector does not know.
func (i *Injector) Set(cfg Config) error {
	if cfg.Throttle < 0 || cfg.Throttle > 1 || cfg.ServerError < 0 || cfg.ServerError > 1 {
		return fmt.Errorf("faults: Throttle and ServerError must be between 0 and 1, got %v and %v", cfg.Throttle, cfg.ServerError)
	}
	if cfg.Throttle+cfg.ServerError > 1 {
		return fmt.Errorf("faults: Throttle + ServerError must not exceed 1, got %v", cfg.Throttle+cfg.ServerError)
	}
	for _, s := range cfg.Services {
		if !slices.Contains(i.known, s) {
			return fmt.Errorf("faults: unknown service %q (known: %v)", s, i.known)
		}
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.cfg = cfg
	i.cfg.Services = slices.Clone(cfg.Services)
	i.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	i.injected = map[string]Counts{}
	return nil
}

// Clear stops injecting faults.
func (i *Injector) Clear() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.cfg = Config{}
	i.rng = nil
	i.injected = map[string]Counts{}
}

// State returns the current setting and counts.
func (i *Injector) State() State {
	i.mu.Lock()
	defer i.mu.Unlock()
	st := State{Config: i.cfg, Injected: map[string]Counts{}}
	st.Config.Services = slices.Clone(i.cfg.Services)
	for k, v := range i.injected {
		st.Injected[k] = v
	}
	return st
}

// Decide returns what to do with one request to service, and counts it.
func (i *Injector) Decide(service string) Kind {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.rng == nil || (i.cfg.Throttle == 0 && i.cfg.ServerError == 0) {
		return None
	}
	if len(i.cfg.Services) > 0 && !slices.Contains(i.cfg.Services, service) {
		return None
	}
	x := i.rng.Float64()
	c := i.injected[service]
	defer func() { i.injected[service] = c }()
	switch {
	case x < i.cfg.Throttle:
		c.Throttle++
		return Throttle
	case x < i.cfg.Throttle+i.cfg.ServerError:
		c.ServerError++
		return ServerError
	default:
		return None
	}
}
