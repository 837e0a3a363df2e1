//go:build amd64 && !purego

#include "textflag.h"

// func asciiPrefixAsm(p *byte, n int, avx2, avx512 bool) int
TEXT ·asciiPrefixAsm(SB), NOSPLIT, $0-32
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ SI, DI            // start
	CMPB avx2+16(FP), $0
	JE   sse
	CMPB avx512+17(FP), $0
	JE   avx2go
	CMPQ CX, $256
	JB   avx2go

	MOVL         $0x80808080, AX
	VPBROADCASTD AX, Z5

	PCALIGN $64
z256:
	VMOVDQU64 (SI), Z0
	VMOVDQU64 64(SI), Z1
	VPORQ     128(SI), Z0, Z0
	VPORQ     192(SI), Z1, Z1
	VPORQ     Z1, Z0, Z0
	VPTESTMD  Z5, Z0, K1
	KORTESTW  K1, K1
	JNZ       avx2go       // find the 32-byte block that is not ASCII
	ADDQ      $256, SI
	SUBQ      $256, CX
	CMPQ      CX, $256
	JAE       z256

avx2go:
	CMPQ CX, $128
	JB   avx32

	PCALIGN $64
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
	JMP words

sse:
	CMPQ CX, $16
	JB   words
	MOVOU (SI), X0
	PMOVMSKB X0, AX
	TESTL AX, AX
	JNZ  words
	ADDQ $16, SI
	SUBQ $16, CX
	JMP  sse

	// Then a word at a time, to the word that is not ASCII.
words:
	MOVQ $0x8080808080808080, R8

words8:
	CMPQ  CX, $8
	JB    last
	MOVQ  (SI), AX
	TESTQ R8, AX
	JNZ   done
	ADDQ  $8, SI
	SUBQ  $8, CX
	JMP   words8

	// Fewer than 8 bytes left, all before them ASCII: if the last 8 bytes
	// of the text are ASCII too, so is all of it.
last:
	TESTQ CX, CX
	JE    done
	MOVQ  n+8(FP), DX
	CMPQ  DX, $8
	JB    done
	MOVQ  p+0(FP), BX
	MOVQ  -8(BX)(DX*1), AX
	TESTQ R8, AX
	JNZ   done
	ADDQ  CX, SI

done:
	SUBQ DI, SI
	MOVQ SI, ret+24(FP)
	RET

// func dfa2(t *[256]uint64, a, b *byte, n int, sa, sb uint64) (ra, rb uint64)
//
// Runs the automaton t over a[:n] from state sa and over b[:n] from sb,
// interleaved, four bytes of each per iteration. Needs BMI2.
TEXT ·dfa2(SB), NOSPLIT, $0-64
	MOVQ t+0(FP), R8
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ n+24(FP), CX
	MOVQ sa+32(FP), AX
	MOVQ sb+40(FP), BX
	XORQ DX, DX
	SUBQ $4, CX
	JB   tail

	PCALIGN $64
loop4:
	MOVBQZX (SI)(DX*1), R9
	MOVBQZX (DI)(DX*1), R10
	MOVBQZX 1(SI)(DX*1), R11
	MOVBQZX 1(DI)(DX*1), R12
	MOVQ    (R8)(R9*8), R9
	MOVQ    (R8)(R10*8), R10
	MOVQ    (R8)(R11*8), R11
	MOVQ    (R8)(R12*8), R12
	SHRXQ   AX, R9, AX
	SHRXQ   BX, R10, BX
	SHRXQ   AX, R11, AX
	SHRXQ   BX, R12, BX
	MOVBQZX 2(SI)(DX*1), R9
	MOVBQZX 2(DI)(DX*1), R10
	MOVBQZX 3(SI)(DX*1), R11
	MOVBQZX 3(DI)(DX*1), R12
	MOVQ    (R8)(R9*8), R9
	MOVQ    (R8)(R10*8), R10
	MOVQ    (R8)(R11*8), R11
	MOVQ    (R8)(R12*8), R12
	SHRXQ   AX, R9, AX
	SHRXQ   BX, R10, BX
	SHRXQ   AX, R11, AX
	SHRXQ   BX, R12, BX
	ADDQ    $4, DX
	CMPQ    DX, CX
	JBE     loop4

tail:
	ADDQ $4, CX

tail1:
	CMPQ    DX, CX
	JAE     done
	MOVBQZX (SI)(DX*1), R9
	MOVBQZX (DI)(DX*1), R10
	MOVQ    (R8)(R9*8), R9
	MOVQ    (R8)(R10*8), R10
	SHRXQ   AX, R9, AX
	SHRXQ   BX, R10, BX
	INCQ    DX
	JMP     tail1

done:
	ANDQ $63, AX
	ANDQ $63, BX
	MOVQ AX, ra+48(FP)
	MOVQ BX, rb+56(FP)
	RET
