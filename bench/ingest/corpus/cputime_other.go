//go:build !unix

package main

import "time"

// cpuTime is unknown here: the CPU columns stay empty.
func cpuTime() time.Duration { return 0 }
