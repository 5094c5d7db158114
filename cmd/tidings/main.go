// Command tidings is the Tidings feed aggregator: it polls the feeds listed
// in a YAML config, stores their items in a bbolt file and republishes topic
// feeds over HTTP.
//
// Usage:
//
//	tidings COMMAND [flags] [args]
//
// Run `tidings help` for the list of commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // source timezones work on machines without zoneinfo (distroless)

	"github.com/tidings/tidings"
)

// Set with -ldflags "-X main.version=… -X main.commit=… -X main.date=…".
var (
	version = tidings.Version
	commit  = "unknown"
	date    = "unknown"
)

// stopProfile ends a profile of the whole command; only builds with the
// pprof tag start one (pprof.go).
var stopProfile = func() {}

// command is one subcommand of the tidings binary.
type command struct {
	name    string
	args    string // positional arguments, for usage
	summary string
	example string
	flags   func(fs *flag.FlagSet, o *options)
	run     func(ctx context.Context, env *env, o *options) error
	nargs   [2]int // min, max positional arguments
}

// options are every command's flags; each command registers the ones it takes.
type options struct {
	config    string
	source    string
	strict    bool
	format    string
	limit     int
	out       string
	logLevel  string
	logFormat string
	grace     time.Duration
	query     string // match --query
	appendTo  bool   // import-opml --append

	args []string // positional arguments
}

// env is what a command runs against: its output streams and environment.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

// exitError carries a process exit code through the error chain.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

var commands = []*command{
	{
		name: "serve", summary: "run the daemon: poll on schedule, serve topic feeds over HTTP",
		example: "tidings serve --config examples/demo.yaml",
		flags: func(fs *flag.FlagSet, o *options) {
			fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
			fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
			fs.DurationVar(&o.grace, "grace", defaultGrace, "on SIGTERM, how long to wait for requests and polls in flight before cancelling them")
		},
		run: runServe,
	},
	{
		name: "fetch", summary: "poll every source (or one) once, store the items, print a line per source",
		example: "tidings fetch --source wsws",
		flags: func(fs *flag.FlagSet, o *options) {
			fs.StringVar(&o.source, "source", "", "poll only the source with this name")
			fs.BoolVar(&o.strict, "strict", false, "exit 1 if any source fails")
		},
		run: runFetch,
	},
	{
		name: "check", summary: "validate the config; print FILE:LINE: message lines and exit 1 on errors",
		example: "tidings check --config tidings.yaml",
		run:     runCheck,
	},
	{
		name: "render", args: "TOPIC", summary: "write a topic feed from the store to stdout",
		example: "tidings render mexico --format atom --limit 20",
		flags: func(fs *flag.FlagSet, o *options) {
			fs.StringVar(&o.format, "format", "rss", "feed format: rss, atom or json")
			fs.IntVar(&o.limit, "limit", 0, "number of items (default: the topic's limit)")
		},
		run: runRender, nargs: [2]int{1, 1},
	},
	{
		name: "export", summary: "write every topic in every format, index.html and topics.opml to a folder",
		example: "tidings export --out public/",
		flags: func(fs *flag.FlagSet, o *options) {
			fs.StringVar(&o.out, "out", "", "folder to write to (created if missing)")
		},
		run: runExport,
	},
	{
		name: "status", summary: "show every source's polling state: URL in use, last success and error, next poll, items",
		example: "tidings status --source wsws",
		flags: func(fs *flag.FlagSet, o *options) {
			fs.StringVar(&o.source, "source", "", "show only the source with this name")
			fs.StringVar(&o.format, "format", "table", "output: table or json")
		},
		run: runStatus,
	},
	{
		name: "match", args: "[TOPIC]", summary: "show which stored items a topic (or --query) matches, and which term matched where",
		example: "tidings match mexico   or   tidings match --query 'title:sheinbaum OR /amlo|obrador/'",
		flags: func(fs *flag.FlagSet, o *options) {
			fs.StringVar(&o.query, "query", "", "try this query instead of the topic's (with TOPIC: within the topic's sources and tags)")
			fs.IntVar(&o.limit, "limit", 20, "items to show")
		},
		run: runMatch, nargs: [2]int{0, 1},
	},
	{
		name: "import-opml", args: "FILE", summary: "turn a feed reader's OPML export into sources: YAML (folders become tags)",
		example: "tidings import-opml feeds.opml --append --config tidings.yaml",
		flags: func(fs *flag.FlagSet, o *options) {
			fs.BoolVar(&o.appendTo, "append", false, "add the new sources to the config file instead of printing them")
		},
		run: runImportOPML, nargs: [2]int{1, 1},
	},
	{
		name: "backup", args: "FILE", summary: "write a consistent copy of the store to FILE (asks the daemon while it runs)",
		example: "tidings backup /var/backups/tidings-$(date +%F).db",
		run:     runBackup, nargs: [2]int{1, 1},
	},
	{
		name: "compact", summary: "rewrite the store without the space pruning freed (stop the daemon first)",
		example: "tidings compact --config /etc/tidings/tidings.yaml",
		run:     runCompact,
	},
	{
		name: "health", summary: "probe the running daemon's /healthz; exit 0 if it answers 200",
		example: "tidings health --config /etc/tidings/tidings.yaml",
		run:     runHealth,
	},
	{
		name: "version", summary: "print the version",
		example: "tidings version",
		run: func(_ context.Context, e *env, _ *options) error {
			fmt.Fprintf(e.stdout, "tidings %s (commit %s, built %s)\n", version, commit, date)
			return nil
		},
	},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	err := run(ctx, e, os.Args[1:])
	stopProfile()
	if err == nil {
		return
	}
	code := 1
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintln(os.Stderr, "tidings: "+msg)
	}
	os.Exit(code)
}

// run parses the command line and runs one command.
func run(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c := lookup(args[1]); c != nil {
				_, err := parseArgs(c, e, []string{"--help"})
				if errors.Is(err, flag.ErrHelp) {
					return nil
				}
				return err
			}
		}
		usage(e.stdout)
		if len(args) == 0 {
			return &exitError{code: 2, err: errors.New("")}
		}
		return nil
	}
	c := lookup(args[0])
	if c == nil {
		usage(e.stderr)
		return &exitError{code: 2, err: fmt.Errorf("unknown command %q", args[0])}
	}
	o, err := parseArgs(c, e, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	return c.run(ctx, e, o)
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Tidings polls news feeds, keeps one clean copy of every item and republishes topic feeds.")
	fmt.Fprintln(w, "\nUsage: tidings COMMAND [flags] [args]   (flags may come before or after args)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery command takes --config FILE (default: $TIDINGS_CONFIG, else ./tidings.yaml).")
	fmt.Fprintln(w, "Run `tidings COMMAND --help` for a command's flags and an example.")
}

// parseArgs parses flags wherever they stand among the arguments: Go's
// flag package stops at the first non-flag, so parse again after each one.
func parseArgs(c *command, e *env, args []string) (*options, error) {
	p := &options{}
	fs := flag.NewFlagSet("tidings "+c.name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&p.config, "config", "", "config file (default: $TIDINGS_CONFIG, else ./tidings.yaml)")
	if c.flags != nil {
		c.flags(fs, p)
	}
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: tidings %s [flags]", c.name)
		if c.args != "" {
			fmt.Fprintf(out, " %s", c.args)
		}
		fmt.Fprintf(out, "\n\n%s.\n\nFlags:\n", upperFirst(c.summary))
		fs.PrintDefaults()
		fmt.Fprintf(out, "\nExample:\n  %s\n", c.example)
	}
	// Asked-for help goes to stdout; flag would print it to stderr.
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(e.stdout)
			fs.Usage()
			return nil, flag.ErrHelp
		}
	}
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			p.args = append(p.args, rest[1:]...)
			break
		}
		p.args = append(p.args, rest[0])
		args = rest[1:]
	}
	if n := len(p.args); n < c.nargs[0] || n > c.nargs[1] {
		if c.nargs[1] == 0 {
			return nil, fmt.Errorf("%s takes no arguments, got %q (see tidings %s --help)", c.name, strings.Join(p.args, " "), c.name)
		}
		return nil, fmt.Errorf("%s needs %s (see tidings %s --help)", c.name, c.args, c.name)
	}
	if p.config == "" {
		p.config = e.getenv("TIDINGS_CONFIG")
	}
	if p.config == "" {
		p.config = "tidings.yaml"
	}
	return p, nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
