package handshake

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/hybi-go/hybi/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// TestComputeAccept checks the example of RFC 6455, Section 1.3.
func TestComputeAccept(t *testing.T) {
	t.Parallel()
	const key, want = "dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
	if got := ComputeAccept(key); got != want {
		t.Fatalf("ComputeAccept(%q) = %q, want %q", key, got, want)
	}
}

func TestGenerateKey(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		k := GenerateKey()
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(b) != 16 {
			t.Fatalf("GenerateKey() = %q: decodes to %d bytes, %v; want 16 bytes", k, len(b), err)
		}
		if seen[k] {
			t.Fatalf("GenerateKey() repeated %q", k)
		}
		seen[k] = true
	}
}

func TestHeaderTokens(t *testing.T) {
	t.Parallel()
	h := http.Header{"Connection": {"keep-alive, Upgrade", " ,\tfoo ,, bar\t"}}
	got := strings.Join(headerTokens(h, "connection"), "|")
	if want := "keep-alive|Upgrade|foo|bar"; got != want {
		t.Errorf("headerTokens = %q, want %q", got, want)
	}
	if !hasToken(h, "Connection", "upgrade") || !hasToken(h, "Connection", "BAR") || hasToken(h, "Connection", "close") {
		t.Errorf("hasToken gives wrong answers for %v", h)
	}
}

func TestIsToken(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"chat": true, "v2.bbc.co.uk": true, "a-b_c~!#$%&'*+^`|": true,
		"": false, "a b": false, "a,b": false, "a\r\n": false, "é": false, "a/b": false,
	} {
		if got := isToken(s); got != want {
			t.Errorf("isToken(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestErrorType(t *testing.T) {
	t.Parallel()
	cause := errors.New("boom")
	var err error = &Error{StatusCode: 400, Reason: "bad key", Err: cause}
	if got, want := err.Error(), "handshake: Bad Request: bad key"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, cause) {
		t.Errorf("errors.Is(err, cause) = false")
	}
	var he *Error
	if !errors.As(err, &he) || he.StatusCode != 400 {
		t.Errorf("errors.As failed: %v", he)
	}
}
