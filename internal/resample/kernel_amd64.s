//go:build !purego

#include "textflag.h"

// SSE2 (part of every amd64) inner loops of kernel.go and stages.go.

// func dotPairSSE2(h1, x1, h2, x2 *float64, n int) (a, b float64)
// n is a multiple of 4.
TEXT ·dotPairSSE2(SB), NOSPLIT, $0-56
	MOVQ  h1+0(FP), AX
	MOVQ  x1+8(FP), BX
	MOVQ  h2+16(FP), CX
	MOVQ  x2+24(FP), DX
	MOVQ  n+32(FP), SI
	SHLQ  $3, SI
	XORPD X0, X0
	XORPD X1, X1
	XORPD X2, X2
	XORPD X3, X3
	XORQ  R8, R8

dotloop:
	CMPQ   R8, SI
	JGE    dotdone
	MOVUPD (AX)(R8*1), X4
	MOVUPD (BX)(R8*1), X5
	MULPD  X5, X4
	ADDPD  X4, X0
	MOVUPD 16(AX)(R8*1), X6
	MOVUPD 16(BX)(R8*1), X7
	MULPD  X7, X6
	ADDPD  X6, X1
	MOVUPD (CX)(R8*1), X8
	MOVUPD (DX)(R8*1), X9
	MULPD  X9, X8
	ADDPD  X8, X2
	MOVUPD 16(CX)(R8*1), X10
	MOVUPD 16(DX)(R8*1), X11
	MULPD  X11, X10
	ADDPD  X10, X3
	ADDQ   $32, R8
	JMP    dotloop

dotdone:
	ADDPD    X1, X0
	MOVAPD   X0, X4
	UNPCKHPD X4, X4
	ADDSD    X4, X0
	MOVSD    X0, a+40(FP)
	ADDPD    X3, X2
	MOVAPD   X2, X4
	UNPCKHPD X4, X4
	ADDSD    X4, X2
	MOVSD    X2, b+48(FP)
	RET

// func mulSpectrumSSE2(ar, ai, br, bi *float64, n int)
// n is even.
TEXT ·mulSpectrumSSE2(SB), NOSPLIT, $0-40
	MOVQ ar+0(FP), AX
	MOVQ ai+8(FP), BX
	MOVQ br+16(FP), CX
	MOVQ bi+24(FP), DX
	MOVQ n+32(FP), SI
	SHLQ $3, SI
	XORQ R8, R8

mulloop:
	CMPQ   R8, SI
	JGE    muldone
	MOVUPD (AX)(R8*1), X0 // ar
	MOVUPD (BX)(R8*1), X1 // ai
	MOVUPD (CX)(R8*1), X2 // br
	MOVUPD (DX)(R8*1), X3 // bi
	MOVAPD X0, X4
	MULPD  X2, X4         // ar*br
	MOVAPD X1, X5
	MULPD  X3, X5         // ai*bi
	SUBPD  X5, X4
	MOVUPD X4, (AX)(R8*1) // ar*br - ai*bi
	MULPD  X3, X0         // ar*bi
	MULPD  X2, X1         // ai*br
	ADDPD  X1, X0
	MOVUPD X0, (BX)(R8*1) // ar*bi + ai*br
	ADDQ   $16, R8
	JMP    mulloop

muldone:
	RET
