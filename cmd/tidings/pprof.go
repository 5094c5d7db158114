//go:build pprof

package main

import (
	"fmt"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux
	"os"
	"runtime/pprof"
)

// A binary built with -tags pprof serves the runtime profiles on
// $TIDINGS_PPROF (e.g. 127.0.0.1:6060), apart from the daemon's own port,
// for profiling it under load (bench/serve/run.sh PROFILE=1), and writes a
// CPU profile of a whole command to $TIDINGS_CPUPROFILE, for commands too
// short to profile over HTTP (`tidings fetch`). Release builds carry none
// of this.
func init() {
	if addr := os.Getenv("TIDINGS_PPROF"); addr != "" {
		go http.ListenAndServe(addr, nil)
	}
	if path := os.Getenv("TIDINGS_CPUPROFILE"); path != "" {
		fh, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(fh)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "tidings: TIDINGS_CPUPROFILE:", err)
			return
		}
		stopProfile = func() {
			pprof.StopCPUProfile()
			fh.Close()
		}
	}
}
