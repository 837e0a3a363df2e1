//go:build amd64 && !purego

#include "textflag.h"

// func asciiBlocks(p *byte, n int, avx2 bool) int
TEXT ·asciiBlocks(SB), NOSPLIT, $0-32
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ SI, DI            // start
	CMPB avx2+16(FP), $0
	JE   sse

	CMPQ CX, $128
	JB   avx32

avx128:
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1
	VPOR    64(SI), Y0, Y0
	VPOR    96(SI), Y1, Y1
	VPOR    Y1, Y0, Y0
	VPMOVMSKB Y0, AX
	TESTL   AX, AX
	JNZ     avx32          // find the 32-byte block that is not ASCII
	ADDQ    $128, SI
	SUBQ    $128, CX
	CMPQ    CX, $128
	JAE     avx128

avx32:
	CMPQ    CX, $32
	JB      avxdone
	VMOVDQU (SI), Y0
	VPMOVMSKB Y0, AX
	TESTL   AX, AX
	JNZ     avxdone
	ADDQ    $32, SI
	SUBQ    $32, CX
	JMP     avx32

avxdone:
	VZEROUPPER
	SUBQ DI, SI
	MOVQ SI, ret+24(FP)
	RET

sse:
	CMPQ CX, $16
	JB   ssedone
	MOVOU (SI), X0
	PMOVMSKB X0, AX
	TESTL AX, AX
	JNZ  ssedone
	ADDQ $16, SI
	SUBQ $16, CX
	JMP  sse

ssedone:
	SUBQ DI, SI
	MOVQ SI, ret+24(FP)
	RET
