// Command gen writes a benchmark workload: N feed files of M items each with
// realistic text, and a Tidings config that subscribes to all of them.
//
//	go run ./bench/gen -sources 2000 -items 250 -out bench/out/ingest \
//	    -url http://127.0.0.1:8081/feeds/
//
// The text is cut from a real news article (seed.txt, "Washington escalates
// aggression against Mexico in bid to impose rule over the Americas" by Don
// Knowland, World Socialist Web Site, 3 February 2026): item bodies are runs
// of its sentences wrapped in <p>, each sentence with about half of its
// longer words swapped for other words of the article, titles are the first
// words of such a sentence, and one item in 50 carries the whole article
// unchanged, so topic queries match a realistic share of items and the
// sanitizer sees real markup. The swaps are what makes items differ as
// different news stories do: without them every item is a bag of the same
// 50 sentences, and their fingerprints (dedupe.Fingerprint) fall within
// dedupe.StrictDistance of each other hundreds of times more often than
// those of unrelated stories, so a store of them is one giant story. Feeds are
// RSS 2.0 (8 in 10), Atom 1.0 and JSON Feed 1.1, as in the wild. Output is
// deterministic for given flags.
//
// The config keeps every item (retention 0), polls once a day (so a
// benchmark's `serve` only polls at start-up) and lets every feed be fetched
// from the one loopback host at full concurrency.
package main

import (
	_ "embed"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"html"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

//go:embed seed.txt
var seed string

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

type options struct {
	sources, items, size, concurrency int
	out, url                          string
	listen                            string
}

func run() error {
	var o options
	flag.IntVar(&o.sources, "sources", 100, "number of feeds")
	flag.IntVar(&o.items, "items", 50, "items per feed")
	flag.IntVar(&o.size, "size", 1500, "approximate bytes of HTML content per item")
	flag.IntVar(&o.concurrency, "concurrency", 64, "fetch.concurrency and fetch.per_host in the config")
	flag.StringVar(&o.out, "out", "bench/out/gen", "output folder: feeds/ and tidings.yaml are written there")
	flag.StringVar(&o.url, "url", "file://./feeds/", "URL prefix of the feed files in the config (file://./feeds/ or http://127.0.0.1:PORT/feeds/)")
	flag.StringVar(&o.listen, "listen", "127.0.0.1:8090", "server.listen in the config")
	flag.Parse()
	if o.sources < 1 || o.items < 1 || o.size < 1 {
		return errors.New("-sources, -items and -size must be at least 1")
	}
	if err := os.MkdirAll(filepath.Join(o.out, "feeds"), 0o755); err != nil {
		return err
	}
	g := newGenerator()
	var total int64
	for i := range o.sources {
		name, body, err := g.feed(i, o)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(o.out, "feeds", name), body, 0o644); err != nil {
			return err
		}
		total += int64(len(body))
	}
	if err := os.WriteFile(filepath.Join(o.out, "tidings.yaml"), []byte(configYAML(o)), 0o644); err != nil {
		return err
	}
	fmt.Printf("gen: %d feeds × %d items, %.1f MB of feeds, in %s\n", o.sources, o.items, float64(total)/1e6, o.out)
	return nil
}

// generator draws text from the seed article.
type generator struct {
	sentences []string
	words     []string // the seed's distinct words of four letters or more
	article   string   // the whole seed as HTML paragraphs
	title     string
}

func newGenerator() *generator {
	g := &generator{}
	var paras []string
	for line := range strings.SplitSeq(seed, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "# "):
			g.title = strings.TrimPrefix(line, "# ")
		case strings.HasPrefix(line, "## "):
			paras = append(paras, "<h2>"+html.EscapeString(strings.TrimPrefix(line, "## "))+"</h2>")
		default:
			line = strings.ReplaceAll(line, "**", "")
			paras = append(paras, "<p>"+html.EscapeString(line)+"</p>")
			for s := range strings.SplitSeq(line, ". ") {
				if len(s) > 30 {
					g.sentences = append(g.sentences, strings.TrimSuffix(s, ".")+".")
				}
			}
		}
	}
	g.article = strings.Join(paras, "\n")
	seen := map[string]bool{}
	for _, s := range g.sentences {
		for _, w := range strings.Fields(s) {
			if w = strings.Trim(w, ",.;:()“”\"'’"); len(w) >= 4 && !seen[w] {
				seen[w] = true
				g.words = append(g.words, w)
			}
		}
	}
	return g
}

// sentence returns a sentence of the seed with about half of its words of
// four letters or more replaced by other such words, punctuation kept: the
// text reads like the article, but two items share as few word pairs as two
// different stories on one subject do.
func (g *generator) sentence(r *rand.Rand) string {
	words := strings.Fields(g.sentences[r.IntN(len(g.sentences))])
	for i, w := range words {
		core := strings.Trim(w, ",.;:()“”\"'’")
		if len(core) < 4 || r.IntN(2) != 0 {
			continue
		}
		words[i] = strings.Replace(w, core, g.words[r.IntN(len(g.words))], 1)
	}
	return strings.Join(words, " ")
}

// post is one generated item.
type post struct {
	id, title, link, content string
	categories               []string
	published                time.Time
}

var (
	epoch = time.Date(2026, 2, 3, 12, 0, 0, 0, time.UTC)
	tags  = [][]string{{"world", "americas"}, {"economy"}, {"politics", "americas"}, {"world"}, {"labor", "economy"}}
	cats  = []string{"Mexico", "Trade", "Politics", "Economy", "Americas", "Energy", "Labor", "Security"}
)

func (g *generator) posts(src int, o options) []post {
	r := rand.New(rand.NewPCG(uint64(src), 7))
	ps := make([]post, o.items)
	for j := range ps {
		p := &ps[j]
		p.id = fmt.Sprintf("https://s%05d.example/articles/%d", src, j)
		p.link = p.id + "?utm_source=rss"
		words := strings.Fields(g.sentence(r))
		p.title = strings.TrimRight(strings.Join(words[:min(len(words), 6+r.IntN(6))], " "), ",.;:")
		if (j+src)%50 == 0 {
			p.title, p.content = g.title, g.article
		} else {
			var b strings.Builder
			for b.Len() < o.size {
				b.WriteString("<p>")
				for range 2 + r.IntN(3) {
					b.WriteString(html.EscapeString(g.sentence(r)))
					b.WriteByte(' ')
				}
				if r.IntN(4) == 0 {
					fmt.Fprintf(&b, `<a href="https://s%05d.example/related/%d">Read more</a>`, src, r.IntN(1000))
				}
				b.WriteString("</p>\n")
			}
			p.content = b.String()
		}
		p.categories = []string{cats[r.IntN(len(cats))], cats[r.IntN(len(cats))]}
		// Sources interleave in time; within a source, items are hours apart.
		p.published = epoch.Add(-time.Duration(j)*time.Hour - time.Duration(src)*time.Second)
	}
	return ps
}

// feed returns the file name and body of source i.
func (g *generator) feed(i int, o options) (string, []byte, error) {
	ps := g.posts(i, o)
	site := fmt.Sprintf("https://s%05d.example/", i)
	title := fmt.Sprintf("Outlet %05d", i)
	switch i % 10 {
	case 8:
		return fileName(i), atom(title, site, ps), nil
	case 9:
		b, err := jsonFeed(title, site, ps)
		return fileName(i), b, err
	default:
		return fileName(i), rss(title, site, ps), nil
	}
}

func sourceName(i int) string { return fmt.Sprintf("s%05d", i) }

func fileName(i int) string {
	switch i % 10 {
	case 8:
		return sourceName(i) + ".atom"
	case 9:
		return sourceName(i) + ".json"
	default:
		return sourceName(i) + ".xml"
	}
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func rss(title, site string, ps []post) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">` + "\n<channel>\n")
	fmt.Fprintf(&b, "<title>%s</title>\n<link>%s</link>\n<description>News from %s</description>\n", esc(title), site, esc(title))
	for _, p := range ps {
		fmt.Fprintf(&b, "<item>\n<title>%s</title>\n<link>%s</link>\n<guid isPermaLink=\"true\">%s</guid>\n<pubDate>%s</pubDate>\n<dc:creator>Staff</dc:creator>\n",
			esc(p.title), esc(p.link), esc(p.id), p.published.Format(time.RFC1123Z))
		for _, c := range p.categories {
			fmt.Fprintf(&b, "<category>%s</category>\n", esc(c))
		}
		summary, _, _ := strings.Cut(p.content, "</p>")
		fmt.Fprintf(&b, "<description>%s</description>\n<content:encoded><![CDATA[%s]]></content:encoded>\n</item>\n",
			esc(summary+"</p>"), p.content)
	}
	b.WriteString("</channel>\n</rss>\n")
	return []byte(b.String())
}

func atom(title, site string, ps []post) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<feed xmlns="http://www.w3.org/2005/Atom">` + "\n")
	fmt.Fprintf(&b, "<title>%s</title>\n<link href=\"%s\"/>\n<id>%s</id>\n<updated>%s</updated>\n", esc(title), site, site, ps[0].published.Format(time.RFC3339))
	for _, p := range ps {
		fmt.Fprintf(&b, "<entry>\n<title>%s</title>\n<link href=\"%s\"/>\n<id>%s</id>\n<published>%s</published>\n<updated>%s</updated>\n<author><name>Staff</name></author>\n",
			esc(p.title), esc(p.link), esc(p.id), p.published.Format(time.RFC3339), p.published.Format(time.RFC3339))
		for _, c := range p.categories {
			fmt.Fprintf(&b, "<category term=\"%s\"/>\n", esc(c))
		}
		fmt.Fprintf(&b, "<content type=\"html\">%s</content>\n</entry>\n", esc(p.content))
	}
	b.WriteString("</feed>\n")
	return []byte(b.String())
}

func jsonFeed(title, site string, ps []post) ([]byte, error) {
	type item struct {
		ID            string   `json:"id"`
		URL           string   `json:"url"`
		Title         string   `json:"title"`
		ContentHTML   string   `json:"content_html"`
		DatePublished string   `json:"date_published"`
		Tags          []string `json:"tags"`
	}
	doc := struct {
		Version string `json:"version"`
		Title   string `json:"title"`
		Home    string `json:"home_page_url"`
		Items   []item `json:"items"`
	}{Version: "https://jsonfeed.org/version/1.1", Title: title, Home: site}
	for _, p := range ps {
		doc.Items = append(doc.Items, item{p.id, p.link, p.title, p.content, p.published.Format(time.RFC3339), p.categories})
	}
	return json.MarshalIndent(doc, "", " ")
}

func configYAML(o options) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# Written by bench/gen: %d sources × %d items.
storage:
  path: ./tidings.db
  retention: 0
  max_items_per_source: 0
server:
  listen: %s
  watch_config: false
fetch:
  interval: 24h
  concurrency: %d
  per_host: %d
  timeout: 60s
  max_body: 64MB
sources:
`, o.sources, o.items, o.listen, o.concurrency, o.concurrency)
	for i := range o.sources {
		fmt.Fprintf(&b, "  - {name: %s, url: %q, tags: [%s]}\n", sourceName(i), o.url+fileName(i), strings.Join(tags[i%len(tags)], ", "))
	}
	b.WriteString(`topics:
  - {name: all, title: Everything}
  - {name: mexico, title: Mexico, query: 'mexico OR sheinbaum OR usmca'}
  - {name: trade, title: Trade, query: 'title:tariffs OR (trade AND tariffs)', tags: [economy]}
  - {name: americas, title: Americas, tags: [americas]}
  - {name: phrase, title: A phrase, query: '"snowboarder wanted"'}
  - {name: one, title: One source, sources: [s00000]}
`)
	return b.String()
}
