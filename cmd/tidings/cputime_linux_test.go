package main

import (
	"syscall"
	"time"
)

// threadCPU is the CPU time the calling OS thread has used, for benchmarks
// that want a render's own cost apart from the time it waited for a core
// on a busy machine (the caller locks its goroutine to the thread).
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
