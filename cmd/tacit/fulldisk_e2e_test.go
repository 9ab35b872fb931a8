package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/storage/bolt"
)

// A full disk yields UNAVAILABLE and stores nothing; when space returns the
// service goes on, and the data file is consistent. The data folder is a
// small tmpfs, so the test needs root (it is skipped otherwise).
func TestFullDiskThenRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	data := filepath.Join(dir, "data")
	srv := startServerOn(t, data, "", "--rate-limit", "0")
	c := grpcClient(t, srv, "so-nnmt")
	open := func(i int) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := c.consult.OpenConsultation(ctx, &tacitv1.OpenConsultationRequest{
			Title: "Ổ đĩa đầy — hồ sơ " + string(rune('A'+i%26)), LegalBasis: string(bytes.Repeat([]byte("x"), 1500)),
			Fields: []string{"urban-planning"}, Addressees: []string{"so-xay-dung"},
			DeadlineSpec: &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: 10},
		})
		return err
	}
	if err := open(0); err != nil {
		t.Fatalf("first opening: %v", err)
	}
	// Fill the disk but for a little room.
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte{1}, 1<<20)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()
	var refused error
	stored := 1
	for i := 1; i < 5000 && refused == nil; i++ {
		if err := open(i); err != nil {
			refused = err
		} else {
			stored++
		}
	}
	if status.Code(refused) != codes.Unavailable {
		t.Fatalf("on a full disk: %v after %d openings, want UNAVAILABLE", refused, stored)
	}
	t.Logf("disk full after %d openings: %v", stored, refused)
	if got := len(listAll(t, srv)); got != stored {
		t.Errorf("%d consultations listed, %d acknowledged: a refused opening left something", got, stored)
	}
	// Space returns: the service goes on without a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "an opening to succeed after space returned", func() bool { return open(9999) == nil })
	stored++
	if got := len(listAll(t, srv)); got != stored {
		t.Errorf("%d consultations listed after recovery, want %d", got, stored)
	}
	if code := srv.Stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	st, err := bolt.Open(data, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	problems, err := st.Check(context.Background())
	if err != nil || len(problems) > 0 {
		t.Fatalf("data file after a full disk: %v %v", problems, err)
	}
}
