//go:build amd64

#include "textflag.h"

// func orBytesAVX2(p *byte, n int) byte
//
// Loads every byte once, 256 bytes an iteration into four accumulators,
// and folds them at the end: no test, no branch on the data.
TEXT ·orBytesAVX2(SB), NOSPLIT, $0-17
	MOVQ  p+0(FP), SI
	MOVQ  n+8(FP), CX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	CMPQ  CX, $256
	JB    vec32

	PCALIGN $64
vec256:
	VPOR (SI), Y0, Y0
	VPOR 32(SI), Y1, Y1
	VPOR 64(SI), Y2, Y2
	VPOR 96(SI), Y3, Y3
	VPOR 128(SI), Y0, Y0
	VPOR 160(SI), Y1, Y1
	VPOR 192(SI), Y2, Y2
	VPOR 224(SI), Y3, Y3
	ADDQ $256, SI
	SUBQ $256, CX
	CMPQ CX, $256
	JAE  vec256

vec32:
	CMPQ CX, $32
	JB   fold
	VPOR (SI), Y0, Y0
	ADDQ $32, SI
	SUBQ $32, CX
	JMP  vec32

fold:
	VPOR         Y1, Y0, Y0
	VPOR         Y3, Y2, Y2
	VPOR         Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPOR         X1, X0, X0
	VPSHUFD      $0x4E, X0, X1
	VPOR         X1, X0, X0
	VZEROUPPER
	MOVQ         X0, AX
	MOVQ         AX, BX
	SHRQ         $32, BX
	ORQ          BX, AX
	MOVQ         AX, BX
	SHRQ         $16, BX
	ORQ          BX, AX
	MOVQ         AX, BX
	SHRQ         $8, BX
	ORQ          BX, AX

tail:
	TESTQ CX, CX
	JE    done
	ORB   (SI), AL
	INCQ  SI
	DECQ  CX
	JMP   tail

done:
	MOVB AL, ret+16(FP)
	RET
