package custody

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestIndexIDs(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, csv string
		want      []string
		ok        bool
	}{
		{"rows", "id,call_id,path\nrec_1,c1,data/recordings/rec_1.wav\nrec_2,\"a,b\",x\n", []string{"rec_1", "rec_2"}, true},
		{"id not first", "call_id,id\nc,rec_9\n", []string{"rec_9"}, true},
		{"header only", "id,path\n", nil, true},
		{"no id column", "call_id,path\nc,p\n", nil, false},
		{"short row", "path,id\np\n", nil, false},
		{"empty", "", nil, false},
		{"bad quote", "id\n\"rec_1\n", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(t.TempDir(), "index.csv")
			if err := os.WriteFile(file, []byte(tt.csv), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := indexIDs(file)
			if (err == nil) != tt.ok || !slices.Equal(got, tt.want) {
				t.Errorf("indexIDs = %q, %v; want %q, ok %v", got, err, tt.want, tt.ok)
			}
		})
	}
}

// FuzzIndexIDs checks that any index.csv is read without panicking and
// that every id read is a field of the id column.
func FuzzIndexIDs(f *testing.F) {
	f.Add([]byte("id,call_id\nrec_1,c\n"))
	f.Add([]byte("call_id,id\n\"x\"\"y\",rec_2\n"))
	f.Add([]byte("id\n\"unterminated\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		file := filepath.Join(t.TempDir(), "index.csv")
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
		ids, err := indexIDs(file)
		if err != nil && ids != nil {
			t.Fatalf("indexIDs returned ids %q with error %v", ids, err)
		}
	})
}
