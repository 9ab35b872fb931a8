package server

import (
	"strings"
	"sync"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the base codec
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"

	"github.com/tacit-gov/tacit/pkg/fault"
)

// gRPC reports every undecodable request as INTERNAL. A request whose only
// fault is text that is not UTF-8 is the caller's mistake, so this codec
// lets it through marked, and the interceptor answers INVALID_ARGUMENT
// naming the field. Nothing of such a request is ever acted on.
type utf8Codec struct{ base encoding.CodecV2 }

var badUTF8 sync.Map // request message -> field path

func newCodec() encoding.CodecV2 { return utf8Codec{base: encoding.GetCodecV2("proto")} }

func (c utf8Codec) Name() string { return c.base.Name() }

func (c utf8Codec) Marshal(v any) (mem.BufferSlice, error) { return c.base.Marshal(v) }

func (c utf8Codec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.base.Unmarshal(data, v)
	if err != nil && strings.Contains(err.Error(), "invalid UTF-8") {
		// Only tacit's own requests are marked: the interceptor that clears
		// the mark runs for them; others (health, reflection) keep gRPC's
		// own answer and leave nothing behind.
		if m, ok := v.(proto.Message); ok && strings.HasPrefix(string(m.ProtoReflect().Descriptor().FullName()), "tacit.v1.") {
			if path := invalidUTF8Field(data.Materialize(), m.ProtoReflect().Descriptor()); path != "" {
				badUTF8.Store(v, path)
				return nil
			}
		}
	}
	return err
}

// invalidUTF8Field walks the wire form and returns the path of the first
// string field that is not UTF-8 ("" if none).
func invalidUTF8Field(b []byte, md protoreflect.MessageDescriptor) string {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return ""
		}
		b = b[n:]
		if typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return ""
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return ""
		}
		b = b[n:]
		fd := md.Fields().ByNumber(num)
		switch {
		case fd == nil:
		case fd.Kind() == protoreflect.StringKind && !utf8.Valid(v):
			return string(fd.Name())
		case fd.Kind() == protoreflect.MessageKind:
			if sub := invalidUTF8Field(v, fd.Message()); sub != "" {
				return string(fd.Name()) + "." + sub
			}
		}
	}
	return ""
}

// rejectBadUTF8 returns the INVALID_ARGUMENT error for a marked request.
func rejectBadUTF8(req any) error {
	f, ok := badUTF8.LoadAndDelete(req)
	if !ok {
		return nil
	}
	err := toStatus((fault.Violations{{Type: "INVALID_UTF8", Subject: f.(string), Description: f.(string) + " is not valid UTF-8: send text encoded as UTF-8"}}).
		Err(fault.Invalid, "INVALID_UTF8", "the request was refused and nothing was stored: it contains text that is not valid UTF-8"))
	if _, ok := status.FromError(err); !ok {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return err
}
