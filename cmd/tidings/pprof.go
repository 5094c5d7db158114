//go:build pprof

package main

import (
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux
	"os"
)

// A binary built with -tags pprof serves the runtime profiles on
// $TIDINGS_PPROF (e.g. 127.0.0.1:6060), apart from the daemon's own port,
// for profiling it under load (bench/serve/run.sh PROFILE=1). Release
// builds carry none of this.
func init() {
	if addr := os.Getenv("TIDINGS_PPROF"); addr != "" {
		go http.ListenAndServe(addr, nil)
	}
}
