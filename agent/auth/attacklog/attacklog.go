// Package attacklog records, from the security tests, each attack tried,
// what was expected and what happened, for docs/SECURITY.md. With
// AUTOGRAFO_ATTACK_LOG unset it records nothing; the tests assert anyway.
package attacklog

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
)

var mu sync.Mutex

// Record appends one row: the test asserting the outcome calls it with what
// it saw, pass or fail, so the report shows failures too.
func Record(t testing.TB, attack, expected, happened string) {
	t.Helper()
	path := os.Getenv("AUTOGRAFO_ATTACK_LOG")
	if path == "" {
		return
	}
	clean := func(s string) string { return strings.NewReplacer("\t", " ", "\n", " ", "|", "/").Replace(s) }
	mu.Lock()
	defer mu.Unlock()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatalf("attack log: %v", err)
	}
	defer f.Close()
	result := "as expected"
	if t.Failed() {
		result = "FAILED"
	}
	fmt.Fprintf(f, "%s\t%s\t%s\t%s\t%s\n", t.Name(), clean(attack), clean(expected), clean(happened), result)
}
