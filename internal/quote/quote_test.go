package quote

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValue(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", `""`},
		{"short", "churn", `"churn"`},
		{"control characters escaped", "a\nb", `"a\nb"`},
		{"exactly the limit", strings.Repeat("a", MaxValueBytes), `"` + strings.Repeat("a", MaxValueBytes) + `"`},
		{"one over the limit", strings.Repeat("a", MaxValueBytes+1), `"` + strings.Repeat("a", MaxValueBytes) + `"… (81 bytes)`},
		{"1.5 MB", strings.Repeat("x", 1536*1024), `"` + strings.Repeat("x", MaxValueBytes) + `"… (1572864 bytes)`},
		{"cut before a multi-byte character", strings.Repeat("a", MaxValueBytes-1) + "é" + "tail", `"` + strings.Repeat("a", MaxValueBytes-1) + `"… (85 bytes)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Value(tc.in); got != tc.want {
				t.Errorf("Value(%d bytes) = %s, want %s", len(tc.in), got, tc.want)
			}
		})
	}
}

func TestPrefixKeepsUTF8Valid(t *testing.T) {
	s := strings.Repeat("日本語", 100)
	for n := 0; n < 20; n++ {
		p := Prefix(s, n)
		if len(p) > n || !utf8.ValidString(p) || !strings.HasPrefix(s, p) || n-len(p) >= 3 {
			t.Errorf("Prefix(s, %d) = %q", n, p)
		}
	}
}
