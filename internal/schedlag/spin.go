package schedlag

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Spin starves the process of CPU, for tests of what a starved process
// does: perProcessor goroutines for each of GOMAXPROCS spin until stop is
// called, which waits for them. Each runs for its 10 ms time slice in
// turn, so every other goroutine waits about perProcessor × 10 ms for a
// CPU.
func Spin(perProcessor int) (stop func()) {
	var halt atomic.Bool
	var spinners sync.WaitGroup
	for range perProcessor * runtime.GOMAXPROCS(0) {
		spinners.Go(func() {
			for !halt.Load() {
			}
		})
	}
	return func() {
		halt.Store(true)
		spinners.Wait()
	}
}
