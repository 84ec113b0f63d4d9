//go:build !linux

package sources

import "os"

// pipeBuffered returns 0: only Linux says here how many bytes wait in a
// pipe, so elsewhere an interrupt drops no audio already written to it.
func pipeBuffered(*os.File) int { return 0 }
