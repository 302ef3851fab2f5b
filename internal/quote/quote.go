// Package quote quotes values that came from a request in error messages: at most a short prefix of each,
// so that an oversized value (a 1.5 MB model name, say) cannot make the error larger than the limits the
// message has to pass through — Temporal's failure size limit, a Lambda's errorMessage, a terminal.
package quote

import (
	"fmt"
	"unicode/utf8"
)

// MaxValueBytes is the longest prefix of a value that Value quotes. It is longer than any valid name the
// pipelines accept (63 characters), so a valid-looking value is always shown whole.
const MaxValueBytes = 80

// Value returns s quoted as %q does when it is at most MaxValueBytes long; otherwise its first
// MaxValueBytes bytes (cut at a character boundary), quoted, followed by "…" and the value's full length.
func Value(s string) string {
	if len(s) <= MaxValueBytes {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q… (%d bytes)", Prefix(s, MaxValueBytes), len(s))
}

// Prefix returns the longest prefix of s of at most n bytes that does not split a UTF-8 character.
func Prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
