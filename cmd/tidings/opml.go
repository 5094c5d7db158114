package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/net/html/charset"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/config"
	"github.com/tidings/tidings/query"
)

// opmlOutline is one <outline>: a feed when it has xmlUrl, else a folder.
type opmlOutline struct {
	Text     string        `xml:"text,attr"`
	Title    string        `xml:"title,attr"`
	Type     string        `xml:"type,attr"`
	XMLURL   string        `xml:"xmlUrl,attr"`
	HTMLURL  string        `xml:"htmlUrl,attr"`
	Outlines []opmlOutline `xml:"outline"`
}

type opmlFile struct {
	XMLName xml.Name      `xml:"opml"`
	Title   string        `xml:"head>title"`
	Body    []opmlOutline `xml:"body>outline"`
}

// importedSource is a feed of an OPML file as a `sources:` entry.
type importedSource struct {
	Name  string   `yaml:"name"`
	URL   string   `yaml:"url"`
	Title string   `yaml:"title,omitempty"`
	Tags  []string `yaml:"tags,flow,omitempty"`
}

// opmlFeed is a feed found in an OPML file, with the folders it is in.
type opmlFeed struct {
	url, title string
	tags       []string
}

// parseOPML reads the feeds of an OPML file; nested folders become tags,
// one per folder level (Tech/Go gives tags tech and go). A feed listed in
// several folders is one feed with the tags of all. Outlines that are not
// RSS, Atom or JSON feeds (FreshRSS's HTML+XPath scrapers) are skipped,
// named in skipped.
func parseOPML(r io.Reader) (feedsFound []opmlFeed, skipped []string, err error) {
	dec := xml.NewDecoder(r)
	dec.CharsetReader = charset.NewReaderLabel
	dec.Strict = false // OPML files in the wild carry stray & and HTML entities
	var doc opmlFile
	if err := dec.Decode(&doc); err != nil {
		return nil, nil, fmt.Errorf("read OPML: %w", err)
	}
	byURL := map[string]int{}
	var walk func(list []opmlOutline, tags []string)
	walk = func(list []opmlOutline, tags []string) {
		for _, o := range list {
			title := strings.TrimSpace(firstNonEmpty(o.Title, o.Text))
			if o.XMLURL == "" {
				walk(o.Outlines, appendTag(tags, title))
				continue
			}
			u := strings.TrimSpace(o.XMLURL)
			if t := strings.ToLower(o.Type); strings.Contains(t, "xpath") || strings.Contains(t, "html") {
				skipped = append(skipped, fmt.Sprintf("%s (%s): type %q is not a feed", u, title, o.Type))
				continue
			}
			if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
				skipped = append(skipped, fmt.Sprintf("%s (%s): not an http(s) URL", u, title))
				continue
			}
			key := tidings.CanonicalURL(u)
			if i, ok := byURL[key]; ok {
				for _, t := range tags {
					feedsFound[i].tags = appendTag(feedsFound[i].tags, t)
				}
				continue
			}
			byURL[key] = len(feedsFound)
			feedsFound = append(feedsFound, opmlFeed{url: u, title: title, tags: slices.Clone(tags)})
			walk(o.Outlines, tags) // a feed with children is rare, but keep them
		}
	}
	walk(doc.Body, nil)
	return feedsFound, skipped, nil
}

// appendTag adds the slug of a folder name, once.
func appendTag(tags []string, folder string) []string {
	t := slug(folder)
	if t == "" || slices.Contains(tags, t) {
		return tags
	}
	return append(slices.Clone(tags), t)
}

var nonSlug = regexp.MustCompile(`[^a-z0-9._-]+`)

// slug turns a title into a config name: folded words joined by '-'.
func slug(s string) string {
	out := nonSlug.ReplaceAllString(strings.Join(query.Words(s), "-"), "")
	out = strings.Trim(out, "-._")
	if len(out) > 40 {
		out = strings.TrimRight(out[:40], "-._")
	}
	return out
}

// planImport turns OPML feeds into new sources: URLs the config already
// has (compared as canonical URLs) are skipped; names are slugs of the
// titles (else of the host), made unique against the config.
func planImport(found []opmlFeed, existing []tidings.Source) (add []importedSource, dup []string) {
	names := map[string]bool{}
	urls := map[string]string{}
	for _, s := range existing {
		names[s.Name] = true
		urls[tidings.CanonicalURL(s.URL)] = s.Name
	}
	for _, f := range found {
		if name, ok := urls[tidings.CanonicalURL(f.url)]; ok {
			dup = append(dup, fmt.Sprintf("%s: already configured as %s", f.url, name))
			continue
		}
		base := slug(f.title)
		if base == "" {
			if u, err := url.Parse(f.url); err == nil {
				base = slug(strings.TrimPrefix(u.Hostname(), "www."))
			}
		}
		if base == "" {
			base = "feed"
		}
		name := base
		for i := 2; names[name]; i++ {
			name = base + "-" + strconv.Itoa(i)
		}
		names[name] = true
		add = append(add, importedSource{Name: name, URL: f.url, Title: f.title, Tags: f.tags})
	}
	return add, dup
}

// sourcesYAML renders sources as list entries, each line indented by indent.
func sourcesYAML(add []importedSource, indent string) (string, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(add); err != nil {
		return "", fmt.Errorf("write YAML: %w", err)
	}
	enc.Close()
	var out strings.Builder
	for line := range strings.SplitSeq(strings.TrimRight(buf.String(), "\n"), "\n") {
		out.WriteString(indent + line + "\n")
	}
	return out.String(), nil
}

// runImportOPML is `tidings import-opml FILE [--append]`.
func runImportOPML(_ context.Context, e *env, o *options) error {
	f, err := os.Open(o.args[0])
	if err != nil {
		return fmt.Errorf("open OPML file: %w", err)
	}
	found, skipped, err := parseOPML(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", o.args[0], err)
	}
	var existing []tidings.Source
	cfg, err := config.Load(o.config)
	switch {
	case err == nil:
		existing = cfg.Sources
	case errors.Is(err, fs.ErrNotExist) && !o.appendTo:
		// No config yet: print every feed.
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("--append adds to a config file, and there is none at %s (give --config FILE, or leave out --append to print the sources)", o.config)
	default:
		return configError(e, err)
	}
	add, dup := planImport(found, existing)
	for _, s := range skipped {
		fmt.Fprintln(e.stderr, "skipped "+s)
	}
	for _, s := range dup {
		fmt.Fprintln(e.stderr, "skipped "+s)
	}
	if len(add) == 0 {
		fmt.Fprintf(e.stderr, "no new sources among %d feeds\n", len(found))
		return nil
	}
	if !o.appendTo {
		body, err := sourcesYAML(add, "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "sources:\n%s", body)
		fmt.Fprintf(e.stderr, "%d new sources; paste them under sources: in %s, or run again with --append\n", len(add), o.config)
		return nil
	}
	if err := appendSources(cfg.File, add); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "added %d sources to %s\n", len(add), cfg.File)
	return nil
}

// appendSources adds entries at the end of the config file's sources:
// list, keeping everything else as written, and checks the result; a
// result that does not load is not written.
func appendSources(path string, add []importedSource) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	out, err := insertSources(string(data), add)
	if err != nil {
		return err
	}
	if _, err := config.Parse(path, []byte(out), os.LookupEnv); err != nil {
		return fmt.Errorf("the config with the new sources would not load, so it was left alone: %w", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("stat config: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(out), info.Mode().Perm()); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

var (
	sourcesKey = regexp.MustCompile(`(?m)^sources:[ \t]*(\[\])?[ \t]*(#.*)?$`)
	topLevel   = regexp.MustCompile(`^[^\s#-]`)
	listItem   = regexp.MustCompile(`^(\s*)- `)
)

// insertSources returns the config text with the entries added at the end
// of the top-level sources: block (created at the end of the file if
// there is none), in the indentation the block already uses.
func insertSources(text string, add []importedSource) (string, error) {
	if !strings.HasSuffix(text, "\n") && text != "" {
		text += "\n"
	}
	loc := sourcesKey.FindStringSubmatchIndex(text)
	if loc == nil {
		if strings.Contains(text, "\nsources:") || strings.HasPrefix(text, "sources:") {
			return "", errors.New("the config's sources: is not a block list this command can extend; add the printed sources by hand (run without --append)")
		}
		body, err := sourcesYAML(add, "  ")
		if err != nil {
			return "", err
		}
		return text + "sources:\n" + body, nil
	}
	keyEnd := loc[1]
	head := text[:keyEnd]
	if loc[2] >= 0 { // sources: [] becomes a block
		head = text[:loc[2]] + strings.TrimRight(text[loc[3]:keyEnd], " \t")
		head = strings.TrimRight(head, " \t")
	}
	rest := text[keyEnd:]
	// The block runs to the next top-level key; blank lines and comments
	// at its end stay after the new entries.
	lines := strings.SplitAfter(rest, "\n")
	end, indent, found := 0, "", false
	for i, l := range lines {
		if i == 0 {
			continue // the rest of the sources: line
		}
		if topLevel.MatchString(l) {
			break
		}
		if m := listItem.FindStringSubmatch(l); m != nil && !found {
			indent, found = m[1], true
		}
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			end = i + 1
		}
	}
	if end == 0 {
		end = 1
	}
	if !found {
		indent = "  "
	}
	body, err := sourcesYAML(add, indent)
	if err != nil {
		return "", err
	}
	before := strings.Join(lines[:end], "")
	if !strings.HasSuffix(before, "\n") {
		before += "\n"
	}
	return head + before + body + strings.Join(lines[end:], ""), nil
}
