package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tidings/tidings/config"
)

// importConfig already has the WSWS feed, to be skipped on import.
const importConfig = `storage:
  path: ./data/t.db
sources:
  # news
  - name: wsws
    url: https://www.wsws.org/en/rss.xml
    tags: [world]

topics:
  - name: world
    tags: [world]
`

// TestImportOPML imports the OPML exports of two real readers, FreshRSS and
// Miniflux (fixtures in their export formats), printing and then appending.
func TestImportOPML(t *testing.T) {
	for name, tc := range map[string]struct {
		file    string
		want    []importedSource
		skipped []string
	}{
		"FreshRSS": {
			file: "testdata/opml/freshrss.opml",
			want: []importedSource{
				{Name: "freshrss-releases", URL: "https://github.com/FreshRSS/FreshRSS/releases.atom", Title: "FreshRSS releases", Tags: []string{"uncategorized"}},
				{Name: "al-jazeera-news", URL: "https://www.aljazeera.com/xml/rss/all.xml", Title: "Al Jazeera – News", Tags: []string{"world-news", "tech-science"}},
				{Name: "bbc-news-world", URL: "https://feeds.bbci.co.uk/news/world/rss.xml?utm_source=freshrss", Title: "BBC News - World", Tags: []string{"world-news"}},
				{Name: "lwn-net", URL: "https://lwn.net/headlines/rss", Title: "LWN.net", Tags: []string{"tech-science"}},
			},
			skipped: []string{"https://www.wsws.org/en/rss.xml: already configured as wsws", `https://news.ycombinator.com/ (Hacker News frontpage (scraped)): type "HTML+XPath" is not a feed`},
		},
		"Miniflux": {
			file: "testdata/opml/miniflux.opml",
			want: []importedSource{
				{Name: "miniflux", URL: "https://miniflux.app/feed.xml", Title: "Miniflux", Tags: []string{"all"}},
				{Name: "the-border-ledger", URL: "https://ledger.example.org/feed/", Title: "The Border Ledger", Tags: []string{"americas"}},
				{Name: "la-jornada-politica", URL: "https://www.jornada.com.mx/rss/politica.xml", Title: "La Jornada: Política", Tags: []string{"americas"}},
				{Name: "podcasts-example-net", URL: "https://podcasts.example.net/trade-talk.rss", Tags: []string{"podcasts"}},
			},
			skipped: []string{"https://WWW.wsws.org/en/rss.xml#top: already configured as wsws"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "tidings.yaml")
			os.WriteFile(cfg, []byte(importConfig), 0o644)
			file, _ := filepath.Abs(tc.file)

			out, errOut, code := runTidings(t, "import-opml", file, "--config", cfg)
			if code != 0 {
				t.Fatalf("import-opml: exit %d\n%s", code, errOut)
			}
			var printed struct{ Sources []importedSource }
			if err := yaml.Unmarshal([]byte(out), &printed); err != nil {
				t.Fatalf("the printed YAML does not parse: %v\n%s", err, out)
			}
			if !slices.EqualFunc(printed.Sources, tc.want, func(a, b importedSource) bool {
				return a.Name == b.Name && a.URL == b.URL && a.Title == b.Title && slices.Equal(a.Tags, b.Tags)
			}) {
				t.Errorf("printed sources:\n%+v\nwant\n%+v", printed.Sources, tc.want)
			}
			for _, s := range tc.skipped {
				if !strings.Contains(errOut, "skipped "+s) {
					t.Errorf("stderr does not say %q:\n%s", "skipped "+s, errOut)
				}
			}

			if _, errOut, code := runTidings(t, "import-opml", file, "--config", cfg, "--append"); code != 0 {
				t.Fatalf("import-opml --append: exit %d\n%s", code, errOut)
			}
			c, err := config.Load(cfg)
			if err != nil {
				t.Fatalf("the appended config does not load: %v", err)
			}
			if len(c.Sources) != 1+len(tc.want) || len(c.Topics) != 2 { // world and the built-in all
				t.Errorf("after --append: %d sources, %d topics; want %d and 2", len(c.Sources), len(c.Topics), 1+len(tc.want))
			}
			data, _ := os.ReadFile(cfg)
			if !strings.HasPrefix(string(data), importConfig[:strings.Index(importConfig, "\n\ntopics:")]) || !strings.Contains(string(data), "\ntopics:\n  - name: world\n") {
				t.Errorf("--append did not keep the file as written:\n%s", data)
			}
			// A second import finds nothing new.
			_, errOut, code = runTidings(t, "import-opml", file, "--config", cfg, "--append")
			if code != 0 || !strings.Contains(errOut, "no new sources") {
				t.Errorf("second import: exit %d, stderr %s; want 0 and 'no new sources'", code, errOut)
			}
		})
	}
}

func TestInsertSources(t *testing.T) {
	add := []importedSource{{Name: "new", URL: "https://x.org/feed", Tags: []string{"a"}}}
	for name, tc := range map[string]struct{ in, want string }{
		"no sources": {"storage:\n  path: x.db\n",
			"storage:\n  path: x.db\nsources:\n  - name: new\n    url: https://x.org/feed\n    tags: [a]\n"},
		"empty flow list": {"sources: []\ntopics: []\n",
			"sources:\n  - name: new\n    url: https://x.org/feed\n    tags: [a]\ntopics: []\n"},
		"before topics": {"sources:\n- name: old\n  url: https://o.org/\n\n# topics\ntopics: []\n",
			"sources:\n- name: old\n  url: https://o.org/\n- name: new\n  url: https://x.org/feed\n  tags: [a]\n\n# topics\ntopics: []\n"},
		"at the end without newline": {"sources:\n    - name: old\n      url: https://o.org/",
			"sources:\n    - name: old\n      url: https://o.org/\n    - name: new\n      url: https://x.org/feed\n      tags: [a]\n"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := insertSources(tc.in, add)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("insertSources =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	if _, err := insertSources("sources: [{name: a, url: 'https://a.org/'}]\n", add); err == nil {
		t.Error("a flow-style list with entries was not refused")
	}
}
