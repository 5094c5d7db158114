package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // timezone tests must not depend on the machine's zoneinfo

	"github.com/tidings/tidings"
)

// env returns a lookup function over a fixed set of variables.
func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

// fileURLOf is the URL Parse should give for a file under dir.
func fileURLOf(dir string, elem ...string) string {
	p := filepath.ToSlash(filepath.Join(append([]string{dir}, elem...)...))
	return (&url.URL{Scheme: "file", Path: p}).String()
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestLoadFull loads the example of DESIGN §1 and checks every value.
func TestLoadFull(t *testing.T) {
	t.Setenv("WSWS_TOKEN", "s3cret")
	t.Setenv("TIDINGS_ADMIN_TOKEN", "admin")
	path := filepath.Join("testdata", "full.yaml")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := mustAbs(t, "testdata")
	want := &Config{
		File: path,
		Dir:  dir,
		Storage: Storage{
			Path:              filepath.Join(dir, "data", "tidings.db"),
			Retention:         720 * time.Hour,
			MaxItemsPerSource: 2000,
		},
		Server: Server{
			Listen:      "127.0.0.1:8080",
			BaseURL:     "http://localhost:8080",
			AdminToken:  "admin",
			WatchConfig: true,
		},
		Fetch: Fetch{
			Interval:    15 * time.Minute,
			Concurrency: 16,
			PerHost:     2,
			Timeout:     30 * time.Second,
			MaxBody:     10 << 20,
			UserAgent:   "Tidings/1.0 (+https://example.org/tidings)",
		},
		WebSub: WebSub{Hub: true, MaxSubscriptions: 1000, Lease: 240 * time.Hour},
		Sources: []tidings.Source{
			{
				Name:     "wsws",
				URL:      "https://www.wsws.org/en/rss.xml",
				Title:    "World Socialist Web Site",
				Tags:     []string{"world", "americas"},
				Interval: 30 * time.Minute,
				Headers:  map[string]string{"Authorization": "Bearer s3cret"},
			},
			{
				Name: "local-bulletin",
				URL:  fileURLOf(dir, "feeds", "bulletin.xml"),
			},
		},
		Topics: []tidings.Topic{
			{
				Name:        "mexico",
				Title:       "Mexico and the Americas",
				Description: "US–Mexico relations, trade and security",
				Query:       `mexico OR sheinbaum OR usmca OR "latin america"`,
				Tags:        []string{"americas"},
				Sources:     []string{"wsws"},
				Limit:       50,
			},
			{Name: "all", Title: "All items", Description: "Every item from every source", Limit: 50},
		},
		sourceLines: []int{21, 27},
		topicLines:  []int{34},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load(%s) =\n%+v\nwant\n%+v", path, c, want)
	}
	if got := c.TopicLine(0); got != 34 {
		t.Errorf("TopicLine(0) = %d, want 34 (the query line)", got)
	}
	if got := c.TopicLine(1); got != 0 {
		t.Errorf("TopicLine(1) for the built-in topic = %d, want 0", got)
	}
	if got := c.SourceLine(1); got != 27 {
		t.Errorf("SourceLine(1) = %d, want 27", got)
	}
}

func TestDefaults(t *testing.T) {
	const file = "/srv/tidings/tidings.yaml"
	base := Config{
		File: file,
		Dir:  filepath.Dir(file),
		Storage: Storage{
			Path:              filepath.FromSlash("/srv/tidings/data/tidings.db"),
			Retention:         720 * time.Hour,
			MaxItemsPerSource: 2000,
		},
		Server: Server{Listen: "127.0.0.1:8080", BaseURL: "http://127.0.0.1:8080", WatchConfig: true},
		Fetch: Fetch{
			Interval: 15 * time.Minute, Concurrency: 16, PerHost: 2, Timeout: 30 * time.Second,
			MaxBody: 10 << 20, UserAgent: "Tidings/" + tidings.Version + " (+https://github.com/tidings/tidings)",
		},
		WebSub: WebSub{Hub: true, MaxSubscriptions: 1000, Lease: 240 * time.Hour},
		Topics: []tidings.Topic{{Name: "all", Title: "All items", Description: "Every item from every source", Limit: 50}},
	}
	tests := map[string]struct {
		yaml   string
		modify func(c *Config)
	}{
		"empty file":    {yaml: "", modify: func(*Config) {}},
		"only comments": {yaml: "# nothing here yet\n", modify: func(*Config) {}},
		"null document": {yaml: "~\n", modify: func(*Config) {}},
		"empty sections": {
			yaml:   "storage:\nserver:\nfetch:\nsources:\ntopics: []\n",
			modify: func(*Config) {},
		},
		"listen on every interface": {
			yaml: "server: {listen: ':9090'}\n",
			modify: func(c *Config) {
				c.Server.Listen = ":9090"
				c.Server.BaseURL = "http://localhost:9090"
			},
		},
		"listen on unspecified IPv6": {
			yaml: "server: {listen: '[::]:9090'}\n",
			modify: func(c *Config) {
				c.Server.Listen = "[::]:9090"
				c.Server.BaseURL = "http://localhost:9090"
			},
		},
		"base_url loses its trailing slash": {
			yaml:   "server: {base_url: 'https://news.example.org/tidings/'}\n",
			modify: func(c *Config) { c.Server.BaseURL = "https://news.example.org/tidings" },
		},
		"zero retention keeps forever, zero max items is unlimited": {
			yaml: "storage: {retention: 0, max_items_per_source: 0}\n",
			modify: func(c *Config) {
				c.Storage.Retention = 0
				c.Storage.MaxItemsPerSource = 0
			},
		},
		"absolute storage path": {
			yaml:   "storage: {path: /var/lib/tidings/x.db}\n",
			modify: func(c *Config) { c.Storage.Path = filepath.FromSlash("/var/lib/tidings/x.db") },
		},
		"sizes": {
			yaml:   "fetch: {max_body: 512KB}\n",
			modify: func(c *Config) { c.Fetch.MaxBody = 512 << 10 },
		},
		"size in bytes": {
			yaml:   "fetch: {max_body: 1024}\n",
			modify: func(c *Config) { c.Fetch.MaxBody = 1024 },
		},
		"watch_config off": {
			yaml:   "server: {watch_config: false}\n",
			modify: func(c *Config) { c.Server.WatchConfig = false },
		},
		"topic defaults": {
			yaml: "topics:\n  - name: everything\n",
			modify: func(c *Config) {
				c.Topics = append([]tidings.Topic{{Name: "everything", Title: "everything", Limit: 50}}, c.Topics...)
				c.topicLines = []int{2}
			},
		},
		"a topic named all replaces the built-in one": {
			yaml: "topics:\n  - name: all\n    title: Everything\n    limit: 500\n",
			modify: func(c *Config) {
				c.Topics = []tidings.Topic{{Name: "all", Title: "Everything", Limit: 500}}
				c.topicLines = []int{2}
			},
		},
		"source with no tags and a timezone": {
			yaml: "sources:\n  - name: a\n    url: http://a.example/rss\n    timezone: America/Mexico_City\n",
			modify: func(c *Config) {
				c.Sources = []tidings.Source{{Name: "a", URL: "http://a.example/rss", Timezone: "America/Mexico_City"}}
				c.sourceLines = []int{2}
			},
		},
		"merge keys and anchors": {
			yaml: "sources:\n  - &a {name: a, url: 'http://a.example/rss', tags: [x], interval: 1h}\n" +
				"  - <<: *a\n    name: b\n",
			modify: func(c *Config) {
				c.Sources = []tidings.Source{
					{Name: "a", URL: "http://a.example/rss", Tags: []string{"x"}, Interval: time.Hour},
					{Name: "b", URL: "http://a.example/rss", Tags: []string{"x"}, Interval: time.Hour},
				}
				c.sourceLines = []int{2, 3}
			},
		},
		"numbers and dates taken as written": {
			yaml: "sources:\n  - {name: 2024-01-01, url: 'http://a.example/', title: 1984, tags: [2026, true]}\n",
			modify: func(c *Config) {
				c.Sources = []tidings.Source{{Name: "2024-01-01", URL: "http://a.example/", Title: "1984", Tags: []string{"2026", "true"}}}
				c.sourceLines = []int{2}
			},
		},
		"trailing document marker": {
			yaml:   "fetch: {per_host: 4}\n---\n",
			modify: func(c *Config) { c.Fetch.PerHost = 4 },
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := Parse(file, []byte(tc.yaml), nil)
			if err != nil {
				t.Fatal(err)
			}
			want := base
			want.Topics = append([]tidings.Topic(nil), base.Topics...)
			tc.modify(&want)
			if !reflect.DeepEqual(c, &want) {
				t.Errorf("got\n%+v\nwant\n%+v", c, &want)
			}
		})
	}
}

// TestErrors checks that each kind of problem is reported with the file,
// line, key and message a user needs to fix it.
func TestErrors(t *testing.T) {
	for name, tc := range errorCases {
		t.Run(name, func(t *testing.T) {
			c, err := Parse("t.yaml", []byte(tc.yaml), env(map[string]string{"SET": "x"}))
			if err == nil {
				t.Fatalf("no error, got %+v", c)
			}
			if c != nil {
				t.Errorf("got a config together with the error")
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T is not Errors: %v", err, err)
			}
			got := strings.Split(err.Error(), "\n")
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// errorCases are shared with FuzzParse as seeds.
var errorCases = map[string]struct {
	yaml string
	want []string
}{
	"syntax error": {
		yaml: "fetch:\n  interval: 15m\n  timeout: [30s\n",
		want: []string{`t.yaml:3: invalid YAML: did not find expected ',' or ']'`},
	},
	"tab indentation": {
		yaml: "fetch:\n  interval: 15m\n\ttimeout: 30s\n",
		want: []string{`t.yaml:3: invalid YAML: found a tab character that violates indentation`},
	},
	"not a mapping": {
		yaml: "- name: wsws\n",
		want: []string{`t.yaml:1: the file must be a YAML mapping with the keys storage, server, fetch, sources, topics, websub, not a list`},
	},
	"scalar document": {
		yaml: "hello\n",
		want: []string{`t.yaml:1: the file must be a YAML mapping with the keys storage, server, fetch, sources, topics, websub, not the string "hello"`},
	},
	"two documents": {
		yaml: "fetch: {}\n---\nfetch: {}\n",
		want: []string{`t.yaml:2: the file holds more than one YAML document (a second "---"); put everything in one`},
	},
	"unknown top-level key": {
		yaml: "fetch: {}\nsource:\n  - name: a\n",
		want: []string{`t.yaml:2: source: unknown key (expected one of: storage, server, fetch, sources, topics, websub)`},
	},
	"unknown nested key": {
		yaml: "sources:\n  - name: a\n    url: http://a.example/\n    tag: [x]\n",
		want: []string{`t.yaml:4: sources[0].tag: unknown key (expected one of: name, url, title, tags, interval, headers, timezone)`},
	},
	"duplicate key": {
		yaml: "fetch:\n  timeout: 10s\n  timeout: 20s\n",
		want: []string{`t.yaml:3: fetch.timeout: duplicate key (first at line 2)`},
	},
	"string for an integer": {
		yaml: "fetch:\n  concurrency: many\n",
		want: []string{`t.yaml:2: fetch.concurrency: expected a whole number, got the string "many"`},
	},
	"quoted number for an integer": {
		yaml: "fetch:\n  per_host: \"2\"\n",
		want: []string{`t.yaml:2: fetch.per_host: expected a whole number, got the string "2"`},
	},
	"integer out of range": {
		yaml: "fetch:\n  concurrency: 0\n  per_host: -1\n",
		want: []string{
			`t.yaml:2: fetch.concurrency: must be at least 1, got 0`,
			`t.yaml:3: fetch.per_host: must be at least 1, got -1`,
		},
	},
	"map for tags": {
		yaml: "sources:\n  - name: a\n    url: http://a.example/\n    tags: {world: yes}\n",
		want: []string{`t.yaml:4: sources[0].tags: expected a list of strings, got a mapping`},
	},
	"string for tags": {
		yaml: "sources:\n  - name: a\n    url: http://a.example/\n    tags: world\n",
		want: []string{`t.yaml:4: sources[0].tags: expected a list of strings, got the string "world"`},
	},
	"list inside tags": {
		yaml: "sources:\n  - name: a\n    url: http://a.example/\n    tags:\n      - x\n      - [y]\n",
		want: []string{`t.yaml:6: sources[0].tags[1]: expected a string, got a list`},
	},
	"section of the wrong type": {
		yaml: "fetch: 5\nsources: {name: a}\ntopics: mexico\n",
		want: []string{
			`t.yaml:1: fetch: expected a mapping, got the number 5`,
			`t.yaml:2: sources: expected a list of sources, got a mapping`,
			`t.yaml:3: topics: expected a list of topics, got the string "mexico"`,
		},
	},
	"source entry not a mapping": {
		yaml: "sources:\n  - https://a.example/rss\n",
		want: []string{`t.yaml:2: sources[0]: expected a mapping with at least name and url, got the string "https://a.example/rss"`},
	},
	"boolean": {
		yaml: "server:\n  watch_config: sometimes\n",
		want: []string{`t.yaml:2: server.watch_config: expected true or false, got the string "sometimes"`},
	},
	"bad durations": {
		yaml: "storage:\n  retention: -1h\nfetch:\n  interval: 5 minutes\n  timeout: 30\n" +
			"sources:\n  - name: a\n    url: http://a.example/\n    interval: 10ms\n",
		want: []string{
			`t.yaml:2: storage.retention: duration -1h must not be negative`,
			`t.yaml:4: fetch.interval: invalid duration "5 minutes" (use a Go duration such as 90s, 15m or 720h)`,
			`t.yaml:5: fetch.timeout: invalid duration "30" (use a Go duration such as 90s, 15m or 720h)`,
			`t.yaml:9: sources[0].interval: duration 10ms is shorter than the minimum 1s`,
		},
	},
	"bad sizes": {
		yaml: "fetch:\n  max_body: 10 parsecs\n---\n",
		want: []string{`t.yaml:2: fetch.max_body: invalid size "10 parsecs" (use a whole number of bytes or a size such as 512KB, 10MB, 1GB)`},
	},
	"zero size": {
		yaml: "fetch:\n  max_body: 0MB\n",
		want: []string{`t.yaml:2: fetch.max_body: size must be more than 0 bytes`},
	},
	"bad source URLs": {
		yaml: "sources:\n" +
			"  - {name: a, url: 'ftp://a.example/rss'}\n" +
			"  - {name: b, url: 'a.example/rss'}\n" +
			"  - {name: c, url: 'https:///rss'}\n" +
			"  - {name: d, url: 'http://a b.example/'}\n" +
			"  - {name: e, url: 'file:feeds/x.xml'}\n" +
			"  - {name: f, url: 'file://'}\n",
		want: []string{
			`t.yaml:2: sources[0].url: unsupported URL scheme "ftp" in "ftp://a.example/rss" (use http, https or file)`,
			`t.yaml:3: sources[1].url: URL "a.example/rss" is not absolute (start it with https://, http:// or file://)`,
			`t.yaml:4: sources[2].url: URL "https:///rss" has no host`,
			`t.yaml:5: sources[3].url: invalid URL "http://a b.example/": invalid character " " in host name`,
			`t.yaml:6: sources[4].url: file URL "file:feeds/x.xml" must start with file://`,
			`t.yaml:7: sources[5].url: file URL "file://" names no file`,
		},
	},
	"bad base_url and listen": {
		yaml: "server:\n  listen: localhost\n  base_url: /news\n",
		want: []string{
			`t.yaml:2: server.listen: invalid address "localhost" (use HOST:PORT such as 127.0.0.1:8080 or :8080)`,
			`t.yaml:3: server.base_url: "/news" is not an absolute http:// or https:// URL`,
		},
	},
	"base_url with a query": {
		yaml: "server:\n  base_url: https://x.example/?a=b\n",
		want: []string{`t.yaml:2: server.base_url: "https://x.example/?a=b" must not have a query or fragment`},
	},
	"bad port": {
		yaml: "server:\n  listen: ':http'\n",
		want: []string{`t.yaml:2: server.listen: invalid port "http" in ":http" (use a number up to 65535)`},
	},
	"missing source name and url": {
		yaml: "sources:\n  - title: Nameless\n  - name: a\n",
		want: []string{
			`t.yaml:2: sources[0].name: missing: every source needs a name (a slug such as wsws)`,
			`t.yaml:2: sources[0].url: missing: every source needs a url (https://..., http://... or file://...)`,
			`t.yaml:3: sources[1].url: missing: every source needs a url (https://..., http://... or file://...)`,
		},
	},
	"null name is missing": {
		yaml: "sources:\n  - name:\n    url: http://a.example/\n",
		want: []string{`t.yaml:2: sources[0].name: missing: every source needs a name (a slug such as wsws)`},
	},
	"names that are not slugs": {
		yaml: "sources:\n  - {name: WSWS, url: 'http://a.example/'}\n  - {name: -x, url: 'http://a.example/'}\n" +
			"topics:\n  - name: mexico news\n",
		want: []string{
			`t.yaml:2: sources[0].name: "WSWS" is not a slug (use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit)`,
			`t.yaml:3: sources[1].name: "-x" is not a slug (use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit)`,
			`t.yaml:5: topics[0].name: "mexico news" is not a slug (use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit)`,
		},
	},
	"duplicate source name": {
		yaml: "sources:\n  - name: wsws\n    url: http://a.example/\n  - name: other\n    url: http://b.example/\n" +
			"  - name: wsws\n    url: http://c.example/\n",
		want: []string{`t.yaml:6: sources[2].name: duplicate source name "wsws" (first at line 2)`},
	},
	"duplicate source through an alias": {
		yaml: "sources:\n  - &s {name: a, url: 'http://a.example/'}\n  - *s\n",
		want: []string{`t.yaml:3: sources[1].name: duplicate source name "a" (first at line 2)`},
	},
	"duplicate topic name": {
		yaml: "topics:\n  - name: mexico\n  - name: sport\n  - name: mexico\n    title: Again\n",
		want: []string{`t.yaml:4: topics[2].name: duplicate topic name "mexico" (first at line 2)`},
	},
	"topic names unknown source and tag": {
		yaml: "topics:\n  - name: t\n    sources: [a, nope]\n    tags:\n      - world\n      - nowhere\n" +
			"sources:\n  - name: a\n    url: http://a.example/\n    tags: [world]\n",
		want: []string{
			`t.yaml:3: topics[0].sources[1]: unknown source "nope"`,
			`t.yaml:6: topics[0].tags[1]: unknown tag "nowhere" (no source has it)`,
		},
	},
	"topic limit out of range": {
		yaml: "topics:\n  - name: a\n    limit: 0\n  - name: b\n    limit: 501\n",
		want: []string{
			`t.yaml:3: topics[0].limit: 0 is outside 1..500`,
			`t.yaml:5: topics[1].limit: 501 is outside 1..500`,
		},
	},
	"missing topic name": {
		yaml: "topics:\n  - title: Nameless\n",
		want: []string{`t.yaml:2: topics[0].name: missing: every topic needs a name (a slug such as mexico)`},
	},
	"unknown timezone": {
		yaml: "sources:\n  - name: a\n    url: http://a.example/\n    timezone: Mars/Olympus\n",
		want: []string{`t.yaml:4: sources[0].timezone: unknown time zone "Mars/Olympus" (use an IANA name such as America/Mexico_City)`},
	},
	"bad headers": {
		yaml: "sources:\n  - name: a\n    url: http://a.example/\n    headers:\n      Bad Name: x\n      X-Ok: [1]\n",
		want: []string{
			`t.yaml:5: sources[0].headers.Bad Name: "Bad Name" is not a valid HTTP header name`,
			`t.yaml:6: sources[0].headers.X-Ok: expected a string, got a list`,
		},
	},
	"header value with a newline": {
		yaml: "sources:\n  - name: a\n    url: http://a.example/\n    headers: {X-A: \"1\\r\\nX-B: 2\"}\n",
		want: []string{`t.yaml:4: sources[0].headers.X-A: header value must not contain control characters`},
	},
	"unset environment variable": {
		yaml: "sources:\n  - name: wsws\n    url: https://a.example/\n    headers: {Authorization: \"Bearer ${WSWS_TOKEN}\"}\n",
		want: []string{`t.yaml:4: sources[0].headers.Authorization: environment variable WSWS_TOKEN is not set`},
	},
	"unset variable inside an admin token": {
		yaml: "server:\n  admin_token: abc${NOPE}\n",
		want: []string{`t.yaml:2: server.admin_token: environment variable NOPE is not set`},
	},
	"bad variable references": {
		yaml: "sources:\n  - name: a\n    url: https://a.example/${SET\n    title: ${not a name}\n",
		want: []string{
			`t.yaml:3: sources[0].url: unterminated "${" (write "$${" for a literal "${")`,
			`t.yaml:4: sources[0].title: invalid environment variable name "not a name" in "${not a name}"`,
		},
	},
	"merge of a scalar": {
		yaml: "fetch:\n  <<: 5\n",
		want: []string{`t.yaml:2: fetch: a merge key (<<) needs a mapping or a list of mappings, got the number 5`},
	},
	"durations of the wrong type": {
		yaml: "fetch:\n  timeout: [30s]\n  interval: true\n",
		want: []string{
			`t.yaml:2: fetch.timeout: expected a duration such as 15m, got a list`,
			`t.yaml:3: fetch.interval: expected a duration such as 15m, got the boolean true`,
		},
	},
	"huge integer": {
		yaml: "storage:\n  max_items_per_source: 99999999999\n",
		want: []string{`t.yaml:2: storage.max_items_per_source: 99999999999 is too large`},
	},
	"file URL with a fragment": {
		yaml: "sources:\n  - {name: a, url: 'file://x.xml#y'}\n",
		want: []string{`t.yaml:2: sources[0].url: file URL "file://x.xml#y" must not have a query or fragment (write %3F or %23 for ? or # in a file name)`},
	},
	"custom tag": {
		yaml: "sources:\n  - name: a\n    url: !env FEED_URL\n",
		want: []string{`t.yaml:3: sources[0].url: unsupported YAML tag !env (write the value without it)`},
	},
	"empty strings": {
		yaml: "storage: {path: ''}\nfetch: {user_agent: ''}\nsources:\n  - {name: a, url: 'http://a.example/', tags: ['']}\n",
		want: []string{
			`t.yaml:1: storage.path: must not be empty (leave the key out for data/tidings.db)`,
			`t.yaml:2: fetch.user_agent: must not be empty (leave the key out for the default)`,
			`t.yaml:4: sources[0].tags[0]: must not be empty`,
		},
	},
}

// TestFixtures loads the other valid files of testdata.
func TestFixtures(t *testing.T) {
	dir := mustAbs(t, "testdata")
	tests := map[string]struct {
		file    string
		sources []tidings.Source
		topics  []string
	}{
		"minimal": {
			file:    "minimal.yaml",
			sources: []tidings.Source{{Name: "bulletin", URL: fileURLOf(dir, "feeds", "bulletin.xml")}},
			topics:  []string{"all"},
		},
		"anchors": {
			file: "anchors.yaml",
			sources: []tidings.Source{
				{Name: "one", URL: "https://one.example/feed", Tags: []string{"news"}, Interval: time.Hour},
				{Name: "two", URL: "https://two.example/feed", Tags: []string{"news"}, Interval: time.Hour},
			},
			topics: []string{"news", "all"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := Load(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Sources, tc.sources) {
				t.Errorf("sources = %+v, want %+v", c.Sources, tc.sources)
			}
			var topics []string
			for _, tp := range c.Topics {
				topics = append(topics, tp.Name)
			}
			if !reflect.DeepEqual(topics, tc.topics) {
				t.Errorf("topics = %v, want %v", topics, tc.topics)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	yaml := "sources:\n  - {name: a, url: 'http://a.example/'}\n  - {name: b, url: 'http://b.example/'}\n" +
		"topics:\n  - name: t\n    sources: [b]\n"
	c, err := Parse("t.yaml", []byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		find   func() (string, bool)
		want   string
		wantOK bool
	}{
		"source":         {find: func() (string, bool) { s, ok := c.Source("b"); return s.URL, ok }, want: "http://b.example/", wantOK: true},
		"unknown source": {find: func() (string, bool) { s, ok := c.Source("t"); return s.URL, ok }},
		"topic":          {find: func() (string, bool) { tp, ok := c.Topic("t"); return tp.Title, ok }, want: "t", wantOK: true},
		"built-in topic": {find: func() (string, bool) { tp, ok := c.Topic("all"); return tp.Title, ok }, want: "All items", wantOK: true},
		"unknown topic":  {find: func() (string, bool) { tp, ok := c.Topic("a"); return tp.Title, ok }},
		"source line":    {find: func() (string, bool) { return fmt.Sprint(c.SourceLine(1)), true }, want: "3", wantOK: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := tc.find()
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("got %q, %v; want %q, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// TestSyntaxErrorLines checks the line of YAML syntax errors, where the
// library's own numbers are off for parser errors and missing for bad bytes.
func TestSyntaxErrorLines(t *testing.T) {
	tests := map[string]struct {
		yaml string
		want string
	}{
		"unclosed flow list":        {"a: 1\nb: [x\n", "t.yaml:2: invalid YAML: did not find expected ',' or ']'"},
		"unclosed flow mapping":     {"a: 1\nb: {x\n", "t.yaml:2: invalid YAML: did not find expected ',' or '}'"},
		"unclosed on the only line": {"v: [A,", "t.yaml:1: invalid YAML: did not find expected node content"},
		"bad dedent":                {"a:\n  b: 1\n c: 2\n", "t.yaml:3: invalid YAML: did not find expected key"},
		"list item in a mapping":    {"a: 1\nb: 2\n- c\n", "t.yaml:3: invalid YAML: did not find expected key"},
		"mapping in a list":         {"- a\nb: 1\n", "t.yaml:2: invalid YAML: did not find expected '-' indicator"},
		"over-indented key":         {"a: 1\nb: 2\n  c: 3\n", "t.yaml:3: invalid YAML: mapping values are not allowed in this context"},
		"unterminated quote":        {"a: 1\nb: 2\nc: 'x\n", "t.yaml:3: invalid YAML: found unexpected end of stream"},
		"tab indentation":           {"a: 1\nb: 2\n\tc: 3\n", "t.yaml:3: invalid YAML: found a tab character that violates indentation"},
		"bad token":                 {"a: 1\nb: @x\n", "t.yaml:2: invalid YAML: found character that cannot start any token"},
		"undefined tag handle":      {"a: 1\nb: !x!y z\n", "t.yaml:2: invalid YAML: found undefined tag handle"},
		"unknown anchor":            {"fetch: {}\nsources:\n  - *nope\n", "t.yaml:3: invalid YAML: unknown anchor 'nope' referenced"},
		"control character":         {"a: 1\nb: 2\nc: \x01\n", "t.yaml:3: invalid YAML: control characters are not allowed"},
		"invalid UTF-8":             {"a: 1\nb: \xff\n", "t.yaml:2: invalid YAML: invalid leading UTF-8 octet"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.yaml), nil)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %s", err, tc.want)
			}
		})
	}
}

// TestAliasBomb checks that anchors and merge keys cannot make a small file
// take unbounded time or produce unbounded errors.
func TestAliasBomb(t *testing.T) {
	tests := map[string]struct {
		yaml string
		want string
	}{
		"merge of itself": {
			yaml: "fetch: &a {<<: [*a, *a]}\n",
			want: "t.yaml:1: fetch: a merge key (<<) includes the mapping it is in",
		},
		"layers of merges": {
			yaml: mergeBomb(5, 8),
			want: "t.yaml: the file expands to too much data (anchors or merge keys are repeated too often)",
		},
		"aliases of a long list": {
			yaml: "sources:\n  - &s {name: a, url: 'http://a/', tags: [" + strings.Repeat("t,", 2000) + "t]}\n" +
				strings.Repeat("  - *s\n", 2000),
			want: "t.yaml: the file expands to too much data (anchors or merge keys are repeated too often)",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.yaml), nil)
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %v, want Errors", err)
			}
			if len(es) > 100 {
				t.Errorf("%d errors; the budget should have stopped the walk", len(es))
			}
			if !slices.ContainsFunc(es, func(e *Error) bool { return e.Error() == tc.want }) {
				t.Errorf("errors:\n%v\nwant among them: %s", err, tc.want)
			}
		})
	}
}

// mergeBomb returns a config in which each of depth layers holds width
// mappings that each merge every mapping of the layer before, so that
// walking it naively visits width^depth keys.
func mergeBomb(width, depth int) string {
	var b strings.Builder
	for l := 0; l <= depth; l++ {
		fmt.Fprintf(&b, "x%d:\n", l)
		for w := 0; w < width; w++ {
			fmt.Fprintf(&b, "  - &m%d_%d {", l, w)
			if l == 0 {
				b.WriteString("interval: 1m}\n")
				continue
			}
			b.WriteString("<<: [")
			for p := 0; p < width; p++ {
				fmt.Fprintf(&b, "*m%d_%d, ", l-1, p)
			}
			b.WriteString("]}\n")
		}
	}
	fmt.Fprintf(&b, "fetch: {<<: *m%d_0}\n", depth)
	return b.String()
}

// TestManyErrors checks that every problem in a file is reported at once,
// ordered by line.
func TestManyErrors(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "errors.yaml"))
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("Load: %v, want Errors", err)
	}
	var first *Error
	if !errors.As(err, &first) {
		t.Fatalf("errors.As(*Error) found nothing in %v", err)
	}
	f := filepath.Join("testdata", "errors.yaml")
	want := []string{
		f + `:3: storage.retention: invalid duration "forever" (use a Go duration such as 90s, 15m or 720h)`,
		f + `:5: server.listen: invalid address "localhost" (use HOST:PORT such as 127.0.0.1:8080 or :8080)`,
		f + `:6: server.base_url: "/relative" is not an absolute http:// or https:// URL`,
		f + `:8: fetch.interval: invalid duration "5 minutes" (use a Go duration such as 90s, 15m or 720h)`,
		f + `:9: fetch.concurrency: expected a whole number, got the string "many"`,
		f + `:10: fetch.max_body: invalid size "10 parsecs" (use a whole number of bytes or a size such as 512KB, 10MB, 1GB)`,
		f + `:11: fetch.intervall: unknown key (expected one of: interval, concurrency, per_host, timeout, max_body, user_agent, deny_private_networks)`,
		f + `:13: sources[0].name: "WSWS" is not a slug (use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit)`,
		f + `:14: sources[0].url: unsupported URL scheme "ftp" in "ftp://example.org/feed" (use http, https or file)`,
		f + `:15: sources[0].tags: expected a list of strings, got a mapping`,
		f + `:16: sources[1].name: missing: every source needs a name (a slug such as wsws)`,
		f + `:19: sources[3].name: duplicate source name "dup" (first at line 17)`,
		f + `:21: sources[3].headers.Authorization: environment variable NOT_SET is not set`,
		f + `:24: topics[0].sources[0]: unknown source "nope"`,
		f + `:25: topics[0].tags[0]: unknown tag "none" (no source has it)`,
		f + `:26: topics[0].limit: 501 is outside 1..500`,
		f + `:27: topics[1].name: duplicate topic name "t" (first at line 23)`,
	}
	if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(es) != len(want) {
		t.Errorf("len(Errors) = %d, want %d", len(es), len(want))
	}
	if first.Line != 3 || first.Key != "storage.retention" || first.File != f {
		t.Errorf("first *Error = %+v, want line 3, key storage.retention in %s", first, f)
	}
}

func TestEnv(t *testing.T) {
	vars := env(map[string]string{
		"TOKEN":    "s3cret",
		"EMPTY":    "",
		"IV":       "5m",
		"SIZE":     "2MB",
		"INJECT":   "x\nconcurrency: 99",
		"HOST":     "news.example.org",
		"ADMIN":    "hunter2",
		"PATH_DIR": "/var/lib/tidings",
	})
	tests := map[string]struct {
		yaml string
		get  func(c *Config) any
		want any
	}{
		"header": {
			yaml: "sources:\n  - {name: a, url: 'https://a.example/', headers: {Authorization: 'Bearer ${TOKEN}'}}\n",
			get:  func(c *Config) any { return c.Sources[0].Headers["Authorization"] },
			want: "Bearer s3cret",
		},
		"url": {
			yaml: "sources:\n  - {name: a, url: 'https://${HOST}/rss'}\n",
			get:  func(c *Config) any { return c.Sources[0].URL },
			want: "https://news.example.org/rss",
		},
		"escaped": {
			yaml: "sources:\n  - {name: a, url: 'https://a.example/', title: 'cost $5, literal $${TOKEN}'}\n",
			get:  func(c *Config) any { return c.Sources[0].Title },
			want: "cost $5, literal ${TOKEN}",
		},
		"set but empty": {
			yaml: "sources:\n  - {name: a, url: 'https://a.example/', title: 'x${EMPTY}y'}\n",
			get:  func(c *Config) any { return c.Sources[0].Title },
			want: "xy",
		},
		"duration": {
			yaml: "fetch: {interval: '${IV}'}\n",
			get:  func(c *Config) any { return c.Fetch.Interval },
			want: 5 * time.Minute,
		},
		"size": {
			yaml: "fetch: {max_body: '${SIZE}'}\n",
			get:  func(c *Config) any { return c.Fetch.MaxBody },
			want: int64(2 << 20),
		},
		"storage path": {
			yaml: "storage: {path: '${PATH_DIR}/t.db'}\n",
			get:  func(c *Config) any { return filepath.ToSlash(c.Storage.Path) },
			want: "/var/lib/tidings/t.db",
		},
		"a value cannot inject YAML": {
			yaml: "fetch: {user_agent: 'ua'}\nsources:\n  - {name: a, url: 'https://a.example/', title: '${INJECT}'}\n",
			get:  func(c *Config) any { return []any{c.Sources[0].Title, c.Fetch.Concurrency} },
			want: []any{"x\nconcurrency: 99", 16},
		},
		"admin token set": {
			yaml: "server: {admin_token: '${ADMIN}'}\n",
			get:  func(c *Config) any { return c.Server.AdminToken },
			want: "hunter2",
		},
		"admin token unset is optional": {
			yaml: "server:\n  admin_token: ${TIDINGS_ADMIN_TOKEN}\n",
			get:  func(c *Config) any { return c.Server.AdminToken },
			want: "",
		},
		"keys are not expanded": {
			yaml: "sources:\n  - {name: a, url: 'https://a.example/', headers: {X-Token: '${TOKEN}'}}\n",
			get:  func(c *Config) any { return c.Sources[0].Headers },
			want: map[string]string{"X-Token": "s3cret"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := Parse("t.yaml", []byte(tc.yaml), vars)
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.get(c); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestSourceURL(t *testing.T) {
	const file = "/srv/my feeds/tidings.yaml"
	tests := map[string]struct {
		url  string
		want string
	}{
		"https":                  {"https://a.example/rss?x=1", "https://a.example/rss?x=1"},
		"http":                   {"http://a.example:8080/rss", "http://a.example:8080/rss"},
		"upper-case scheme":      {"HTTPS://a.example/rss", "HTTPS://a.example/rss"},
		"relative with dot":      {"file://./feeds/x.xml", "file:///srv/my%20feeds/feeds/x.xml"},
		"relative without dot":   {"file://feeds/x.xml", "file:///srv/my%20feeds/feeds/x.xml"},
		"relative to parent":     {"file://../shared/x.xml", "file:///srv/shared/x.xml"},
		"absolute":               {"file:///var/feeds/x.xml", "file:///var/feeds/x.xml"},
		"localhost":              {"file://localhost/var/feeds/x.xml", "file:///var/feeds/x.xml"},
		"escaped characters":     {"file:///var/my%20feeds/x%23y.xml", "file:///var/my%20feeds/x%23y.xml"},
		"absolute is cleaned":    {"file:///var/feeds/../x.xml", "file:///var/x.xml"},
		"upper-case file scheme": {"FILE://feeds/x.xml", "file:///srv/my%20feeds/feeds/x.xml"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if filepath.Separator != '/' {
				t.Skip("expected URLs are written for POSIX paths")
			}
			yaml := "sources:\n  - name: a\n    url: '" + tc.url + "'\n"
			c, err := Parse(file, []byte(yaml), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Sources[0].URL; got != tc.want {
				t.Errorf("URL %q resolved to %q, want %q", tc.url, got, tc.want)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    int64
		wantErr bool
	}{
		"bytes":          {in: "1024", want: 1024},
		"B":              {in: "100B", want: 100},
		"KB":             {in: "512KB", want: 512 << 10},
		"MB":             {in: "10MB", want: 10 << 20},
		"GB":             {in: "1GB", want: 1 << 30},
		"lower-case":     {in: "10mb", want: 10 << 20},
		"space and KiB":  {in: "4 KiB", want: 4 << 10},
		"short unit":     {in: "3M", want: 3 << 20},
		"fraction":       {in: "1.5MB", wantErr: true},
		"negative":       {in: "-1MB", wantErr: true},
		"no number":      {in: "MB", wantErr: true},
		"unknown unit":   {in: "10TB", wantErr: true},
		"empty":          {in: "", wantErr: true},
		"overflow":       {in: "9999999999999GB", wantErr: true},
		"huge number":    {in: "99999999999999999999", wantErr: true},
		"largest in GBs": {in: "8589934591GB", want: 8589934591 << 30},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := parseSize(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseSize(%q) error = %v, want error: %v", tc.in, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("parseSize(%q) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "tidings.yaml")
	_, err := Load(missing)
	if err == nil {
		t.Fatal("Load of a missing file: no error")
	}
	if want := "config: read " + missing + ": "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start with %q", err, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v is not fs.ErrNotExist", err)
	}
	if errors.As(err, &Errors{}) {
		t.Errorf("an I/O error is reported as a config problem: %v", err)
	}
}

func TestLoadRelativeDir(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tidings.yaml")
	data := "storage: {path: db/t.db}\nsources:\n  - {name: a, url: 'file://feeds/a.xml'}\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.File != path || c.Dir != dir {
		t.Errorf("File, Dir = %q, %q; want %q, %q", c.File, c.Dir, path, dir)
	}
	if want := filepath.Join(dir, "db", "t.db"); c.Storage.Path != want {
		t.Errorf("Storage.Path = %q, want %q", c.Storage.Path, want)
	}
	if want := fileURLOf(dir, "feeds", "a.xml"); c.Sources[0].URL != want {
		t.Errorf("source URL = %q, want %q", c.Sources[0].URL, want)
	}
}

func TestTopicLineAndQueryError(t *testing.T) {
	yaml := "topics:\n  - name: a\n    title: A\n    query: 'x AND ('\n  - name: b\n"
	c, err := Parse("t.yaml", []byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct{ i, want int }{
		"query line":      {0, 4},
		"no query: entry": {1, 5},
		"built-in all":    {2, 0},
		"out of range":    {7, 0},
		"negative":        {-1, 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := c.TopicLine(tc.i); got != tc.want {
				t.Errorf("TopicLine(%d) = %d, want %d", tc.i, got, tc.want)
			}
		})
	}
	qe := c.QueryError(0, errors.New(`missing ")"`))
	if got, want := qe.Error(), `t.yaml:4: topics[0].query: missing ")"`; got != want {
		t.Errorf("QueryError = %q, want %q", got, want)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := map[string]struct {
		err  *Error
		want string
	}{
		"full":    {&Error{File: "a.yaml", Line: 3, Key: "fetch.timeout", Msg: "bad"}, "a.yaml:3: fetch.timeout: bad"},
		"no key":  {&Error{File: "a.yaml", Line: 3, Msg: "invalid YAML: x"}, "a.yaml:3: invalid YAML: x"},
		"no line": {&Error{File: "a.yaml", Msg: "invalid YAML: x"}, "a.yaml: invalid YAML: x"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzParse checks that no input makes Parse panic, and that whatever it
// accepts is a valid config and whatever it rejects says where.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files: %v", err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, tc := range errorCases {
		f.Add([]byte(tc.yaml))
	}
	vars := env(map[string]string{"WSWS_TOKEN": "t", "SET": "x"})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.yaml", data, vars)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error is not a non-empty Errors: %v", err)
			}
			if c != nil {
				t.Fatalf("config returned with an error")
			}
			return
		}
		if c.Fetch.Concurrency < 1 || c.Fetch.PerHost < 1 || c.Fetch.Interval < time.Second || c.Fetch.MaxBody <= 0 {
			t.Fatalf("invalid fetch settings accepted: %+v", c.Fetch)
		}
		if len(c.Topics) == 0 {
			t.Fatal("no topics, not even the built-in one")
		}
		for _, tp := range c.Topics {
			if !isSlug(tp.Name) || tp.Limit < 1 || tp.Limit > MaxTopicLimit {
				t.Fatalf("invalid topic accepted: %+v", tp)
			}
		}
		for _, s := range c.Sources {
			if !isSlug(s.Name) || s.URL == "" {
				t.Fatalf("invalid source accepted: %+v", s)
			}
		}
	})
}
