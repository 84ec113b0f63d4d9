package sources

import (
	"os"
	"syscall"
	"unsafe"
)

// fionread is Linux's FIONREAD ioctl: the bytes waiting in a pipe.
const fionread = 0x541B

// pipeBuffered returns the bytes waiting in the pipe f, or 0 when the
// system cannot say.
func pipeBuffered(f *os.File) int {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0
	}
	var n int32
	rc.Control(func(fd uintptr) {
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, fionread, uintptr(unsafe.Pointer(&n))); e != 0 {
			n = 0
		}
	})
	return int(n)
}
