package bench

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tacit-gov/tacit/pkg/pki"
)

// The ceiling is what gRPC and bbolt can do on this machine with no rules: a
// unary call over the same mutual TLS as tacit whose handler makes one
// durable bbolt Batch write of the payload (1 KiB). Its service is declared
// here by hand, with well-known message types, so that it needs no .proto
// of its own and no generated code.
const (
	ceilingService = "tacit.bench.Ceiling"
	ceilingMethod  = "/" + ceilingService + "/Write"
	pingMethod     = "/" + ceilingService + "/Ping"
	// CeilingPayload is the size of the value each ceiling call writes.
	CeilingPayload = 1024
	// ceilingBatchDelay is bbolt's MaxBatchDelay for the ceiling: 2 ms,
	// which tacit itself used until it grouped commits without a timer
	// (bbolt's default, 10 ms, makes the ceiling lower at 64 clients).
	ceilingBatchDelay = 2 * time.Millisecond
)

var bValues = []byte("values")

type ceilingServer struct{ db *bolt.DB }

func (s *ceilingServer) write(ctx context.Context, in *wrapperspb.BytesValue) (*emptypb.Empty, error) {
	err := s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bValues)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		return b.Put(binary.BigEndian.AppendUint64(nil, seq), in.GetValue())
	})
	return &emptypb.Empty{}, err
}

var ceilingDesc = grpc.ServiceDesc{
	ServiceName: ceilingService,
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Write",
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := &wrapperspb.BytesValue{}
			if err := dec(in); err != nil {
				return nil, err
			}
			return srv.(*ceilingServer).write(ctx, in)
		},
	}, {
		// Ping does nothing: the cost of gRPC over mutual TLS alone.
		MethodName: "Ping",
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := &emptypb.Empty{}
			if err := dec(in); err != nil {
				return nil, err
			}
			return in, nil
		},
	}},
}

// ServeCeiling runs the ceiling server on lis until ctx ends: the server
// certificate and client CA of pkiDir (tacit's development PKI), a bbolt
// file in dataDir with tacit's batch delay and durable commits.
func ServeCeiling(ctx context.Context, lis net.Listener, dataDir, pkiDir string) error {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	db, err := bolt.Open(filepath.Join(dataDir, "ceiling.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	db.MaxBatchDelay = ceilingBatchDelay
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bValues)
		return err
	}); err != nil {
		return err
	}
	cert, key := pki.ServerFiles(pkiDir)
	ca, _ := pki.CAFiles(pkiDir)
	conf, err := pki.ServerTLSConfig(cert, key, ca)
	if err != nil {
		return err
	}
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(conf)), grpc.MaxConcurrentStreams(256))
	gs.RegisterService(&ceilingDesc, &ceilingServer{db: db})
	go func() { <-ctx.Done(); gs.Stop() }()
	if err := gs.Serve(lis); err != nil && ctx.Err() == nil {
		return fmt.Errorf("ceiling server: %w", err)
	}
	return nil
}

// ceilingCall is one ceiling write.
func ceilingCall(ctx context.Context, conn *grpc.ClientConn, payload []byte) error {
	return conn.Invoke(ctx, ceilingMethod, wrapperspb.Bytes(payload), &emptypb.Empty{})
}

// dial connects to addr over mutual TLS with conf.
func dial(addr string, conf *tls.Config) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(conf)))
}

// dialAs connects to the server under test as p, with p's certificate from
// the PKI folder.
func (r *runner) dialAs(p pki.Principal) (*grpc.ClientConn, error) {
	conf, err := clientTLS(r.pkiDir, p)
	if err != nil {
		return nil, err
	}
	return dial(r.addr, conf)
}

// clientTLS is the TLS configuration of principal p from the PKI folder.
func clientTLS(pkiDir string, p pki.Principal) (*tls.Config, error) {
	cert, key := pki.ClientFiles(pkiDir, p)
	ca, _ := pki.CAFiles(pkiDir)
	return pki.ClientTLSConfig(cert, key, ca, "localhost")
}
