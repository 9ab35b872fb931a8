package server

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
)

// A request whose title is not UTF-8 is refused as INVALID_ARGUMENT naming
// the field, not INTERNAL.
func TestInvalidUTF8IsInvalidArgument(t *testing.T) {
	// OpenConsultationRequest.title is field 2.
	raw := protowire.AppendTag(nil, 2, protowire.BytesType)
	raw = protowire.AppendBytes(raw, []byte{'D', 0xff, 0xfe})
	req := &tacitv1.OpenConsultationRequest{}
	if err := newCodec().Unmarshal(mem.BufferSlice{mem.SliceBuffer(raw)}, req); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	err := rejectBadUTF8(req)
	st, _ := status.FromError(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("code = %v, want InvalidArgument (%v)", st.Code(), err)
	}
	if len(st.Details()) < 2 || !strings.Contains(st.Message(), "title") {
		t.Fatalf("details = %v, want ErrorInfo and BadRequest", st.Details())
	}
	if rejectBadUTF8(req) != nil {
		t.Error("the mark was not cleared")
	}
	// A well-formed request is not marked.
	ok := &tacitv1.OpenConsultationRequest{}
	good := protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), []byte("Dự thảo"))
	if err := newCodec().Unmarshal(mem.BufferSlice{mem.SliceBuffer(good)}, ok); err != nil || rejectBadUTF8(ok) != nil || ok.GetTitle() != "Dự thảo" {
		t.Fatalf("good request: %v %q", err, ok.GetTitle())
	}
}

// A full disk is a temporary condition for the caller: UNAVAILABLE, with a
// sentence saying nothing was stored.
func TestFullDiskIsUnavailable(t *testing.T) {
	err := toStatus(fmt.Errorf("write tacit.db: %w", &os.PathError{Op: "write", Path: "tacit.db", Err: syscall.ENOSPC}))
	if status.Code(err) != codes.Unavailable || !strings.Contains(status.Convert(err).Message(), "nothing was stored") {
		t.Fatalf("full disk: %v", err)
	}
	if c := status.Code(toStatus(context.DeadlineExceeded)); c != codes.DeadlineExceeded {
		t.Errorf("deadline: %v", c)
	}
}
