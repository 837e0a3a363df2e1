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

// hasAVX512 reports whether masking may use 512-bit registers: the CPU has
// AVX-512F, the OS saves the ZMM state, and the CPU runs 512-bit integer
// instructions without lowering its clock for the whole core, which
// AMD's do and Intel's do from Ice Lake on (told apart from Skylake-SP
// and Cascade Lake, whose clock drops, by AVX512_VBMI2).
var hasAVX512 = func() bool {
	if !hasAVX2 {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&0xE6 != 0xE6 { // XMM, YMM, opmask and ZMM state
		return false
	}
	_, ebx7, ecx7, _ := cpuid(7, 0)
	if ebx7&(1<<16) == 0 { // AVX512F
		return false
	}
	_, vb, vc, vd := cpuid(0, 0)
	amd := vb == 0x68747541 && vd == 0x69746e65 && vc == 0x444d4163 // "AuthenticAMD"
	return amd || ecx7&(1<<6) != 0                                  // AVX512_VBMI2
}()
