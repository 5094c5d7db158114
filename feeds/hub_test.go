package feeds

import (
	"bytes"
	"testing"
)

// TestRenderHubLinks checks WebSub discovery in every format: a hub link
// beside the self link when Meta.Hub is set, none when it is not.
func TestRenderHubLinks(t *testing.T) {
	ct := allTopic(t)
	m := testMeta
	m.Hub = "http://localhost:8080/websub"
	want := map[Format]string{
		RSS:  `<atom:link href="http://localhost:8080/websub" rel="hub"></atom:link>`,
		Atom: `<link href="http://localhost:8080/websub" rel="hub"></link>`,
		JSON: `"hubs": [
    {
      "type": "WebSub",
      "url": "http://localhost:8080/websub"
    }
  ]`,
	}
	for f, w := range want {
		t.Run(f.String(), func(t *testing.T) {
			b := mustRender(t, ct, nil, f, m)
			if !bytes.Contains(b, []byte(w)) {
				t.Errorf("no hub link %s in\n%s", w, b)
			}
			if f != JSON {
				checkWellFormed(t, b)
			}
			if b := mustRender(t, ct, nil, f, testMeta); bytes.Contains(b, []byte("hub")) {
				t.Errorf("a hub is advertised without Meta.Hub:\n%s", b)
			}
		})
	}
}
