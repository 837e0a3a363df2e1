package frame

import "testing"

func TestRSVString(t *testing.T) {
	for r, want := range map[RSV]string{0: "0", RSV1: "RSV1", RSV2: "RSV2", RSV3: "RSV3", RSV1 | RSV3: "RSV1|RSV3", RSV1 | RSV2 | RSV3: "RSV1|RSV2|RSV3"} {
		if got := r.String(); got != want {
			t.Errorf("RSV(%#x).String() = %q, want %q", byte(r), got, want)
		}
	}
}
