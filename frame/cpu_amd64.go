//go:build amd64 && !purego

package frame

// hasAVX2 reports whether the CPU and the operating system support AVX2:
// CPUID says the CPU has AVX and AVX2, and XGETBV that the OS saves the
// YMM registers. The assembly of mask_amd64.s and utf8_amd64.s falls back
// to SSE2, which every amd64 CPU has, when it is false.
var hasAVX2 = detectAVX2()

// hasBMI2 reports whether the CPU has BMI2's SHRX, a shift by any register
// that leaves the flags alone, which utf8_amd64.s's automaton uses.
var hasBMI2 = func() bool {
	if maxLeaf, _, _, _ := cpuid(0, 0); maxLeaf < 7 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<8) != 0
}()

func detectAVX2() bool {
	_, _, ecx1, _ := cpuid(1, 0)
	const osxsave, avx = 1 << 27, 1 << 28
	if ecx1&osxsave == 0 || ecx1&avx == 0 {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 { // XMM and YMM state enabled
		return false
	}
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0
}

// cpuid executes CPUID with EAX=leaf and ECX=sub.
//
//go:noescape
func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)

// xgetbv executes XGETBV with ECX=0: the XCR0 register.
//
//go:noescape
func xgetbv() (eax, edx uint32)
