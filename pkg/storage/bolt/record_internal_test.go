package bolt

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
)

func repliedRecord() *tacitv1.Consultation {
	at := timestamppb.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	first := &tacitv1.Reply{Revision: 1, Position: tacitv1.Position_POSITION_AGREE_WITH_COMMENTS, Comment: "đồng ý, xem góp ý kèm theo",
		Signer: &tacitv1.Signer{Name: "Nguyễn Văn A", Role: tacitv1.SignerRole_SIGNER_ROLE_HEAD}, ReplyTime: at, RepliedBy: "agency:BTC", WorkingDaysTaken: 3}
	second := proto.Clone(first).(*tacitv1.Reply)
	second.Revision, second.Position, second.Comment = 2, tacitv1.Position_POSITION_DISAGREE, "không đồng ý"
	return &tacitv1.Consultation{Id: "7", Lead: "BYT", Addressees: []*tacitv1.Addressee{
		// as the rules leave a reply: the last revision, the same message
		{Agency: "BTC", State: tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED, Reply: second, Revisions: []*tacitv1.Reply{first, second}},
		// an equal copy (as after proto.Clone)
		{Agency: "BCA", State: tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED, Reply: proto.Clone(first).(*tacitv1.Reply), Revisions: []*tacitv1.Reply{first}},
		{Agency: "BNG", State: tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING},
	}}
}

// A reply is stored once, in the revisions, and a stored record reads back
// as it was written.
func TestRecordKeepsEachReplyOnce(t *testing.T) {
	c := repliedRecord()
	want := proto.Clone(c)
	b, err := encodeRecord(c)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, c, protocmp.Transform()); d != "" {
		t.Errorf("encodeRecord changed the record it encoded (-before +after):\n%s", d)
	}
	if c.Addressees[0].Reply != c.Addressees[0].Revisions[1] {
		t.Error("encodeRecord did not put back the reply it left out")
	}
	full, _ := marshal(c)
	if len(b) >= len(full) {
		t.Errorf("stored record is %d bytes, the full encoding %d: the replies are still stored twice", len(b), len(full))
	}
	got := &tacitv1.Consultation{}
	if err := decodeRecord(b, got); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Errorf("record read back differs (-written +read):\n%s", d)
	}
}

// Records stored in full by earlier versions, and a reply that is not the
// last revision (were one ever written), read as they are.
func TestRecordStoredInFullReadsAsItIs(t *testing.T) {
	c := repliedRecord()
	c.Addressees[1].Reply = &tacitv1.Reply{Revision: 9, Comment: "not a revision"}
	for name, b := range map[string]func() ([]byte, error){
		"earlier version": func() ([]byte, error) { return marshal(c) },
		"this version":    func() ([]byte, error) { return encodeRecord(c) },
	} {
		raw, err := b()
		if err != nil {
			t.Fatal(err)
		}
		got := &tacitv1.Consultation{}
		if err := decodeRecord(raw, got); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(c, got, protocmp.Transform()); d != "" {
			t.Errorf("%s: record read back differs (-written +read):\n%s", name, d)
		}
	}
}
