//go:build amd64 && !purego

package frame

// maskImpls are the masking loops this CPU can run, by name; Mask uses one
// of them, and TestMaskImplementations checks each.
func maskImpls() map[string]func([]byte, uint32) {
	m := map[string]func([]byte, uint32){
		"generic": maskGo,
		"sse2":    func(b []byte, k uint32) { maskAsm(&b[0], len(b), k, false, false) },
	}
	if hasAVX2 {
		m["avx2"] = func(b []byte, k uint32) { maskAsm(&b[0], len(b), k, true, false) }
	}
	if hasAVX512 {
		m["avx512"] = func(b []byte, k uint32) { maskAsm(&b[0], len(b), k, true, true) }
	}
	return m
}
