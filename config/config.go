// Package config reads the Tidings configuration file (DESIGN §1): it parses
// the YAML strictly, expands ${VAR} references from the environment, applies
// defaults and validates the result, reporting every problem with the file,
// the line and the key.
//
// The result is a plain value; nothing in this package is global, so a reload
// is simply another call to Load.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tidings/tidings"
)

// Defaults applied to keys the file leaves out, and limits on values.
const (
	// DefaultStoragePath is storage.path, relative to the config file.
	DefaultStoragePath = "data/tidings.db"
	// DefaultRetention is storage.retention.
	DefaultRetention = 720 * time.Hour
	// DefaultMaxItemsPerSource is storage.max_items_per_source.
	DefaultMaxItemsPerSource = 2000
	// DefaultListen is server.listen.
	DefaultListen = "127.0.0.1:8080"
	// DefaultInterval is fetch.interval.
	DefaultInterval = 15 * time.Minute
	// DefaultConcurrency is fetch.concurrency.
	DefaultConcurrency = 16
	// DefaultPerHost is fetch.per_host.
	DefaultPerHost = 2
	// DefaultTimeout is fetch.timeout.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxBody is fetch.max_body, in bytes.
	DefaultMaxBody = 10 << 20
	// DefaultUserAgent is fetch.user_agent.
	DefaultUserAgent = "Tidings/" + tidings.Version + " (+https://github.com/tidings/tidings)"
	// DefaultTopicLimit is a topic's limit.
	DefaultTopicLimit = 50
	// MaxTopicLimit is the largest limit a topic may set.
	MaxTopicLimit = 500
	// MinInterval is the shortest poll interval, for fetch and for a source.
	MinInterval = time.Second
	// AllTopic is the name of the built-in topic holding every item; it is
	// appended to Config.Topics unless the file defines a topic of that name.
	AllTopic = "all"
)

// Config is the whole parsed, defaulted and validated configuration.
type Config struct {
	File    string // path the config was loaded from (as given)
	Dir     string // absolute directory of File; relative paths in the config resolve against it
	Storage Storage
	Server  Server
	Fetch   Fetch
	WebSub  WebSub
	Sources []tidings.Source // in file order; file:// URLs resolved to absolute file:///abs/path URLs
	Topics  []tidings.Topic  // in file order, plus the built-in topic "all" at the end unless defined

	sourceLines []int // line of each source's entry, for messages about it
	topicLines  []int // line of each topic's query (else its entry); 0 for the built-in one
}

// Storage configures the item store.
type Storage struct {
	Path              string        // absolute, resolved against Dir; default "data/tidings.db"
	Retention         time.Duration // default 720h; 0 keeps items forever
	MaxItemsPerSource int           // default 2000; 0 = unlimited
}

// Server configures the HTTP server.
type Server struct {
	Listen      string // default "127.0.0.1:8080"
	BaseURL     string // absolute http(s) URL without trailing slash; default "http://" + Listen (an unspecified host becomes localhost)
	AdminListen string // optional HOST:PORT; when set, admin endpoints are served only there, not on Listen
	AdminToken  string // optional; empty leaves the admin endpoints unguarded
	WatchConfig bool   // default true
}

// Fetch configures polling.
type Fetch struct {
	Interval    time.Duration // default 15m, minimum 1s
	Concurrency int           // default 16, >= 1
	PerHost     int           // default 2, >= 1
	Timeout     time.Duration // default 30s, > 0; bounds the whole request, body included
	MaxBody     int64         // bytes after decompression; default 10MB
	UserAgent   string        // default DefaultUserAgent
	// DenyPrivateNetworks refuses connections to loopback, private and
	// link-local addresses, after DNS and redirects too; default false,
	// since sources come from the operator.
	DenyPrivateNetworks bool
}

// Load reads and parses the file at path, taking ${VAR} values from the
// process environment. Problems in the file are returned as Errors; a file
// that cannot be read gives a plain error naming it.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		// The PathError would name the file a second time.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	return Parse(path, data, os.LookupEnv)
}

// Parse parses data as if read from the file at path, which is used in
// messages and to resolve relative paths. lookupEnv supplies ${VAR} values;
// nil means no variable is set. Problems in the data are returned as Errors
// (also reachable as *Error with errors.As).
func Parse(path string, data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config: resolve the directory of %s: %w", path, err)
	}
	d := &decoder{file: path, dir: dir, env: lookupEnv}
	c := d.decode(data)
	if len(d.errs) > 0 {
		d.errs.sort()
		return nil, d.errs
	}
	c.File = path
	c.Dir = dir
	return c, nil
}

// TopicLine returns the line of topics[i].query, else of the topic's entry,
// for messages about the topic (such as a query that does not parse). It is
// 0 for the built-in topic and for an index out of range.
func (c *Config) TopicLine(i int) int {
	if i < 0 || i >= len(c.topicLines) {
		return 0
	}
	return c.topicLines[i]
}

// Source returns the source called name.
func (c *Config) Source(name string) (tidings.Source, bool) {
	i := slices.IndexFunc(c.Sources, func(s tidings.Source) bool { return s.Name == name })
	if i < 0 {
		return tidings.Source{}, false
	}
	return c.Sources[i], true
}

// Topic returns the topic called name, the built-in "all" included.
func (c *Config) Topic(name string) (tidings.Topic, bool) {
	i := slices.IndexFunc(c.Topics, func(t tidings.Topic) bool { return t.Name == name })
	if i < 0 {
		return tidings.Topic{}, false
	}
	return c.Topics[i], true
}

// SourceLine returns the line of the entry of sources[i], or 0 for an index
// out of range.
func (c *Config) SourceLine(i int) int {
	if i < 0 || i >= len(c.sourceLines) {
		return 0
	}
	return c.sourceLines[i]
}

// QueryError returns an Error about the query of topics[i], with the file,
// line and key that the parser would have used, so that `tidings check`
// reports a bad query like any other config problem.
func (c *Config) QueryError(i int, err error) *Error {
	return &Error{File: c.File, Line: c.TopicLine(i), Key: fmt.Sprintf("topics[%d].query", i), Msg: err.Error()}
}

// Error is one problem in a config file. Key is a dotted path with 0-based
// indexes ("fetch.timeout", "sources[1].url", "topics[0].query"); it is empty
// for problems with the file as a whole, such as a YAML syntax error. Line is
// 0 when the YAML parser does not say where.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
}

// Error returns "FILE:LINE: KEY: MSG", leaving out the parts that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a config file, ordered by line.
type Errors []*Error

// Error returns one Error() per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the individual errors, so errors.As finds an *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}
