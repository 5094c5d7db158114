package config
import ("testing";"time";"os";"path/filepath";"fmt")
func FuzzScratch(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, name := range files { data, _ := os.ReadFile(name); f.Add(data) }
	for _, tc := range errorCases { f.Add([]byte(tc.yaml)) }
	f.Fuzz(func(t *testing.T, data []byte) {
		tm := time.AfterFunc(2*time.Second, func() { os.WriteFile("/tmp/hang.yaml", data, 0o644); panic(fmt.Sprintf("hang on %q", data)) })
		Parse("f.yaml", data, nil)
		tm.Stop()
	})
}
