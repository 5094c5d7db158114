package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/tidings/tidings"
)

// The keys each section allows (DESIGN §1); anything else is an error, so
// that a misspelt key is never silently ignored.
var (
	topKeys     = []string{"storage", "server", "fetch", "sources", "topics", "websub"}
	storageKeys = []string{"path", "retention", "max_items_per_source"}
	serverKeys  = []string{"listen", "admin_listen", "base_url", "admin_token", "watch_config"}
	fetchKeys   = []string{"interval", "concurrency", "per_host", "timeout", "max_body", "user_agent", "deny_private_networks"}
	sourceKeys  = []string{"name", "url", "title", "tags", "interval", "headers", "timezone"}
	topicKeys   = []string{"name", "title", "description", "query", "tags", "sources", "limit", "dedupe"}
)

// maxMergeDepth bounds nested "<<" merge keys; real files use one level.
const maxMergeDepth = 8

// decoder walks the YAML node tree by hand rather than unmarshalling into
// structs, because only the nodes know the line of every key and value, and
// because it lets every problem be reported instead of the first.
type decoder struct {
	file string
	dir  string
	env  func(string) (string, bool)
	errs Errors

	reported map[Error]bool

	// budget is how many more keys and list entries the walk may visit.
	// Aliases let a small file name a huge tree ("billion laughs"), so
	// the walk is bounded by the size of the file rather than of the tree.
	budget    int
	exhausted bool
	merging   map[*yaml.Node]bool // mappings being merged, to catch a "<<" cycle
}

// spend takes n units from the budget, reporting once when it runs out.
func (d *decoder) spend(n int) bool {
	d.budget -= n
	if d.budget >= 0 {
		return true
	}
	if !d.exhausted {
		d.exhausted = true
		d.add(0, "", "the file expands to too much data (anchors or merge keys are repeated too often)")
	}
	return false
}

// ref is a name mentioned by a topic, checked once all sources are known.
type ref struct {
	name string
	key  string
	line int
}

// topicRefs are the references of one topic.
type topicRefs struct {
	sources []ref
	tags    []ref
}

// add records a problem once: a node reached through several aliases or
// merges would otherwise be reported again for each path to it.
func (d *decoder) add(line int, key, format string, args ...any) {
	e := Error{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
	if d.reported[e] {
		return
	}
	if d.reported == nil {
		d.reported = map[Error]bool{}
	}
	d.reported[e] = true
	d.errs = append(d.errs, &e)
}

func (d *decoder) errorf(n *yaml.Node, key, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.add(line, key, format, args...)
}

// sort orders es by line, keeping the order of problems on one line.
func (es Errors) sort() {
	slices.SortStableFunc(es, func(a, b *Error) int { return a.Line - b.Line })
}

// decode turns data into a Config, recording problems in d.errs.
func (d *decoder) decode(data []byte) *Config {
	c := &Config{
		Storage: Storage{Retention: DefaultRetention, MaxItemsPerSource: DefaultMaxItemsPerSource},
		Server:  Server{Listen: DefaultListen, WatchConfig: true},
		Fetch: Fetch{
			Interval: DefaultInterval, Concurrency: DefaultConcurrency, PerHost: DefaultPerHost,
			Timeout: DefaultTimeout, MaxBody: DefaultMaxBody, UserAgent: DefaultUserAgent,
		},
		WebSub: defaultWebSub(),
	}
	var (
		baseURLSet bool
		listenOK   = true
		sources    = map[string]int{} // name → line, of every source that has a name
		tags       = map[string]bool{}
		refs       []topicRefs
	)
	d.budget = 4*len(data) + 10000
	root := d.parse(data)
	if root != nil && !isNull(root) && root.Kind != yaml.MappingNode {
		d.errorf(root, "", "the file must be a YAML mapping with the keys %s, not %s", strings.Join(topKeys, ", "), describe(root))
		return c
	}
	d.fields(root, "", topKeys, func(key string, v *yaml.Node) {
		switch key {
		case "storage":
			d.storage(v, &c.Storage)
		case "server":
			baseURLSet, listenOK = d.server(v, &c.Server)
		case "fetch":
			d.fetch(v, &c.Fetch)
		case "sources":
			d.sources(v, c, sources, tags)
		case "topics":
			refs = d.topics(v, c)
		case "websub":
			d.websub(v, &c.WebSub)
		}
	})

	if c.Storage.Path == "" {
		c.Storage.Path = filepath.Join(d.dir, filepath.FromSlash(DefaultStoragePath))
	}
	if !baseURLSet && listenOK {
		c.Server.BaseURL = defaultBaseURL(c.Server.Listen)
	}
	for _, tr := range refs {
		for _, r := range tr.sources {
			if _, ok := sources[r.name]; !ok {
				d.add(r.line, r.key, "unknown source %q", r.name)
			}
		}
		for _, r := range tr.tags {
			if !tags[r.name] {
				d.add(r.line, r.key, "unknown tag %q (no source has it)", r.name)
			}
		}
	}
	if !slices.ContainsFunc(c.Topics, func(t tidings.Topic) bool { return t.Name == AllTopic }) {
		c.Topics = append(c.Topics, tidings.Topic{
			Name: AllTopic, Title: "All items", Description: "Every item from every source", Limit: DefaultTopicLimit,
		})
	}
	return c
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// parse reads the single YAML document in data. It returns nil for a file
// with no document (empty, or only comments), which is a valid config.
func (d *decoder) parse(data []byte) (root *yaml.Node) {
	defer func() {
		// The YAML library is not ours; a panic on odd input must still
		// come out as a message about the file, not a crash of the daemon.
		if r := recover(); r != nil {
			d.add(0, "", "invalid YAML: %v", r)
			root = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			d.yamlError(data, err)
		}
		return nil
	}
	for {
		// An empty document after the first (a trailing "---") is harmless;
		// any other would be silently ignored, so it is an error.
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			d.yamlError(data, err)
			break
		}
		if !isNull(&extra) {
			d.errorf(&extra, "", "the file holds more than one YAML document (a second \"---\"); put everything in one")
			break
		}
	}
	return deref(&doc)
}

// yamlError records a syntax error, taking the line from the library's
// message and correcting it where the library is known to be off.
func (d *decoder) yamlError(data []byte, err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	d.add(syntaxLine(data, line, msg), "", "invalid YAML: %s", msg)
}

// parserProblems are the messages of the YAML parser (as opposed to its
// scanner). For these yaml/v3 prints the 0-based line of the construct, or
// leaves the line out on the first line; scanner errors get it right.
var parserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

// syntaxLine returns the 1-based line of a YAML syntax error, given the line
// in the library's message (0 if none).
func syntaxLine(data []byte, line int, msg string) int {
	switch {
	case slices.Contains(parserProblems, msg):
		line++
	case line == 0 && strings.HasPrefix(msg, "unknown anchor '"):
		name := strings.TrimSuffix(strings.TrimPrefix(msg, "unknown anchor '"), "' referenced")
		line = lineOf(data, bytes.Index(data, []byte("*"+name)))
	case line == 0:
		// Reader errors (bad bytes) carry no position at all.
		line = lineOf(data, badByte(data))
	case msg == "found a tab character that violates indentation":
		// The library names the line of the scalar before the tab.
		line = tabLine(data, line)
	}
	if n := bytes.Count(data, []byte("\n")) + 1; line > n {
		line = n
	}
	return line
}

// lineOf returns the 1-based line of byte offset i in data, or 0 if i < 0.
func lineOf(data []byte, i int) int {
	if i < 0 {
		return 0
	}
	return bytes.Count(data[:i], []byte("\n")) + 1
}

// badByte returns the offset of the first byte that YAML refuses: invalid
// UTF-8 or a control character other than tab and line breaks; -1 if none.
func badByte(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 || r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f {
			return i
		}
		i += size
	}
	return -1
}

// tabLine returns the first line from line on that is indented with a tab.
func tabLine(data []byte, line int) int {
	for i, l := range bytes.Split(data, []byte("\n")) {
		indent := l[:len(l)-len(bytes.TrimLeft(l, " \t"))]
		if i+1 >= line && bytes.IndexByte(indent, '\t') >= 0 {
			return i + 1
		}
	}
	return line
}

// deref follows aliases and unwraps a document node.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && i < 100; i++ {
		switch {
		case n.Kind == yaml.AliasNode:
			n = n.Alias
		case n.Kind == yaml.DocumentNode && len(n.Content) == 1:
			n = n.Content[0]
		case n.Kind == yaml.DocumentNode:
			return nil
		default:
			return n
		}
	}
	return n
}

// isNull reports whether n is absent or an explicit null (`key:`, `key: ~`),
// which this package treats alike: the key takes its default.
func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || n.Kind == 0 || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node holds, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	n = deref(n)
	switch {
	case isNull(n):
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:37] + "..."
	}
	switch n.ShortTag() {
	case "!!str":
		return fmt.Sprintf("the string %q", v)
	case "!!int", "!!float":
		return "the number " + v
	case "!!bool":
		return "the boolean " + v
	default:
		return fmt.Sprintf("%s %q", n.ShortTag(), v)
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// pair is one key of a mapping with its value.
type pair struct {
	key  string
	k, v *yaml.Node
}

// fields walks the mapping n at path, calling fn for each key whose value is
// not null. known lists the allowed keys; nil allows any key. A null n is an
// empty mapping.
func (d *decoder) fields(n *yaml.Node, path string, known []string, fn func(key string, v *yaml.Node)) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	for _, p := range d.pairs(n, path, 0) {
		if known != nil && !slices.Contains(known, p.key) {
			d.errorf(p.k, join(path, p.key), "unknown key (expected one of: %s)", strings.Join(known, ", "))
			continue
		}
		if !isNull(p.v) {
			fn(p.key, p.v)
		}
	}
}

// pairs lists the keys of mapping n, with "<<" merge keys expanded as YAML
// 1.1 defines them: keys written in n win over merged ones.
func (d *decoder) pairs(n *yaml.Node, path string, depth int) []pair {
	if !d.spend(1 + len(n.Content)/2) {
		return nil
	}
	seen := map[string]int{}
	var own, merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, d.merge(v, path, depth)...)
			continue
		}
		kd := deref(k)
		if kd == nil || kd.Kind != yaml.ScalarNode || isNull(kd) {
			d.errorf(k, path, "keys must be strings, got %s", describe(k))
			continue
		}
		if first, dup := seen[kd.Value]; dup {
			d.errorf(k, join(path, kd.Value), "duplicate key (first at line %d)", first)
			continue
		}
		seen[kd.Value] = k.Line
		own = append(own, pair{kd.Value, k, v})
	}
	for _, p := range merged {
		if _, dup := seen[p.key]; !dup {
			seen[p.key] = p.k.Line
			own = append(own, p)
		}
	}
	return own
}

// merge returns the pairs that a "<<" key with value v brings in.
func (d *decoder) merge(v *yaml.Node, path string, depth int) []pair {
	if !d.spend(1) {
		return nil
	}
	if depth >= maxMergeDepth {
		d.errorf(v, path, "merge keys (<<) nested too deeply")
		return nil
	}
	at := v
	v = deref(v)
	switch {
	case v != nil && v.Kind == yaml.MappingNode:
		return d.mergeOne(at, v, path, depth)
	case v != nil && v.Kind == yaml.SequenceNode:
		var out []pair
		done := map[*yaml.Node]bool{} // merging one mapping twice adds nothing
		for _, e := range v.Content {
			m := deref(e)
			if m == nil || m.Kind != yaml.MappingNode {
				d.errorf(e, path, "a merge key (<<) needs a mapping or a list of mappings, got %s", describe(e))
				continue
			}
			if !done[m] {
				done[m] = true
				out = append(out, d.mergeOne(e, m, path, depth)...)
			}
		}
		return out
	default:
		d.errorf(v, path, "a merge key (<<) needs a mapping or a list of mappings, got %s", describe(v))
		return nil
	}
}

// mergeOne returns the pairs of mapping m, merged at node at.
func (d *decoder) mergeOne(at, m *yaml.Node, path string, depth int) []pair {
	if d.merging[m] {
		d.errorf(at, path, "a merge key (<<) includes the mapping it is in")
		return nil
	}
	if d.merging == nil {
		d.merging = map[*yaml.Node]bool{}
	}
	d.merging[m] = true
	defer delete(d.merging, m)
	return d.pairs(m, path, depth+1)
}

// scalar returns n as a non-null scalar, or records that want was expected.
func (d *decoder) scalar(n *yaml.Node, key, want string) (*yaml.Node, bool) {
	s := deref(n)
	if isNull(s) || s.Kind != yaml.ScalarNode {
		d.errorf(n, key, "expected %s, got %s", want, describe(n))
		return nil, false
	}
	switch tag := s.ShortTag(); tag {
	case "!!str", "!!int", "!!float", "!!bool", "!!timestamp":
		return s, true
	default:
		// A custom tag (!env, !!binary) would change the meaning of the
		// value in a way this package does not implement.
		d.errorf(n, key, "unsupported YAML tag %s (write the value without it)", tag)
		return nil, false
	}
}

// str returns a string value with ${VAR} references expanded. Numbers and
// booleans are taken as written ("title: 1984").
func (d *decoder) str(n *yaml.Node, key string) (string, bool) {
	return d.strEnv(n, key, false)
}

// strEnv is str; with optionalEnv, a value that is nothing but one reference
// to an unset variable is empty instead of an error.
func (d *decoder) strEnv(n *yaml.Node, key string, optionalEnv bool) (string, bool) {
	s, ok := d.scalar(n, key, "a string")
	if !ok {
		return "", false
	}
	if s.ShortTag() != "!!str" {
		return s.Value, true
	}
	out, unset, err := expandEnv(s.Value, d.env)
	if err != nil {
		d.errorf(s, key, "%v", err)
		return "", false
	}
	if len(unset) == 1 && optionalEnv && strings.TrimSpace(s.Value) == "${"+unset[0]+"}" {
		return "", true
	}
	for _, name := range unset {
		d.errorf(s, key, "environment variable %s is not set", name)
	}
	return out, len(unset) == 0
}

// integer returns a whole number in [lo, hi].
func (d *decoder) integer(n *yaml.Node, key string, lo, hi int64) (int, bool) {
	s, ok := d.scalar(n, key, "a whole number")
	if !ok {
		return 0, false
	}
	var i int64
	if s.ShortTag() != "!!int" || s.Decode(&i) != nil {
		d.errorf(n, key, "expected a whole number, got %s", describe(n))
		return 0, false
	}
	switch {
	case hi != math.MaxInt32 && (i < lo || i > hi):
		d.errorf(n, key, "%d is outside %d..%d", i, lo, hi)
		return 0, false
	case i < lo:
		d.errorf(n, key, "must be at least %d, got %d", lo, i)
		return 0, false
	case i > hi:
		d.errorf(n, key, "%d is too large", i)
		return 0, false
	}
	return int(i), true
}

// boolean returns true or false.
func (d *decoder) boolean(n *yaml.Node, key string) (bool, bool) {
	s, ok := d.scalar(n, key, "true or false")
	if !ok {
		return false, false
	}
	var b bool
	if s.ShortTag() != "!!bool" || s.Decode(&b) != nil {
		d.errorf(n, key, "expected true or false, got %s", describe(n))
		return false, false
	}
	return b, true
}

// text returns a scalar that is a string or a number as a string, with
// ${VAR} expanded, for values that are parsed further (durations, sizes).
func (d *decoder) text(n *yaml.Node, key, want string) (string, bool) {
	s, ok := d.scalar(n, key, want)
	if !ok {
		return "", false
	}
	switch s.ShortTag() {
	case "!!str":
		return d.str(s, key)
	case "!!int", "!!float":
		return s.Value, true
	}
	d.errorf(n, key, "expected %s, got %s", want, describe(n))
	return "", false
}

// duration returns a Go duration of at least lo.
func (d *decoder) duration(n *yaml.Node, key string, lo time.Duration) (time.Duration, bool) {
	s, ok := d.text(n, key, "a duration such as 15m")
	if !ok {
		return 0, false
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		d.errorf(n, key, "invalid duration %q (use a Go duration such as 90s, 15m or 720h)", s)
		return 0, false
	}
	if v < lo {
		if lo == 0 {
			d.errorf(n, key, "duration %s must not be negative", s)
		} else {
			d.errorf(n, key, "duration %s is shorter than the minimum %s", s, lo)
		}
		return 0, false
	}
	return v, true
}

// size returns a positive byte size.
func (d *decoder) size(n *yaml.Node, key string) (int64, bool) {
	s, ok := d.text(n, key, "a size such as 10MB")
	if !ok {
		return 0, false
	}
	v, err := parseSize(s)
	if err != nil {
		d.errorf(n, key, "%v", err)
		return 0, false
	}
	if v <= 0 {
		d.errorf(n, key, "size must be more than 0 bytes")
		return 0, false
	}
	return v, true
}

// strList returns a list of non-empty strings, each with its line.
func (d *decoder) strList(n *yaml.Node, key string) ([]ref, bool) {
	s := deref(n)
	if s == nil || s.Kind != yaml.SequenceNode {
		d.errorf(n, key, "expected a list of strings, got %s", describe(n))
		return nil, false
	}
	out := make([]ref, 0, len(s.Content))
	ok := true
	for i, e := range s.Content {
		if !d.spend(1) {
			return nil, false
		}
		k := fmt.Sprintf("%s[%d]", key, i)
		v, good := d.str(e, k)
		if good && strings.TrimSpace(v) == "" {
			d.errorf(e, k, "must not be empty")
			good = false
		}
		if good {
			out = append(out, ref{name: v, key: k, line: e.Line})
		}
		ok = ok && good
	}
	return out, ok
}

func names(rs []ref) []string {
	if len(rs) == 0 {
		return nil
	}
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.name
	}
	return out
}

func (d *decoder) storage(n *yaml.Node, s *Storage) {
	d.fields(n, "storage", storageKeys, func(key string, v *yaml.Node) {
		k := "storage." + key
		switch key {
		case "path":
			if p, ok := d.str(v, k); ok {
				if p == "" {
					d.errorf(v, k, "must not be empty (leave the key out for %s)", DefaultStoragePath)
					return
				}
				s.Path = d.resolve(p)
			}
		case "retention":
			if r, ok := d.duration(v, k, 0); ok {
				s.Retention = r
			}
		case "max_items_per_source":
			if m, ok := d.integer(v, k, 0, math.MaxInt32); ok {
				s.MaxItemsPerSource = m
			}
		}
	})
}

// resolve makes a path from the file absolute against the file's directory.
func (d *decoder) resolve(p string) string {
	p = filepath.FromSlash(p)
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(d.dir, p)
}

// server reports whether base_url was given, and whether listen is usable
// for the default base URL.
func (d *decoder) server(n *yaml.Node, s *Server) (baseURLSet, listenOK bool) {
	listenOK = true
	var adminNode *yaml.Node
	d.fields(n, "server", serverKeys, func(key string, v *yaml.Node) {
		k := "server." + key
		switch key {
		case "listen":
			l, ok := d.str(v, k)
			if ok {
				if err := checkListen(l); err != nil {
					d.errorf(v, k, "%v", err)
					ok = false
				}
			}
			listenOK = ok
			if ok {
				s.Listen = l
			}
		case "admin_listen":
			if l, ok := d.strEnv(v, k, true); ok && l != "" {
				if err := checkListen(l); err != nil {
					d.errorf(v, k, "%v", err)
					return
				}
				s.AdminListen, adminNode = l, v
			}
		case "base_url":
			baseURLSet = true
			if raw, ok := d.str(v, k); ok {
				u, err := baseURL(raw)
				if err != nil {
					d.errorf(v, k, "%v", err)
					return
				}
				s.BaseURL = u
			}
		case "admin_token":
			if t, ok := d.strEnv(v, k, true); ok {
				s.AdminToken = t
			}
		case "watch_config":
			if w, ok := d.boolean(v, k); ok {
				s.WatchConfig = w
			}
		}
	})
	if adminNode != nil && s.AdminListen == s.Listen {
		d.errorf(adminNode, "server.admin_listen", "%s is server.listen too: give the admin endpoints another port, or leave admin_listen out to serve them on listen", s.AdminListen)
	}
	return baseURLSet, listenOK
}

// checkListen accepts HOST:PORT with a numeric port, HOST possibly empty.
func checkListen(l string) error {
	_, port, err := net.SplitHostPort(l)
	if err != nil {
		return fmt.Errorf("invalid address %q (use HOST:PORT such as 127.0.0.1:8080 or :8080)", l)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("invalid port %q in %q (use a number up to 65535)", port, l)
	}
	return nil
}

// defaultBaseURL is the base URL of a server listening on listen; a server
// listening on every interface is reached through localhost.
func defaultBaseURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func (d *decoder) fetch(n *yaml.Node, f *Fetch) {
	d.fields(n, "fetch", fetchKeys, func(key string, v *yaml.Node) {
		k := "fetch." + key
		switch key {
		case "interval":
			if i, ok := d.duration(v, k, MinInterval); ok {
				f.Interval = i
			}
		case "concurrency":
			if c, ok := d.integer(v, k, 1, math.MaxInt32); ok {
				f.Concurrency = c
			}
		case "per_host":
			if p, ok := d.integer(v, k, 1, math.MaxInt32); ok {
				f.PerHost = p
			}
		case "timeout":
			if t, ok := d.duration(v, k, time.Millisecond); ok {
				f.Timeout = t
			}
		case "max_body":
			if m, ok := d.size(v, k); ok {
				f.MaxBody = m
			}
		case "user_agent":
			if ua, ok := d.str(v, k); ok {
				switch {
				case strings.TrimSpace(ua) == "":
					d.errorf(v, k, "must not be empty (leave the key out for the default)")
				case hasControl(ua):
					d.errorf(v, k, "must not contain control characters")
				default:
					f.UserAgent = ua
				}
			}
		case "deny_private_networks":
			if b, ok := d.boolean(v, k); ok {
				f.DenyPrivateNetworks = b
			}
		}
	})
}

// sources reads the source list into c, recording every name with its line
// and every tag for the topics' references.
func (d *decoder) sources(n *yaml.Node, c *Config, seen map[string]int, tags map[string]bool) {
	list := deref(n)
	if list == nil || list.Kind != yaml.SequenceNode {
		d.errorf(n, "sources", "expected a list of sources, got %s", describe(n))
		return
	}
	for i, e := range list.Content {
		if !d.spend(1) {
			return
		}
		path := fmt.Sprintf("sources[%d]", i)
		if m := deref(e); isNull(m) || m.Kind != yaml.MappingNode {
			d.errorf(e, path, "expected a mapping with at least name and url, got %s", describe(e))
			continue
		}
		var (
			src      tidings.Source
			nameNode *yaml.Node
			hasURL   bool
		)
		d.fields(e, path, sourceKeys, func(key string, v *yaml.Node) {
			k := path + "." + key
			switch key {
			case "name":
				nameNode = v
				if s, ok := d.name(v, k); ok {
					src.Name = s
				}
			case "url":
				hasURL = true
				if s, ok := d.str(v, k); ok {
					u, err := sourceURL(s, d.dir)
					if err != nil {
						d.errorf(v, k, "%v", err)
						return
					}
					src.URL = u
				}
			case "title":
				if s, ok := d.str(v, k); ok {
					src.Title = s
				}
			case "tags":
				if rs, ok := d.strList(v, k); ok {
					src.Tags = names(rs)
				}
			case "interval":
				if iv, ok := d.duration(v, k, MinInterval); ok {
					src.Interval = iv
				}
			case "headers":
				src.Headers = d.headers(v, k)
			case "timezone":
				if s, ok := d.str(v, k); ok {
					if s == "" {
						d.errorf(v, k, "must not be empty (leave the key out for none)")
					} else if _, err := time.LoadLocation(s); err != nil {
						d.errorf(v, k, "unknown time zone %q (use an IANA name such as America/Mexico_City)", s)
					} else {
						src.Timezone = s
					}
				}
			}
		})
		if nameNode == nil {
			d.errorf(e, path+".name", "missing: every source needs a name (a slug such as wsws)")
		} else if src.Name != "" {
			if first, dup := seen[src.Name]; dup {
				d.errorf(entryNode(e, nameNode), path+".name", "duplicate source name %q (first at line %d)", src.Name, first)
			} else {
				seen[src.Name] = entryNode(e, nameNode).Line
			}
		}
		if !hasURL {
			d.errorf(e, path+".url", "missing: every source needs a url (https://..., http://... or file://...)")
		}
		for _, t := range src.Tags {
			tags[t] = true
		}
		c.Sources = append(c.Sources, src)
		c.sourceLines = append(c.sourceLines, deref(e).Line)
	}
}

// entryNode is the node to blame for a list entry's name: the name itself,
// unless the whole entry is an alias (`- *other`), whose own line tells the
// entries apart.
func entryNode(entry, name *yaml.Node) *yaml.Node {
	if entry.Kind == yaml.AliasNode {
		return entry
	}
	return name
}

// headers reads a source's extra request headers.
func (d *decoder) headers(n *yaml.Node, key string) map[string]string {
	h := map[string]string{}
	d.fields(n, key, nil, func(name string, v *yaml.Node) {
		k := key + "." + name
		if !isHeaderName(name) {
			d.errorf(v, k, "%q is not a valid HTTP header name", name)
			return
		}
		s, ok := d.str(v, k)
		if !ok {
			return
		}
		if hasControl(s) {
			d.errorf(v, k, "header value must not contain control characters")
			return
		}
		h[name] = s
	})
	if len(h) == 0 {
		return nil
	}
	return h
}

// topics reads the topic list into c and returns the sources and tags each
// topic names, to be checked once the whole file has been read.
func (d *decoder) topics(n *yaml.Node, c *Config) []topicRefs {
	list := deref(n)
	if list == nil || list.Kind != yaml.SequenceNode {
		d.errorf(n, "topics", "expected a list of topics, got %s", describe(n))
		return nil
	}
	seen := map[string]int{}
	var refs []topicRefs
	for i, e := range list.Content {
		if !d.spend(1) {
			return refs
		}
		path := fmt.Sprintf("topics[%d]", i)
		if m := deref(e); isNull(m) || m.Kind != yaml.MappingNode {
			d.errorf(e, path, "expected a mapping with at least a name, got %s", describe(e))
			continue
		}
		t := tidings.Topic{Limit: DefaultTopicLimit}
		var (
			tr        topicRefs
			nameNode  *yaml.Node
			queryLine int
			hasTitle  bool
		)
		d.fields(e, path, topicKeys, func(key string, v *yaml.Node) {
			k := path + "." + key
			switch key {
			case "name":
				nameNode = v
				if s, ok := d.name(v, k); ok {
					t.Name = s
				}
			case "title":
				if s, ok := d.str(v, k); ok {
					t.Title, hasTitle = s, true
				}
			case "description":
				if s, ok := d.str(v, k); ok {
					t.Description = s
				}
			case "query":
				queryLine = deref(v).Line
				if s, ok := d.str(v, k); ok {
					t.Query = s
				}
			case "tags":
				if rs, ok := d.strList(v, k); ok {
					t.Tags, tr.tags = names(rs), rs
				}
			case "sources":
				if rs, ok := d.strList(v, k); ok {
					t.Sources, tr.sources = names(rs), rs
				}
			case "limit":
				if l, ok := d.integer(v, k, 1, MaxTopicLimit); ok {
					t.Limit = l
				}
			case "dedupe":
				if s, ok := d.str(v, k); ok {
					switch s {
					case tidings.DedupeStrict, tidings.DedupeLinks, tidings.DedupeOff:
						t.Dedupe = s
					default:
						d.errorf(v, k, "%q is not one of strict, links, off", s)
					}
				}
			}
		})
		if nameNode == nil {
			d.errorf(e, path+".name", "missing: every topic needs a name (a slug such as mexico)")
		} else if t.Name != "" {
			if first, dup := seen[t.Name]; dup {
				d.errorf(entryNode(e, nameNode), path+".name", "duplicate topic name %q (first at line %d)", t.Name, first)
			} else {
				seen[t.Name] = entryNode(e, nameNode).Line
			}
		}
		if !hasTitle || strings.TrimSpace(t.Title) == "" {
			t.Title = t.Name
		}
		if queryLine == 0 {
			queryLine = deref(e).Line
		}
		c.Topics = append(c.Topics, t)
		c.topicLines = append(c.topicLines, queryLine)
		refs = append(refs, tr)
	}
	return refs
}

// name reads the name of a source or topic: a string that is a slug, since
// it goes into URLs and store keys.
func (d *decoder) name(v *yaml.Node, key string) (string, bool) {
	s, ok := d.str(v, key)
	if ok && !isSlug(s) {
		d.errorf(v, key, "%q is not a slug (use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit)", s)
	}
	return s, ok
}
