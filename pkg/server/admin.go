package server

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/consultation"
)

// Version is the server's version, set by the binary.
var Version = "dev"

// AdminServer implements tacit.v1.AdminService.
type AdminServer struct {
	tacitv1.UnimplementedAdminServiceServer
	*Core
}

// SweeperLag is now minus the oldest passed deadline or reminder the
// sweeper has not yet processed (zero when it is up to date). Entries left
// of deadlines taken away count until the sweep drops them at their time
// (see storage.Store.NextDeadline), so a stopped sweeper shows its lag.
func (c *Core) SweeperLag(ctx context.Context) (time.Duration, error) {
	next, ok, err := c.store.NextDeadline(ctx)
	if err != nil || !ok {
		return 0, err
	}
	if lag := c.clock.Now().Sub(next); lag > 0 {
		return lag, nil
	}
	return 0, nil
}

// GetStatus implements the RPC.
func (s AdminServer) GetStatus(ctx context.Context, _ *tacitv1.GetStatusRequest) (*tacitv1.GetStatusResponse, error) {
	if err := consultation.MayOperate(principalOf(ctx)); err != nil {
		return nil, err
	}
	n, err := s.store.Counts(ctx)
	if err != nil {
		return nil, err
	}
	lag, err := s.SweeperLag(ctx)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	return &tacitv1.GetStatusResponse{
		Version: Version, StartTime: timestamppb.New(s.started), Uptime: durationpb.New(now.Sub(s.started).Round(time.Second)),
		DataBytes: n.DataBytes, Consultations: n.Consultations, OpenConsultations: n.OpenConsultations,
		PendingAddressees: n.PendingAddressees, DeemedApprovals: n.DeemedApprovals, AuditEntries: n.AuditEntries,
		SweeperLag: durationpb.New(lag), CalendarVersion: s.rules.Calendar.Version(), Agencies: int32(s.reg.Load().Len()),
		Watchers: int32(s.watchers.Load()), TimeZone: s.rules.Calendar.Location().String(),
	}, nil
}

// chunkWriter sends what it is given as backup chunks.
type chunkWriter struct {
	stream grpc.ServerStreamingServer[tacitv1.BackupResponse]
}

func (w chunkWriter) Write(p []byte) (int, error) {
	const max = 1 << 20
	for off := 0; off < len(p); off += max {
		end := min(off+max, len(p))
		if err := w.stream.Send(&tacitv1.BackupResponse{Data: p[off:end]}); err != nil {
			return off, err
		}
	}
	return len(p), nil
}

// Backup implements the RPC.
func (s AdminServer) Backup(_ *tacitv1.BackupRequest, stream grpc.ServerStreamingServer[tacitv1.BackupResponse]) error {
	ctx := stream.Context()
	p := principalOf(ctx)
	if err := consultation.MayOperate(p); err != nil {
		return err
	}
	n, err := s.store.Backup(ctx, chunkWriter{stream})
	if err != nil {
		return err
	}
	s.log.Info().Str("principal", p.String()).Int64("bytes", n).Msg("hot backup streamed")
	return nil
}
