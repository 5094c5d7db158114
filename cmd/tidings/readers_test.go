package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// needTool returns the path of a program the reader tests run, skipping the
// test when it is missing, except in CI, where .ci/run installs it.
func needTool(t *testing.T, path, pkg string) string {
	t.Helper()
	if _, err := exec.LookPath(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing in CI (apt-get install %s): %v", path, pkg, err)
		}
		t.Skipf("%s not installed (apt-get install %s)", path, pkg)
	}
	return path
}

// story is what a reader must show of an item: its title and link.
type story struct{ Title, Link string }

// jsonStories reads a topic's JSON Feed: the titles and links every other
// format must carry too.
func jsonStories(t *testing.T, base, topic string) []story {
	t.Helper()
	_, body := get(t, base+"/topics/"+topic+".json")
	var feed struct {
		Items []struct {
			Title string `json:"title"`
			URL   string `json:"url"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &feed); err != nil {
		t.Fatalf("%s.json: %v", topic, err)
	}
	var out []story
	for _, it := range feed.Items {
		out = append(out, story{it.Title, it.URL})
	}
	if len(out) == 0 {
		t.Fatalf("topic %s has no items", topic)
	}
	return out
}

func sortStories(s []story) []story {
	s = slices.Clone(s)
	slices.SortFunc(s, func(a, b story) int { return strings.Compare(a.Title+"\x00"+a.Link, b.Title+"\x00"+b.Link) })
	return s
}

// storyDiff lists the stories only one of two lists has.
func storyDiff(got, want []story) string {
	var b strings.Builder
	for _, w := range want {
		if !slices.Contains(got, w) {
			fmt.Fprintf(&b, "  missing  %q %s\n", w.Title, w.Link)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			fmt.Fprintf(&b, "  extra    %q %s\n", g.Title, g.Link)
		}
	}
	if b.Len() == 0 {
		fmt.Fprintf(&b, "  %d stories, want %d (duplicates)\n", len(got), len(want))
	}
	return b.String()
}

// TestReaders serves the demo and has real feed readers read every topic:
// Debian's python3-feedparser (no bozo), newsboat run headless (its cache
// read back with sqlite3), and headless Chromium for the index page.
func TestReaders(t *testing.T) {
	listen := freeAddr(t)
	base := "http://" + listen
	cfg := demoCopy(t, listen, "")
	d := startDaemon(t, cfg, base)
	defer d.stop(t)
	topics := []string{"mexico", "trade", "sports", "science-tech", "culture", "all"}

	t.Run("feedparser", func(t *testing.T) {
		py := "/usr/bin/python3"
		if err := exec.Command(py, "-c", "import feedparser").Run(); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("python3-feedparser is missing in CI: %v", err)
			}
			t.Skip("python3-feedparser not installed (apt-get install python3-feedparser)")
		}
		// One python process parses every feed: starting one per feed
		// costs a second each.
		dir := t.TempDir()
		var files []string
		want := map[string][]story{}
		for _, topic := range topics {
			stories := sortStories(jsonStories(t, base, topic))
			for _, ext := range []string{"rss", "atom"} {
				_, body := get(t, base+"/topics/"+topic+"."+ext)
				f := filepath.Join(dir, topic+"."+ext)
				os.WriteFile(f, body, 0o644)
				files = append(files, f)
				want[f] = stories
			}
		}
		script := `
import sys, json, feedparser
out = {}
for f in sys.argv[1:]:
    d = feedparser.parse(f)
    out[f] = {"bozo": bool(d.bozo), "msg": str(d.get("bozo_exception", "")),
              "items": [[e.get("title", ""), e.get("link", "")] for e in d.entries]}
print(json.dumps(out))`
		raw, err := exec.Command(py, append([]string{"-c", script}, files...)...).Output()
		if err != nil {
			t.Fatalf("feedparser: %v", err)
		}
		var res map[string]struct {
			Bozo  bool        `json:"bozo"`
			Msg   string      `json:"msg"`
			Items [][2]string `json:"items"`
		}
		if err := json.Unmarshal(raw, &res); err != nil {
			t.Fatalf("feedparser output: %v\n%s", err, raw)
		}
		for _, f := range files {
			r := res[f]
			if r.Bozo {
				t.Errorf("%s: feedparser bozo: %s", filepath.Base(f), r.Msg)
			}
			var got []story
			for _, it := range r.Items {
				got = append(got, story{it[0], it[1]})
			}
			if got = sortStories(got); !slices.Equal(got, want[f]) {
				t.Errorf("%s: feedparser differs from the JSON Feed:\n%s", filepath.Base(f), storyDiff(got, want[f]))
			}
		}
	})

	t.Run("newsboat", func(t *testing.T) {
		newsboat := needTool(t, "newsboat", "newsboat")
		sqlite := needTool(t, "sqlite3", "sqlite3")
		dir := t.TempDir()
		config := filepath.Join(dir, "config")
		os.WriteFile(config, nil, 0o644)
		// newsboat subscribes to every topic from /topics.opml.
		_, opml := get(t, base+"/topics.opml")
		opmlFile, opmlURLs := filepath.Join(dir, "topics.opml"), filepath.Join(dir, "opml.urls")
		os.WriteFile(opmlFile, opml, 0o644)
		imp := exec.Command(newsboat, "-i", opmlFile, "-u", opmlURLs, "-C", config, "-c", filepath.Join(dir, "opml.db"))
		imp.Env = append(os.Environ(), "HOME="+dir)
		if out, err := imp.CombinedOutput(); err != nil {
			t.Fatalf("newsboat -i topics.opml: %v\n%s", err, out)
		}
		imported, _ := os.ReadFile(opmlURLs)
		for _, topic := range topics {
			if !strings.Contains(string(imported), base+"/topics/"+topic+".rss\n") {
				t.Errorf("newsboat did not import %s from /topics.opml:\n%s", topic, imported)
			}
		}

		for _, topic := range topics {
			want := sortStories(jsonStories(t, base, topic))
			for _, ext := range []string{"rss", "atom"} {
				// One cache per feed: newsboat keys items by id, and the
				// formats share ids, as they should.
				url := base + "/topics/" + topic + "." + ext
				urls := filepath.Join(dir, topic+"."+ext+".urls")
				cache := filepath.Join(dir, topic+"."+ext+".db")
				os.WriteFile(urls, []byte(url+"\n"), 0o644)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				cmd := exec.CommandContext(ctx, newsboat, "-x", "reload", "-u", urls, "-c", cache, "-C", config)
				cmd.Env = append(os.Environ(), "HOME="+dir)
				out, err := cmd.CombinedOutput()
				cancel()
				if err != nil {
					t.Fatalf("newsboat -x reload %s: %v\n%s", url, err, out)
				}
				rows, err := exec.Command(sqlite, "-json", cache, "SELECT title, url FROM rss_item WHERE feedurl = '"+url+"'").Output()
				if err != nil {
					t.Fatalf("sqlite3 %s: %v", cache, err)
				}
				var items []struct{ Title, URL string }
				if len(bytes.TrimSpace(rows)) > 0 {
					if err := json.Unmarshal(rows, &items); err != nil {
						t.Fatalf("sqlite3 -json: %v\n%s", err, rows)
					}
				}
				var got []story
				for _, it := range items {
					got = append(got, story{it.Title, it.URL})
				}
				if got = sortStories(got); !slices.Equal(got, want) {
					t.Errorf("%s: newsboat differs from the JSON Feed:\n%s", url, storyDiff(got, want))
				}
			}
		}
	})

	t.Run("chromium", func(t *testing.T) {
		chromium := needTool(t, "chromium", "chromium")
		dir := t.TempDir()
		shot := filepath.Join(dir, "index.png")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
			"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir="+filepath.Join(dir, "profile"), "--window-size=1000,1600",
			"--screenshot="+shot, "--dump-dom", base+"/")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		dom, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium: %v\n%s", err, stderr.Bytes())
		}
		page := string(dom)
		for _, want := range []string{
			"<h1>Tidings</h1>",
			"<h2>Mexico and the Americas</h2>", "US–Mexico relations, trade and security",
			"<h2>Culture</h2>", "<h2>Science and technology</h2>",
			"6 items · updated",
			">Washington escalates aggression against Mexico in bid to impose rule over the Americas</a>",
			`<a href="` + base + `/topics/mexico.atom" type="application/atom+xml">Atom</a>`,
			"Paste into your reader: <code>" + base + "/topics/mexico.rss</code>",
			`<link rel="alternate" type="application/feed+json" title="Sports (JSON Feed)" href="` + base + `/topics/sports.json">`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("the page as Chromium renders it lacks %q", want)
			}
		}
		// Self-contained: no scripts, no style sheets, images or frames to load.
		for _, bad := range []string{"<script", `rel="stylesheet"`, "<img", "<iframe", "@import", "url("} {
			if strings.Contains(page, bad) {
				t.Errorf("the index page has %q: it must need no other files", bad)
			}
		}
		f, err := os.Open(shot)
		if err != nil {
			t.Fatalf("no screenshot: %v\n%s", err, stderr.Bytes())
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		// Text was drawn: a good share of the top of the page is not background.
		b := img.Bounds()
		inked := 0
		for y := b.Min.Y; y < b.Min.Y+400 && y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				if r, g, bl, _ := img.At(x, y).RGBA(); r < 0xc000 || g < 0xc000 || bl < 0xc000 {
					inked++
				}
			}
		}
		if b.Dx() != 1000 || inked < 2000 {
			t.Errorf("screenshot %v with %d dark pixels in its top 400 rows: the page did not render", b, inked)
		}
		if out := os.Getenv("TIDINGS_SCREENSHOT"); out != "" {
			data, _ := os.ReadFile(shot)
			os.WriteFile(out, data, 0o644)
		}
	})
}
