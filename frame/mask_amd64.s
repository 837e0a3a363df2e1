//go:build amd64 && !purego

#include "textflag.h"

// func maskAsm(b *byte, n int, k uint32, avx2, avx512 bool)
TEXT ·maskAsm(SB), NOSPLIT, $0-22
	MOVQ b+0(FP), DI
	MOVQ n+8(FP), CX
	MOVL k+16(FP), AX
	MOVQ AX, DX
	SHLQ $32, DX
	ORQ  DX, AX            // AX = the key, twice
	CMPQ CX, $64
	JB   words
	MOVQ AX, X0
	CMPB avx2+20(FP), $0
	JE   sse

	CMPQ CX, $256
	JB   avxgo

	// A long payload: reach a 32-byte boundary first, so that no load or
	// store of the loop splits a cache line. Each step of 1, 2, 4, 8 and
	// 16 bytes moves the key along by as many bytes, rotating it.
	MOVQ DI, BX
	NEGQ BX
	ANDQ $31, BX           // bytes to the boundary
	SUBQ BX, CX
	TESTQ $1, BX
	JE   align2
	XORB AL, (DI)
	RORQ $8, AX
	INCQ DI

align2:
	TESTQ $2, BX
	JE   align4
	XORW AX, (DI)
	RORQ $16, AX
	ADDQ $2, DI

align4:
	TESTQ $4, BX
	JE   align8
	XORL AX, (DI)
	ADDQ $4, DI

align8:
	TESTQ $8, BX
	JE   align16
	XORQ AX, (DI)
	ADDQ $8, DI

align16:
	MOVQ AX, X0
	TESTQ $16, BX
	JE   avxgo
	PUNPCKLQDQ X0, X0
	MOVOU (DI), X1
	PXOR  X0, X1
	MOVOU X1, (DI)
	ADDQ  $16, DI

avxgo:
	VPBROADCASTQ X0, Y0
	CMPQ CX, $256
	JB   avx128

	CMPB avx512+21(FP), $0
	JE   avx256
	VPBROADCASTQ X0, Z0

	PCALIGN $64
z256:
	VPXORQ    (DI), Z0, Z1
	VPXORQ    64(DI), Z0, Z2
	VPXORQ    128(DI), Z0, Z3
	VPXORQ    192(DI), Z0, Z4
	VMOVDQU64 Z1, (DI)
	VMOVDQU64 Z2, 64(DI)
	VMOVDQU64 Z3, 128(DI)
	VMOVDQU64 Z4, 192(DI)
	ADDQ      $256, DI
	SUBQ      $256, CX
	CMPQ      CX, $256
	JAE       z256
	JMP       avx128

	PCALIGN $64
avx256:
	VPXOR   (DI), Y0, Y1
	VPXOR   32(DI), Y0, Y2
	VPXOR   64(DI), Y0, Y3
	VPXOR   96(DI), Y0, Y4
	VPXOR   128(DI), Y0, Y5
	VPXOR   160(DI), Y0, Y6
	VPXOR   192(DI), Y0, Y7
	VPXOR   224(DI), Y0, Y8
	VMOVDQU Y1, (DI)
	VMOVDQU Y2, 32(DI)
	VMOVDQU Y3, 64(DI)
	VMOVDQU Y4, 96(DI)
	VMOVDQU Y5, 128(DI)
	VMOVDQU Y6, 160(DI)
	VMOVDQU Y7, 192(DI)
	VMOVDQU Y8, 224(DI)
	ADDQ    $256, DI
	SUBQ    $256, CX
	CMPQ    CX, $256
	JAE     avx256

avx128:
	CMPQ    CX, $128
	JB      avx32
	VPXOR   (DI), Y0, Y1
	VPXOR   32(DI), Y0, Y2
	VPXOR   64(DI), Y0, Y3
	VPXOR   96(DI), Y0, Y4
	VMOVDQU Y1, (DI)
	VMOVDQU Y2, 32(DI)
	VMOVDQU Y3, 64(DI)
	VMOVDQU Y4, 96(DI)
	ADDQ    $128, DI
	SUBQ    $128, CX

avx32:
	CMPQ    CX, $32
	JB      avxdone
	VPXOR   (DI), Y0, Y1
	VMOVDQU Y1, (DI)
	ADDQ    $32, DI
	SUBQ    $32, CX
	JMP     avx32

avxdone:
	VZEROUPPER
	JMP words

sse:
	PUNPCKLQDQ X0, X0

	PCALIGN $64
sse64:
	MOVOU (DI), X1
	MOVOU 16(DI), X2
	MOVOU 32(DI), X3
	MOVOU 48(DI), X4
	PXOR  X0, X1
	PXOR  X0, X2
	PXOR  X0, X3
	PXOR  X0, X4
	MOVOU X1, (DI)
	MOVOU X2, 16(DI)
	MOVOU X3, 32(DI)
	MOVOU X4, 48(DI)
	ADDQ  $64, DI
	SUBQ  $64, CX
	CMPQ  CX, $64
	JAE   sse64

words:
	CMPQ CX, $8
	JB   word4
	XORQ AX, (DI)
	ADDQ $8, DI
	SUBQ $8, CX
	JMP  words

word4:
	CMPQ CX, $4
	JB   bytes
	XORL AX, (DI)
	ADDQ $4, DI
	SUBQ $4, CX

bytes:
	TESTQ CX, CX
	JE    done
	XORB  AL, (DI)
	SHRQ  $8, AX
	INCQ  DI
	DECQ  CX
	JMP   bytes

done:
	RET
