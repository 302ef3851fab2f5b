package faults

import "testing"

func TestSetValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"both", Config{Throttle: 0.5, ServerError: 0.5, Services: []string{"s3"}}, true},
		{"negative", Config{Throttle: -0.1}, false},
		{"over one", Config{ServerError: 1.5}, false},
		{"sum over one", Config{Throttle: 0.7, ServerError: 0.4}, false},
		{"unknown service", Config{Throttle: 0.1, Services: []string{"ec2"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := New("s3", "lambda").Set(tt.cfg); (err == nil) != tt.ok {
				t.Errorf("Set(%+v) = %v, want ok %v", tt.cfg, err, tt.ok)
			}
		})
	}
}

func decisions(i *Injector, service string, n int) []Kind {
	out := make([]Kind, n)
	for k := range out {
		out[k] = i.Decide(service)
	}
	return out
}

func TestDecide(t *testing.T) {
	i := New("s3", "lambda")
	if k := i.Decide("s3"); k != None {
		t.Errorf("unset: %v", k)
	}
	cfg := Config{Throttle: 0.3, ServerError: 0.2, Services: []string{"s3"}, Seed: 42}
	if err := i.Set(cfg); err != nil {
		t.Fatal(err)
	}
	first := decisions(i, "s3", 1000)
	if err := i.Set(cfg); err != nil {
		t.Fatal(err)
	}
	second := decisions(i, "s3", 1000)
	var throttles, errs int
	for k := range first {
		if first[k] != second[k] {
			t.Fatalf("same seed, different decision at %d", k)
		}
		switch first[k] {
		case Throttle:
			throttles++
		case ServerError:
			errs++
		}
	}
	if throttles < 200 || throttles > 400 || errs < 100 || errs > 300 {
		t.Errorf("1000 decisions: %d throttles, %d errors", throttles, errs)
	}
	if got := i.State().Injected["s3"]; got.Throttle != throttles || got.ServerError != errs {
		t.Errorf("counts %+v, want %d and %d", got, throttles, errs)
	}
	if k := decisions(i, "lambda", 100); k[0] != None || i.State().Injected["lambda"] != (Counts{}) {
		t.Error("an unselected service got faults")
	}
	i.Clear()
	if k := i.Decide("s3"); k != None {
		t.Errorf("after Clear: %v", k)
	}
}
