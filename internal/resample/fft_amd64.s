//go:build !purego

#include "textflag.h"

// SSE2 (part of every amd64) versions of the radix-4 passes of fft.go,
// two values of k at a time: the same operations in the same order as the
// Go code, so the same results. tw holds, for each pair of k, W^k re, W^k
// im, W^2k re, W^2k im, W^3k re, W^3k im, two values each (12 float64s).

// func radix4ForwardGroup(r0, i0 *float64, q int, tw *float64)
TEXT ·radix4ForwardGroup(SB), NOSPLIT, $0-32
	MOVQ r0+0(FP), AX
	MOVQ i0+8(FP), DI
	MOVQ q+16(FP), CX
	MOVQ tw+24(FP), R9
	SHLQ $3, CX
	LEAQ (AX)(CX*1), BX
	LEAQ (BX)(CX*1), DX
	LEAQ (DX)(CX*1), SI
	LEAQ (DI)(CX*1), R10
	LEAQ (R10)(CX*1), R11
	LEAQ (R11)(CX*1), R12
	XORQ R8, R8

fwdloop:
	CMPQ R8, CX
	JGE  fwddone
	MOVUPD (AX)(R8*1), X0  // a0r
	MOVUPD (DI)(R8*1), X1  // a0i
	MOVUPD (DX)(R8*1), X2  // a2r
	MOVUPD (R11)(R8*1), X3 // a2i
	MOVAPD X0, X4
	ADDPD  X2, X4          // s0r
	SUBPD  X2, X0          // d0r
	MOVAPD X1, X5
	ADDPD  X3, X5          // s0i
	SUBPD  X3, X1          // d0i
	MOVUPD (BX)(R8*1), X2  // a1r
	MOVUPD (R10)(R8*1), X3 // a1i
	MOVUPD (SI)(R8*1), X6  // a3r
	MOVUPD (R12)(R8*1), X7 // a3i
	MOVAPD X2, X8
	ADDPD  X6, X8          // s1r
	SUBPD  X6, X2          // a1r-a3r = -d1i
	MOVAPD X3, X9
	ADDPD  X7, X9          // s1i
	SUBPD  X7, X3          // a1i-a3i = d1r
	MOVAPD X4, X6
	ADDPD  X8, X6
	MOVUPD X6, (AX)(R8*1)  // r0 = s0r+s1r
	MOVAPD X5, X7
	ADDPD  X9, X7
	MOVUPD X7, (DI)(R8*1)  // i0 = s0i+s1i
	SUBPD  X8, X4          // xr = s0r-s1r
	SUBPD  X9, X5          // xi = s0i-s1i
	MOVUPD 32(R9), X6      // w2r
	MOVUPD 48(R9), X7      // w2i
	MOVAPD X4, X8
	MULPD  X6, X8
	MOVAPD X5, X9
	MULPD  X7, X9
	SUBPD  X9, X8
	MOVUPD X8, (BX)(R8*1)  // r1 = xr*w2r - xi*w2i
	MULPD  X7, X4
	MULPD  X6, X5
	ADDPD  X5, X4
	MOVUPD X4, (R10)(R8*1) // i1 = xr*w2i + xi*w2r
	MOVAPD X0, X4
	ADDPD  X3, X4          // xr = d0r+d1r
	MOVAPD X1, X5
	SUBPD  X2, X5          // xi = d0i+d1i = d0i-(a1r-a3r)
	SUBPD  X3, X0          // yr = d0r-d1r
	ADDPD  X2, X1          // yi = d0i-d1i
	MOVUPD 0(R9), X6       // w1r
	MOVUPD 16(R9), X7      // w1i
	MOVAPD X4, X8
	MULPD  X6, X8
	MOVAPD X5, X9
	MULPD  X7, X9
	SUBPD  X9, X8
	MOVUPD X8, (DX)(R8*1)  // r2
	MULPD  X7, X4
	MULPD  X6, X5
	ADDPD  X5, X4
	MOVUPD X4, (R11)(R8*1) // i2
	MOVUPD 64(R9), X6      // w3r
	MOVUPD 80(R9), X7      // w3i
	MOVAPD X0, X8
	MULPD  X6, X8
	MOVAPD X1, X9
	MULPD  X7, X9
	SUBPD  X9, X8
	MOVUPD X8, (SI)(R8*1)  // r3
	MULPD  X7, X0
	MULPD  X6, X1
	ADDPD  X1, X0
	MOVUPD X0, (R12)(R8*1) // i3
	ADDQ   $16, R8
	ADDQ   $96, R9
	JMP    fwdloop

fwddone:
	RET

// func radix4InverseGroup(r0, i0 *float64, q int, tw *float64)
TEXT ·radix4InverseGroup(SB), NOSPLIT, $0-32
	MOVQ r0+0(FP), AX
	MOVQ i0+8(FP), DI
	MOVQ q+16(FP), CX
	MOVQ tw+24(FP), R9
	SHLQ $3, CX
	LEAQ (AX)(CX*1), BX
	LEAQ (BX)(CX*1), DX
	LEAQ (DX)(CX*1), SI
	LEAQ (DI)(CX*1), R10
	LEAQ (R10)(CX*1), R11
	LEAQ (R11)(CX*1), R12
	XORQ R8, R8

invloop:
	CMPQ R8, CX
	JGE  invdone
	// b1 = x1·conj(W^2k)
	MOVUPD (BX)(R8*1), X0  // x1r
	MOVUPD (R10)(R8*1), X1 // x1i
	MOVUPD 32(R9), X2      // w2r
	MOVUPD 48(R9), X3      // w2i
	MOVAPD X0, X4
	MULPD  X2, X4
	MOVAPD X1, X5
	MULPD  X3, X5
	ADDPD  X5, X4          // b1r = x1r*w2r + x1i*w2i
	MULPD  X2, X1
	MULPD  X3, X0
	SUBPD  X0, X1          // b1i = x1i*w2r - x1r*w2i
	MOVUPD (AX)(R8*1), X2  // x0r
	MOVUPD (DI)(R8*1), X3  // x0i
	MOVAPD X2, X5
	ADDPD  X4, X5          // u0r
	SUBPD  X4, X2          // u1r
	MOVAPD X3, X6
	ADDPD  X1, X6          // u0i
	SUBPD  X1, X3          // u1i
	// b2 = x2·conj(W^k)
	MOVUPD (DX)(R8*1), X0  // x2r
	MOVUPD (R11)(R8*1), X1 // x2i
	MOVUPD 0(R9), X4       // w1r
	MOVUPD 16(R9), X7      // w1i
	MOVAPD X0, X8
	MULPD  X4, X8
	MOVAPD X1, X9
	MULPD  X7, X9
	ADDPD  X9, X8          // b2r
	MULPD  X4, X1
	MULPD  X7, X0
	SUBPD  X0, X1          // b2i
	// b3 = x3·conj(W^3k)
	MOVUPD (SI)(R8*1), X0  // x3r
	MOVUPD (R12)(R8*1), X4 // x3i
	MOVUPD 64(R9), X7      // w3r
	MOVUPD 80(R9), X9      // w3i
	MOVAPD X0, X10
	MULPD  X7, X10
	MOVAPD X4, X11
	MULPD  X9, X11
	ADDPD  X11, X10        // b3r
	MULPD  X7, X4
	MULPD  X9, X0
	SUBPD  X0, X4          // b3i
	MOVAPD X8, X0
	ADDPD  X10, X0         // v0r
	SUBPD  X10, X8         // v1r
	MOVAPD X1, X7
	ADDPD  X4, X7          // v0i
	SUBPD  X4, X1          // v1i
	MOVAPD X5, X9
	ADDPD  X0, X9
	MOVUPD X9, (AX)(R8*1)  // r0 = u0r+v0r
	SUBPD  X0, X5
	MOVUPD X5, (DX)(R8*1)  // r2 = u0r-v0r
	MOVAPD X6, X9
	ADDPD  X7, X9
	MOVUPD X9, (DI)(R8*1)  // i0 = u0i+v0i
	SUBPD  X7, X6
	MOVUPD X6, (R11)(R8*1) // i2 = u0i-v0i
	MOVAPD X2, X9
	SUBPD  X1, X9
	MOVUPD X9, (BX)(R8*1)  // r1 = u1r-v1i
	ADDPD  X1, X2
	MOVUPD X2, (SI)(R8*1)  // r3 = u1r+v1i
	MOVAPD X3, X9
	ADDPD  X8, X9
	MOVUPD X9, (R10)(R8*1) // i1 = u1i+v1r
	SUBPD  X8, X3
	MOVUPD X3, (R12)(R8*1) // i3 = u1i-v1r
	ADDQ   $16, R8
	ADDQ   $96, R9
	JMP    invloop

invdone:
	RET
