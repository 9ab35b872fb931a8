package bolt

import (
	"strconv"
	"strings"
	"testing"
	"time"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/storage"
)

// A long read (a backup, `tacit audit verify`, a consistency check) does
// not stall writes that grow the file: bbolt must map a larger file, which
// waits for every open read, unless the map was made large enough at open.
func TestWritesGrowTheFileDuringALongRead(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	read, err := s.DB().Begin(false) // the long read, held open
	if err != nil {
		t.Fatal(err)
	}
	defer read.Rollback()

	done := make(chan error, 1)
	go func() {
		title := strings.Repeat("Dự thảo quy hoạch sử dụng đất ", 100) // about 3 KB a record
		// While the read is open no page can be reused: every commit adds
		// copies of the pages it changes, and the file grows past the
		// first maps.
		for i := range 500 {
			_, _, err := s.Create(t.Context(), storage.IdempotencyKey{}, func(id string) (*tacitv1.Consultation, []*tacitv1.AuditEvent, error) {
				return &tacitv1.Consultation{Id: id, Title: title + strconv.Itoa(i), Lead: "so-nnmt"}, nil, nil
			})
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("writes that grow the file waited for the open read transaction")
	}
}
